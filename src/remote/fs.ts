import { randomBytes } from 'node:crypto';
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

/**
 * A shell function: chmod/chown PATH only where its mode, owner or group differ from $mode,
 * $owner and $group, given what stat printed (`MODE UID USER GID GROUP`); the owner and group
 * match by name or number. A path that is already right is not touched at all. For a path
 * just created, call it with no attributes: everything asked for is set.
 */
const FIX_ATTRIBUTES_FUNCTION = [
  'fix_attributes() {',
  '  if [ -n "$mode" ] && [ "$mode" != "$2" ]; then chmod "$mode" -- "$1"; fi',
  '  u= g=',
  '  if [ -n "$owner" ] && [ "$owner" != "$3" ] && [ "$owner" != "$4" ]; then u=$owner; fi',
  '  if [ -n "$group" ] && [ "$group" != "$5" ] && [ "$group" != "$6" ]; then g=$group; fi',
  '  if [ -n "$u$g" ]; then chown "$u${g:+:$g}" -- "$1"; fi',
  '}',
];

/** Normalises `0640`, `640` and `00640` to the form stat prints (`640`), for comparison. */
export function normalizeMode(mode: string): string {
  const trimmed = mode.replace(/^0+(?=\d)/, '');
  return trimmed === '' ? '0' : trimmed;
}

/** A wanted mode as stat prints it, so the scripts can compare it as text; '' when none is asked. */
const statMode = (mode: string | undefined): string => (mode ? normalizeMode(mode) : '');

/**
 * Read and change in one round trip. Prints what `stat` prints (the state before), then makes
 * the path a directory with the wanted attributes: `mkdir -p` when it is missing, chmod/chown
 * only what differs. A symlink or anything else that is not a directory is left alone; the
 * caller sees its type in the first line and reports it. Every process costs the host CPU
 * time, for every host at once: a directory that is right costs one `stat`. (`set -f`: the
 * fields of stat's output are split with `set --`, never expanded as globs.)
 */
const ENSURE_DIR_SCRIPT = [
  'set -ef',
  ...FIX_ATTRIBUTES_FUNCTION,
  'p=$1 mode=$2 owner=$3 group=$4',
  'if [ -e "$p" ] || [ -L "$p" ]; then',
  `  s=$(stat -c '%a %u %U %g %G %F' -- "$p")`,
  `  printf 'present %s\\n' "$s"`,
  '  if [ -L "$p" ] || [ ! -d "$p" ]; then exit 0; fi',
  '  set -- $s',
  '  fix_attributes "$p" "$@"',
  'else',
  '  echo absent',
  // -m gives the new directory exactly this mode (no umask), so no chmod is needed after.
  '  if [ -n "$mode" ]; then mkdir -p -m "$mode" -- "$p"; mode=; else mkdir -p -- "$p"; fi',
  '  fix_attributes "$p"',
  'fi',
].join('\n');

export const ensureDir = (path: string, o: Ownership = {}): Cmd =>
  exec('sh', '-c', ENSURE_DIR_SCRIPT, 'sh', path, statMode(o.mode), o.owner ?? '', o.group ?? '');

/**
 * Read and write in one round trip, content on stdin, its sha256 as an argument. First line:
 * `absent`, `notfile` (left alone), or `present MODE UID USER GID GROUP`; for a present file a
 * second line says `same` (the bytes match: only chmod/chown where they differ, stdin is not
 * read) or `differs`, followed by the old bytes. Different bytes are written atomically: a temp
 * file beside DEST, its mode and owner set (the wanted ones, else the current file's), the old
 * file kept as DEST.bak, then a rename. A failure at any step leaves DEST untouched.
 *
 * Every process costs the host CPU time, for every host at once, so the common paths start few:
 * a file that is right costs `stat` and `sha256sum`; a new one `cat` and `mv`. The temp file's
 * name comes from the caller (random, instead of mktemp) and it is created with noclobber
 * (`set -C`), which fails rather than reuse an existing file. When the wanted mode has no
 * execute or special bits, `umask` makes the file with exactly that mode, instead of a chmod.
 */
const WRITE_IF_CHANGED_SCRIPT = [
  'set -ef',
  ...FIX_ATTRIBUTES_FUNCTION,
  'dest=$1 mode=$2 owner=$3 group=$4 sum=$5 tmpname=$6 createmask=$7',
  'if [ -f "$dest" ]; then',
  `  s=$(stat -c '%a %u %U %g %G' -- "$dest")`,
  `  printf 'present %s\\n' "$s"`,
  // From stdin: sha256sum escapes some file names in its output, never `-`.
  '  h=$(sha256sum < "$dest")',
  '  set -- $s',
  '  if [ "${h%% *}" = "$sum" ]; then echo same; fix_attributes "$dest" "$@"; exit 0; fi',
  '  echo differs',
  '  cat -- "$dest"',
  '  [ -n "$mode" ] || { mode=$1; createmask=; }',
  '  owner=${owner:-$2} group=${group:-$4}',
  'elif [ -e "$dest" ]; then echo notfile; exit 0',
  'else echo absent; fi',
  // ${dest%/*} is dirname without a process; dest is absolute, and "/x" leaves "" for "/".
  'dir=${dest%/*}',
  'tmp=${dir:-/}/.drover-tmp.$tmpname',
  'if [ -n "$createmask" ]; then umask "$createmask"; fi',
  'set -C',
  ': > "$tmp"',
  `trap 'rm -f -- "$tmp"' EXIT`,
  'cat >> "$tmp"',
  'if [ -z "$createmask" ] && [ -n "$mode" ]; then chmod "$mode" -- "$tmp"; fi',
  'if [ -n "$owner$group" ]; then chown "$owner${group:+:$group}" -- "$tmp"; fi',
  'if [ -f "$dest" ]; then cp -p -- "$dest" "$dest.bak"; fi',
  'mv -f -- "$tmp" "$dest"',
  'trap - EXIT',
].join('\n');

/** The umask that creates a file with exactly `mode`; empty when a mode needs chmod (x or special bits). */
function creationMask(mode: string): string {
  if (!/^[0246]{3}$/.test(mode)) return '';
  return [...mode].map((d) => String(7 - Number(d))).join('');
}

/** `sha256` is the hex digest of the UTF-8 bytes that will come on stdin. */
export const writeFileIfChanged = (dest: string, sha256: string, o: Ownership = {}): Cmd => {
  const mode = statMode(o.mode);
  return exec(
    'sh',
    '-c',
    WRITE_IF_CHANGED_SCRIPT,
    'sh',
    dest,
    mode,
    o.owner ?? '',
    o.group ?? '',
    sha256,
    randomBytes(6).toString('hex'),
    creationMask(mode),
  );
};

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
