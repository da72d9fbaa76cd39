/**
 * What drover refuses to read, whichever parser reads the file: too big, nested too deep,
 * aliases that expand too much. Each is bad input (a ConfigError naming the file and, where
 * there is one, the place), never an internal error; and a signal stops a load at any step.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { STEP_LINES } from '../../src/config/yaml-fast.js';
import { loadYamlFile, parseYaml, YAML_LIMITS } from '../../src/config/yaml-file.js';
import { ConfigError, formatProblem, InterruptedError } from '../../src/errors.js';

function refusal(text: string): string[] {
  try {
    parseYaml(text, '/inv/x.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems.map(formatProblem);
  }
  assert.fail('expected the file to be refused');
}

test('an alias bomb is bad input at its first alias, not an internal error', () => {
  const lines = ['all:', '  vars:', '    a: &a [x, x, x, x, x, x, x, x, x]'];
  for (const c of 'bcdefghij') {
    const prev = String.fromCharCode(c.charCodeAt(0) - 1);
    lines.push(`    ${c}: &${c} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  assert.deepEqual(refusal(lines.join('\n') + '\n'), [
    `/inv/x.yaml:4:12: its YAML aliases expand to more than ${YAML_LIMITS.maxAliasCount} copies of anchored values; drover refuses such files (write the values out, or alias less)`,
  ]);
  // A few aliases are fine.
  assert.deepEqual(parseYaml('a: &a [1]\nb: *a\nc: *a\n', 'f').value, { a: [1], b: [1], c: [1] });
});

test('nesting deeper than the limit is refused where it goes too deep, in block and flow style, on both parsers', () => {
  const limit = YAML_LIMITS.maxDepth;
  const flow = `k: ${'['.repeat(limit + 5)}${']'.repeat(limit + 5)}\n`;
  assert.deepEqual(refusal(flow), [
    `/inv/x.yaml:1:${limit + 3}: nested more than ${limit} levels deep; drover refuses deeper YAML`,
  ]);
  let block = '';
  for (let i = 0; i <= limit; i++) block += `${'  '.repeat(i)}k${i}:\n`;
  block += `${'  '.repeat(limit + 1)}v: 1\n`;
  assert.match(
    refusal(block)[0] ?? '',
    new RegExp(`^/inv/x\\.yaml:${limit + 1}:\\d+: nested more than ${limit} levels deep`),
  );
  // With an alias in it, the full parser reads the file: the same refusal.
  assert.match(refusal(`a: &a 1\nb: *a\n${flow}`)[0] ?? '', /nested more than \d+ levels deep/);
  // Just under the limit is fine.
  assert.doesNotThrow(() => parseYaml(`k: ${'['.repeat(limit - 2)}${']'.repeat(limit - 2)}\n`, 'f'));
});

test('a file over the size limit is refused before it is read, naming its size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-yaml-'));
  try {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `pad: "${'x'.repeat(YAML_LIMITS.maxBytes)}"\n`);
    await assert.rejects(loadYamlFile(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        /big\.yaml: the file is 16\.0 MB; drover reads YAML files of at most 16\.0 MB/,
      );
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a signal stops a load between two steps of the parse', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-yaml-'));
  try {
    const file = join(dir, 'long.yaml');
    let text = 'all:\n  vars:\n';
    for (let i = 0; i < STEP_LINES * 3; i++) text += `    v${i}: ${i}\n`;
    writeFileSync(file, text);
    const stop = new AbortController();
    const loading = loadYamlFile(file, { signal: stop.signal });
    stop.abort(new InterruptedError('interrupted'));
    await assert.rejects(loading, InterruptedError);
    // Without a signal the same file loads.
    assert.equal(
      Object.keys(((await loadYamlFile(file)).value as { all: { vars: object } }).all.vars).length,
      STEP_LINES * 3,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keys that are names of Object.prototype stay plain data', () => {
  const value = parseYaml('__proto__: { polluted: 1 }\nconstructor: 2\n', 'f').value as Record<
    string,
    unknown
  >;
  assert.deepEqual(Object.keys(value), ['__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});
