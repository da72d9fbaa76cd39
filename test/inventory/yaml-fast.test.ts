/**
 * The fast YAML parser (src/config/yaml-fast.ts) against the `yaml` library it stands in for:
 * for every document of its subset, the same values and the same position for every path;
 * anything outside the subset is left to `yaml` (the fast parser gives up, never guesses).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { FastYamlParser } from '../../src/config/yaml-fast.js';
import { parseYaml, parseYamlFull, type DocPath } from '../../src/config/yaml-file.js';
import { ConfigError } from '../../src/errors.js';

const ROOT = join(import.meta.dirname, '..', '..');

function fast(text: string) {
  const p = new FastYamlParser(text, 100);
  while (!p.step());
  return p.result();
}

function paths(value: unknown, at: (string | number)[] = [], out: DocPath[] = []): DocPath[] {
  out.push(at);
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) paths(v, [...at, Array.isArray(value) ? Number(k) : k], out);
  }
  return out;
}

/** Same value and, for every path (and one that does not exist below each), the same position. */
function assertSame(text: string, label = JSON.stringify(text).slice(0, 60)): void {
  assert.ok(fast(text), `${label}: the fast parser gave up`);
  const a = parseYaml(text, 'f.yaml');
  const b = parseYamlFull(text, 'f.yaml');
  assert.ok(isDeepStrictEqual(a.value, b.value), `${label}: values differ`);
  for (const p of paths(b.value)) {
    for (const q of [p, [...p, 'nosuch']]) {
      assert.deepEqual(a.locate(q), b.locate(q), `${label}: position of ${q.join('.')}`);
    }
  }
}

const SUBSET = [
  'all:\n  vars:\n    a: 1\n    b: two\n',
  '---\nall:\n  hosts:\n    s1: { address: 10.0.0.1, port: 22 }\n    s2:\n    s3:\n      address: "10.0.0.3"\n',
  'a:   # a comment\n  b: 1\nc: # another\nd: ~\n',
  "k1: 'it''s'\nk2: \"tab\\there \\u00e9 \\x41 \\\" \\\\\"\nk3: plain # comment\n",
  'n: [1, -2, +3, 0o17, 0x1F, 1.5, .5, 1e3, -.inf, .NaN, true, False, null, Null, ~, yes, no, 012, 1_000]\n',
  'seq:\n- a\n- b: 1\n  c: 2\n-\n  d: 3\n- [x, y,]\nafter: 1\n',
  '- top\n- { a: 1 }\n',
  'refs: { h1: , h2:  }\nbare: { a, b }\nempty: {}\nnone: []\n',
  'url: http://example.com:8500/v1\nk: a:b\nq: "a: b"\n',
  '"quoted key": 1\n\'single\': 2\nwith space: 3\n',
  'win: 1\r\nlines: 2\r\n',
  '__proto__: 1\ntoString: 2\nconstructor: { x: 1 }\n',
  'deep:\n  a:\n    b:\n      c:\n        - d:\n            e: [1, [2, [3]]]\n',
  '# only a comment\n',
  '',
  'a: 1\nb:',
  'x: -1\ny: -\n'.replace('y: -\n', ''),
  'k: "a#b" # c\nm: a #b\nn: a#b\n',
];

test("values and positions are exactly yaml's, for documents of the subset", () => {
  for (const text of SUBSET) assertSame(text);
});

test('every YAML file drover ships that the fast parser reads is read as yaml reads it, and inventories all are', () => {
  const dirs = ['inventories', 'playbooks', join('bench', 'job', 'drover')];
  let fastCount = 0;
  for (const dir of dirs) {
    for (const name of readdirSync(join(ROOT, dir)).filter((n) => /\.ya?ml$/.test(n))) {
      const text = readFileSync(join(ROOT, dir, name), 'utf8');
      if (!fast(text)) {
        // Playbooks with anchors and block scalars are left to yaml; inventories never are.
        assert.notEqual(dir, 'inventories', `${name}: an inventory left to the full parser`);
        continue;
      }
      fastCount++;
      assertSame(text, `${dir}/${name}`);
    }
  }
  assert.ok(fastCount >= 4);
});

test('outside the subset, or malformed, the fast parser gives up and yaml decides', () => {
  const outside = [
    'a: &x 1\nb: *x\n', // anchors and aliases
    'a: !!str 1\n', // tags
    'a: |\n  text\n', // block scalars
    'a: >-\n  folded\n',
    'a: plain\n  continued\n', // multi-line plain scalar
    'a: [1,\n  2]\n', // multi-line flow
    '? complex\n: key\n',
    'a: 1\n---\nb: 2\n', // two documents
    '\tall:\n', // tab
    '\ufeffa: 1\n', // BOM
    '1: numeric key\n',
    'all:\n  children:\n    servers: [h1\n', // broken
    'a: b: c\n',
    'a: "unterminated\n',
    '- - nested\n',
    'a:\n  - x\n  b: 1\n',
  ];
  for (const text of outside) assert.equal(fast(text), undefined, JSON.stringify(text));
  // And parseYaml still reads (or refuses) them exactly as yaml does.
  assert.deepEqual(parseYaml('a: &x 1\nb: *x\n', 'f.yaml').value, { a: 1, b: 1 });
  assert.throws(() => parseYaml('all:\n  children:\n    servers: [h1\n', 'f.yaml'), ConfigError);
});

test('duplicate keys are refused at each duplicate, as yaml reports them, on both paths', () => {
  const messages = (text: string) => {
    try {
      parseYaml(text, 'f.yaml');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.map((p) => `${p.line}:${p.column} ${p.message}`);
    }
    assert.fail('expected duplicates to be refused');
  };
  const expected = [
    '3:1 invalid YAML: Map keys must be unique',
    '4:13 invalid YAML: Map keys must be unique',
  ];
  assert.deepEqual(messages('a: 1\nb: 2\na: 3\nc: { x: 11, x: 2 }\n'), expected);
  // The same document outside the subset (an alias): the full parser's pass finds the same.
  assert.deepEqual(messages('a: 1\nb: &y 2\na: 3\nc: { x: *y, x: 2 }\n'), expected);
});

/** A tiny seeded generator of documents in the subset, to compare many more shapes than by hand. */
function* generated(count: number): Generator<string> {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const scalars = [
    'x',
    'a b',
    '10.0.0.1',
    '42',
    '-7',
    '0x1F',
    '1.5',
    'true',
    'null',
    '~',
    "'q''t'",
    '"d\\"q"',
    'http://h:1/p',
    '10.0.0.1:8302',
    '"{{ x }}"',
    'yes',
    '.inf',
  ];
  const scalar = () => scalars[rnd(scalars.length)] as string;
  const flow = (depth: number): string => {
    if (depth > 2 || rnd(3) === 0) return scalar();
    return rnd(2) === 0
      ? `[${Array.from({ length: rnd(3) }, () => flow(depth + 1)).join(', ')}]`
      : `{ ${Array.from({ length: rnd(3) }, (_, i) => `k${i}: ${flow(depth + 1)}`).join(', ')} }`;
  };
  const block = (indent: string, depth: number, out: string[]) => {
    const n = 1 + rnd(4);
    const seq = depth > 0 && rnd(4) === 0;
    for (let i = 0; i < n; i++) {
      const head = seq ? `${indent}- ` : `${indent}key${i}:`;
      const r = rnd(5);
      if (depth < 4 && r === 0) {
        out.push(seq ? `${indent}-` : head);
        block(`${indent}  `, depth + 1, out);
      } else if (r === 1) out.push(`${head}${seq ? '' : ' '}${flow(0)}`);
      else if (r === 2) out.push(seq ? `${indent}-` : `${head} # note`);
      else out.push(`${head}${seq ? '' : ' '}${scalar()}`);
    }
  };
  for (let i = 0; i < count; i++) {
    const out: string[] = [];
    block('', 0, out);
    yield `${out.join('\n')}\n`;
  }
}

test('many generated documents of the subset read exactly as yaml reads them', () => {
  let n = 0;
  for (const text of generated(1000)) {
    assertSame(text, `generated #${n++}:\n${text}`);
  }
});
