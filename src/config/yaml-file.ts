import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigProblem } from '../errors.js';

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

export function parseYaml(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return {
          file,
          ...(pos ? { line: pos.line, column: pos.col } : {}),
          message: `invalid YAML: ${(e.message.split('\n')[0] ?? e.code).replace(/ at line \d+, column \d+:?$/, '')}`,
        };
      }),
    );
  }
  const locate = (path: DocPath) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      const offset = node?.range?.[0];
      if (offset !== undefined) {
        const pos = lineCounter.linePos(offset);
        return { line: pos.line, column: pos.col };
      }
    }
    return undefined;
  };
  return {
    file,
    value: doc.toJS({ maxAliasCount: 100 }),
    locate,
    problem: (path, message) => ({ file, ...locate(path), path: formatPath(path), message }),
  };
}

export async function loadYamlFile(file: string): Promise<YamlFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`;
    throw new ConfigError([{ file, message: why }], { cause: err });
  }
  return parseYaml(text, file);
}

/** `all.children.servers.hosts.s1.address`, with `[2]` for sequence indexes. */
export function formatPath(path: DocPath): string {
  return path.reduce<string>(
    (out, seg) => (typeof seg === 'number' ? `${out}[${seg}]` : out ? `${out}.${seg}` : seg),
    '',
  );
}
