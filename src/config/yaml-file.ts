import { readFile, stat } from 'node:fs/promises';
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
  type Pair,
} from 'yaml';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { pause } from './interrupt.js';
import { FastYamlParser, NestingError, type FastYaml } from './yaml-fast.js';

/** A path inside a YAML document, as keys and sequence indexes. */
export type DocPath = readonly (string | number)[];

/**
 * A parsed YAML file that still knows where every value came from, so that schema and semantic
 * errors can name `file:line:col` and the path inside the document.
 */
export interface YamlFile {
  readonly file: string;
  readonly value: unknown;
  /** Line and column (1-based) of the value at `path`, or of its nearest existing ancestor. */
  locate(path: DocPath): { line: number; column: number } | undefined;
  /** A problem at `path`, located. */
  problem(path: DocPath, message: string): ConfigProblem;
}

/**
 * What drover reads at most, against files made (or grown) to exhaust it: an inventory of 100k
 * hosts is about 5 MB; a group tree is rarely ten levels deep (each level is two YAML levels:
 * `children:` and the group); `yaml`'s own default alias limit.
 */
export const YAML_LIMITS = { maxBytes: 16 * 1024 * 1024, maxDepth: 100, maxAliasCount: 100 } as const;

const MB = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

function tooLarge(file: string, bytes: number): ConfigError {
  return new ConfigError([
    {
      file,
      message: `the file is ${MB(bytes)}; drover reads YAML files of at most ${MB(YAML_LIMITS.maxBytes)}`,
    },
  ]);
}

/** Parses YAML text (tests, playbooks given as text); see loadYamlFile. */
export function parseYaml(text: string, file: string): YamlFile {
  if (text.length > YAML_LIMITS.maxBytes) throw tooLarge(file, Buffer.byteLength(text));
  const parser = new FastYamlParser(text, YAML_LIMITS.maxDepth);
  try {
    while (!parser.step());
  } catch (err) {
    throw located(err, text, file);
  }
  return fromParser(parser, text, file);
}

/**
 * Reads and parses a YAML file. Refuses files over YAML_LIMITS.maxBytes before reading them;
 * pauses between steps of the parse, so that `signal` (Ctrl-C, SIGTERM) ends it at any moment.
 */
export async function loadYamlFile(file: string, options: { signal?: AbortSignal } = {}): Promise<YamlFile> {
  let text: string;
  try {
    const { size } = await stat(file);
    if (size > YAML_LIMITS.maxBytes) throw tooLarge(file, size);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`;
    throw new ConfigError([{ file, message: why }], { cause: err });
  }
  if (text.length > YAML_LIMITS.maxBytes) throw tooLarge(file, Buffer.byteLength(text));
  const parser = new FastYamlParser(text, YAML_LIMITS.maxDepth);
  try {
    while (!parser.step()) await pause(options.signal);
  } catch (err) {
    throw located(err, text, file);
  }
  await pause(options.signal);
  return fromParser(parser, text, file);
}

function located(err: unknown, text: string, file: string): unknown {
  if (!(err instanceof NestingError)) return err;
  return new ConfigError([{ file, ...new LineIndex(text).position(err.offset), message: nestingMessage }]);
}

const nestingMessage = `nested more than ${YAML_LIMITS.maxDepth} levels deep; drover refuses deeper YAML`;

function fromParser(parser: FastYamlParser, text: string, file: string): YamlFile {
  const fast = parser.result();
  return fast ? fromFast(fast, text, file) : parseYamlFull(text, file);
}

/** The file as the fast parser read it; duplicate keys are reported as `yaml` reports them. */
function fromFast(fast: FastYaml, text: string, file: string): YamlFile {
  const lines = new LineIndex(text);
  if (fast.duplicates.length > 0) {
    throw new ConfigError(
      fast.duplicates.map((at) => ({
        file,
        ...lines.position(at),
        message: 'invalid YAML: Map keys must be unique',
      })),
    );
  }
  // The locator outlives the parse (a host's var is located when a run finds it bad); it keeps
  // the offsets, not the document's values.
  const { offsetOf } = fast;
  return yamlFile(file, fast.value, (path) => {
    const at = offsetOf(path);
    return at === undefined ? undefined : lines.position(at);
  });
}

/**
 * The full `yaml` parser, for files outside the fast parser's subset. Its own duplicate-key
 * check compares every key with every other key of its map (a 100k-host group took minutes), so
 * duplicates are found here in one pass instead, with the same message and position.
 */
export function parseYamlFull(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: false });
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const walked = walk(doc);
  const errors: { offset: number; problem: ConfigProblem }[] = doc.errors.map((e) => {
    const pos = e.linePos?.[0];
    const first = e.message.split('\n')[0] ?? e.code;
    // yaml reports its own recursion running out on deep nesting as a parse error.
    const message = first.startsWith('Maximum call stack size exceeded')
      ? nestingMessage
      : `invalid YAML: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
    return {
      offset: e.pos[0],
      problem: { file, ...(pos ? { line: pos.line, column: pos.col } : {}), message },
    };
  });
  for (const offset of walked.duplicates) {
    errors.push({
      offset,
      problem: { file, ...at(offset), message: 'invalid YAML: Map keys must be unique' },
    });
  }
  if (errors.length === 0 && walked.tooDeep !== undefined) {
    errors.push({
      offset: walked.tooDeep,
      problem: { file, ...at(walked.tooDeep), message: nestingMessage },
    });
  }
  if (errors.length > 0)
    throw new ConfigError(errors.sort((a, b) => a.offset - b.offset).map((e) => e.problem));
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (err) {
    // An alias bomb ("billion laughs"): yaml stops it with a ReferenceError naming no place.
    if (!(err instanceof ReferenceError) || walked.firstAlias === undefined) throw err;
    throw new ConfigError(
      [
        {
          file,
          ...at(walked.firstAlias),
          message:
            `its YAML aliases expand to more than ${YAML_LIMITS.maxAliasCount} copies of anchored values; ` +
            'drover refuses such files (write the values out, or alias less)',
        },
      ],
      { cause: err },
    );
  }
  return yamlFile(file, value, (path) => {
    const offset = nodeOffset(doc, path);
    return offset === undefined ? undefined : at(offset);
  });
}

interface Walked {
  duplicates: number[];
  firstAlias?: number;
  tooDeep?: number;
}

/** One pass over the document without recursion: duplicate keys, the first alias, the depth. */
function walk(doc: Document): Walked {
  const out: Walked = { duplicates: [] };
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (isAlias(node)) {
      const offset = node.range?.[0];
      if (offset !== undefined && (out.firstAlias === undefined || offset < out.firstAlias))
        out.firstAlias = offset;
      continue;
    }
    const isCollection = isMap(node) || isSeq(node);
    if (!isCollection) continue;
    if (depth > YAML_LIMITS.maxDepth) {
      const offset = node.range?.[0] ?? 0;
      if (out.tooDeep === undefined || offset < out.tooDeep) out.tooDeep = offset;
      continue;
    }
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (seen.has(pair.key.value)) out.duplicates.push(pair.key.range?.[0] ?? 0);
          seen.add(pair.key.value);
        }
        stack.push({ node: pair.key, depth: depth + 1 }, { node: pair.value, depth: depth + 1 });
      }
    } else {
      for (const item of (node as { items: unknown[] }).items) stack.push({ node: item, depth: depth + 1 });
    }
  }
  out.duplicates.sort((a, b) => a - b);
  return out;
}

/** Per map, its pairs by key, built on first use: locating N problems is not N scans of a map. */
const pairIndex = new WeakMap<object, Map<unknown, Pair>>();

/**
 * Offset of the node at `path` or its nearest existing ancestor, as `doc.getIn(path, true)`
 * would find it (the first pair with that key), without scanning a map's items on every call.
 */
function nodeOffset(doc: Document, path: DocPath): number | undefined {
  let node: unknown = doc.contents;
  let best = (node as YamlNode | null)?.range?.[0];
  for (const seg of path) {
    let child: unknown;
    if (isMap(node)) {
      let index = pairIndex.get(node);
      if (!index) {
        index = new Map();
        for (const pair of node.items) {
          if (!isPair(pair)) continue;
          const key = isScalar(pair.key) ? pair.key.value : pair.key;
          if (!index.has(key)) index.set(key, pair);
        }
        pairIndex.set(node, index);
      }
      child = index.get(seg)?.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      child = node.items[seg];
    } else break;
    const offset = (child as YamlNode | null | undefined)?.range?.[0];
    if (offset === undefined) break;
    best = offset;
    node = child;
  }
  return best;
}

function yamlFile(
  file: string,
  value: unknown,
  locate: (path: DocPath) => { line: number; column: number } | undefined,
): YamlFile {
  return {
    file,
    value,
    locate,
    problem: (path, message) => ({ file, ...locate(path), path: formatPath(path), message }),
  };
}

/** Offsets to 1-based line and column, with the line starts found once, when first needed. */
class LineIndex {
  #starts: number[] | undefined;
  constructor(private readonly text: string) {}

  position(offset: number): { line: number; column: number } {
    if (!this.#starts) {
      const starts = [0];
      for (let i = this.text.indexOf('\n'); i >= 0; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.#starts = starts;
    }
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
  }
}

/** `all.children.servers.hosts.s1.address`, with `[2]` for sequence indexes. */
export function formatPath(path: DocPath): string {
  // Joined, not concatenated step by step: one flat string, not a chain of pieces (a big
  // inventory keeps one per host).
  const parts: string[] = [];
  for (const seg of path) {
    if (typeof seg === 'number') parts.push(`[${seg}]`);
    else parts.push(parts.length > 0 ? `.${seg}` : seg);
  }
  return parts.join('');
}
