import { normalizeMode, readFile, stat } from '../remote/fs.js';
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
      return parsePathState(result.stdout);
    },
  };
}

/** The state from output that starts as `stat` output does (ensureDir prints the same). */
export function parsePathState(stdout: string): PathState {
  const line = stdout.split('\n', 1)[0] ?? '';
  if (line === 'absent') return { exists: false };
  return { exists: true, ...parseHeader(line, true) };
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
      return parseFileState(path, result.stdout);
    },
  };
}

/** The state from output that starts as `readFile` output does (writeFileIfChanged prints the same). */
function parseFileState(path: string, stdout: string): FileState {
  const nl = stdout.indexOf('\n');
  const line = nl === -1 ? stdout : stdout.slice(0, nl);
  if (line === 'absent') return { exists: false };
  if (line === 'notfile') throw new FactParseError(`${path} exists but is not a regular file`);
  const { type: _type, ...attrs } = parseHeader(line, false);
  return { exists: true, content: nl === -1 ? '' : stdout.slice(nl + 1), ...attrs };
}

/**
 * The state writeFileIfChanged printed before it wrote: a present file's bytes follow
 * `differs`; after `same` they are the wanted bytes (their sha256 matched), not sent back.
 */
export function parseWrittenFileState(path: string, stdout: string, wanted: string): FileState {
  const lines = stdout.split('\n', 2);
  const header = lines[0] ?? '';
  if (header === 'absent') return { exists: false };
  if (header === 'notfile') throw new FactParseError(`${path} exists but is not a regular file`);
  const { type: _type, ...attrs } = parseHeader(header, false);
  const verdict = lines[1];
  if (verdict === 'same') return { exists: true, content: wanted, ...attrs };
  if (verdict !== 'differs') throw new FactParseError(`unexpected answer after the stat line of ${path}`);
  const start = header.length + 1 + 'differs\n'.length;
  return { exists: true, content: stdout.slice(start), ...attrs };
}

/**
 * What differs between the wanted mode/owner/group and a path's, one phrase each
 * (`mode 755 -> 0750`); empty when everything asked for is already so.
 */
export function attributeDifferences(
  want: { mode?: string | undefined; owner?: string | undefined; group?: string | undefined },
  have: PathAttributes,
): string[] {
  const out: string[] = [];
  if (want.mode && normalizeMode(want.mode) !== normalizeMode(have.mode))
    out.push(`mode ${have.mode} -> ${want.mode}`);
  if (want.owner && !sameOwner(want.owner, have.uid, have.owner))
    out.push(`owner ${have.owner} -> ${want.owner}`);
  if (want.group && !sameOwner(want.group, have.gid, have.group))
    out.push(`group ${have.group} -> ${want.group}`);
  return out;
}

/** True when `wanted` (name or number) names the same user/group as stat's id and name. */
export function sameOwner(wanted: string, id: string, name: string): boolean {
  return wanted === id || wanted === name;
}
