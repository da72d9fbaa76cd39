import { and, exec, type Cmd } from '../shell/cmd.js';

/**
 * Pure builders for files and directories on a target host. Scripts that need a condition are
 * constant `sh -c` programs with the path passed as a positional argument ("$1"), so no path is
 * ever spliced into shell source, and file content travels on stdin, never in argv.
 */

export interface Ownership {
  /** Octal mode as text, e.g. `0640`. */
  mode?: string;
  /** User name or numeric uid. */
  owner?: string;
  /** Group name or numeric gid. */
  group?: string;
}

/** `chown` wants `user`, `user:group` or `:group`. */
function chownSpec(o: Ownership): string | undefined {
  if (o.owner && o.group) return `${o.owner}:${o.group}`;
  if (o.owner) return o.owner;
  if (o.group) return `:${o.group}`;
  return undefined;
}

function attributeCmds(path: string, o: Ownership): Cmd[] {
  const parts: Cmd[] = [];
  if (o.mode) parts.push(exec('chmod', o.mode, '--', path));
  const spec = chownSpec(o);
  if (spec) parts.push(exec('chown', spec, '--', path));
  return parts;
}

/** chmod/chown of an existing path; undefined when nothing is asked for. */
export function setAttributes(path: string, o: Ownership): Cmd | undefined {
  const parts = attributeCmds(path, o);
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : and(...parts);
}

/**
 * `mkdir -p` then chmod/chown. `mkdir -m` would only set the mode of a new last component and
 * never fix an existing one, so the mode is applied explicitly.
 */
export function mkdir(path: string, o: Ownership = {}): Cmd {
  const make = exec('mkdir', '-p', '--', path);
  const attrs = attributeCmds(path, o);
  return attrs.length > 0 ? and(make, ...attrs) : make;
}

/**
 * First line: `absent`, or `present MODE UID USER GID GROUP TYPE` (TYPE may contain spaces, so
 * it comes last). Exit 0 either way: absence is an answer, not an error.
 */
const STAT_SCRIPT = [
  'if [ -e "$1" ] || [ -L "$1" ]; then',
  `  printf 'present '; stat -c '%a %u %U %g %G %F' -- "$1"`,
  'else echo absent; fi',
].join('\n');

export const stat = (path: string): Cmd => exec('sh', '-c', STAT_SCRIPT, 'sh', path);

/**
 * Like stat, then the file's bytes unchanged after the first line. `notfile` when the path is
 * something other than a regular file (a directory where a config should be).
 */
const READ_SCRIPT = [
  'if [ -f "$1" ]; then',
  `  printf 'present '; stat -c '%a %u %U %g %G' -- "$1" && cat -- "$1"`,
  'elif [ -e "$1" ]; then echo notfile',
  'else echo absent; fi',
].join('\n');

export const readFile = (path: string): Cmd => exec('sh', '-c', READ_SCRIPT, 'sh', path);

/**
 * Atomic replace, content on stdin: write a temp file in the destination's directory (same
 * filesystem, so `mv` is a rename), give it the wanted mode and owner (or the current file's,
 * so a rewrite never loosens permissions), keep the old file as DEST.bak, then rename into
 * place. A failure at any step leaves DEST untouched and removes the temp file.
 */
const WRITE_SCRIPT = [
  'set -e',
  'dest=$1 mode=$2 owner=$3 group=$4',
  'tmp=$(mktemp "$(dirname -- "$dest")/.drover-tmp.XXXXXX")',
  `trap 'rm -f -- "$tmp"' EXIT`,
  'cat > "$tmp"',
  'cur_u= cur_g=',
  'if [ -e "$dest" ]; then',
  '  cur=$(stat -c %u:%g -- "$dest"); cur_u=${cur%%:*}; cur_g=${cur#*:}',
  '  [ -n "$mode" ] || mode=$(stat -c %a -- "$dest")',
  'fi',
  '[ -n "$mode" ] || mode=$(printf %o $((0666 & ~$(umask))))',
  'chmod "$mode" "$tmp"',
  'u=${owner:-$cur_u} g=${group:-$cur_g}',
  'if [ -n "$u$g" ]; then chown "$u${g:+:$g}" "$tmp"; fi',
  'if [ -e "$dest" ]; then cp -p -- "$dest" "$dest.bak"; fi',
  'mv -f -- "$tmp" "$dest"',
  'trap - EXIT',
].join('\n');

export const writeFileAtomic = (dest: string, o: Ownership = {}): Cmd =>
  exec('sh', '-c', WRITE_SCRIPT, 'sh', dest, o.mode ?? '', o.owner ?? '', o.group ?? '');

/** `test -e`: exit 0 when the path exists (used by `command creates:`). */
export const exists = (path: string): Cmd => exec('test', '-e', path);

/**
 * Names (not paths) of the regular files in `dir` whose name starts with `prefix` and ends with
 * `suffix`, one per line; nothing when the directory is missing. The pattern is built inside the
 * script from positional arguments, so neither part is ever shell source.
 */
const LIST_SCRIPT = [
  'for f in "$1"/*; do',
  '  n=${f##*/}',
  '  case $n in "$2"*"$3") [ -f "$f" ] && printf "%s\\n" "$n" ;; esac',
  'done',
  'exit 0',
].join('\n');

export const listFiles = (dir: string, prefix: string, suffix: string): Cmd =>
  exec('sh', '-c', LIST_SCRIPT, 'sh', dir, prefix, suffix);

/** `rm -f` of the given paths (a missing one is not an error). */
export const removeFiles = (...paths: string[]): Cmd => exec('rm', '-f', '--', ...paths);
