import { readFile, stat } from '../commands/fs.js';
import { FactParseError, outputTail, type Fact } from './fact.js';

/** Owner and permissions of a path, as `stat` reports them. */
export interface PathAttributes {
  /** Octal permission bits without leading zeros, as stat prints them: `640`, `1777`. */
  mode: string;
  uid: string;
  /** `UNKNOWN` when the uid has no name on the host (common for container users). */
  owner: string;
  gid: string;
  group: string;
}

export type PathState = { exists: false } | ({ exists: true; type: string } & PathAttributes);
export type FileState = { exists: false } | ({ exists: true; content: string } & PathAttributes);

/** `present MODE UID USER GID GROUP [TYPE...]` */
function parseHeader(line: string, withType: boolean): PathAttributes & { type: string } {
  const m = /^present (\d+) (\d+) (\S+) (\d+) (\S+)(?: (.+))?$/.exec(line);
  if (!m || (withType && !m[6])) throw new FactParseError(`unexpected stat output: ${line.slice(0, 120)}`);
  return {
    mode: m[1] ?? '',
    uid: m[2] ?? '',
    owner: m[3] ?? '',
    gid: m[4] ?? '',
    group: m[5] ?? '',
    type: m[6] ?? '',
  };
}

/** Whether a path exists, its type (`directory`, `regular file`, ...) and attributes. */
export function pathState(path: string): Fact<PathState> {
  return {
    command: stat(path),
    parse(result) {
      if (result.code !== 0) throw new FactParseError(`stat ${path} failed (${outputTail(result)})`);
      const line = result.stdout.split('\n', 1)[0] ?? '';
      if (line === 'absent') return { exists: false };
      return { exists: true, ...parseHeader(line, true) };
    },
  };
}

/**
 * A regular file's exact content and attributes. Transports must not trim output for this to be
 * byte-exact; everything after the first newline is the file.
 */
export function fileState(path: string): Fact<FileState> {
  return {
    command: readFile(path),
    parse(result) {
      if (result.code !== 0) throw new FactParseError(`reading ${path} failed (${outputTail(result)})`);
      const nl = result.stdout.indexOf('\n');
      const line = nl === -1 ? result.stdout : result.stdout.slice(0, nl);
      if (line === 'absent') return { exists: false };
      if (line === 'notfile') throw new FactParseError(`${path} exists but is not a regular file`);
      const { type: _type, ...attrs } = parseHeader(line, false);
      return { exists: true, content: nl === -1 ? '' : result.stdout.slice(nl + 1), ...attrs };
    },
  };
}

/** Normalises `0640`, `640` and `00640` to the form stat prints (`640`), for comparison. */
export function normalizeMode(mode: string): string {
  const trimmed = mode.replace(/^0+(?=\d)/, '');
  return trimmed === '' ? '0' : trimmed;
}

/** True when `wanted` (name or number) names the same user/group as stat's id and name. */
export function sameOwner(wanted: string, id: string, name: string): boolean {
  return wanted === id || wanted === name;
}
