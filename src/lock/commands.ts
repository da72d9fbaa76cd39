import { UsageError } from '../errors.js';
import { exec, type Cmd } from '../shell/cmd.js';

/**
 * Pure builders for the deploy lock, after Kamal: `mkdir` without -p fails when the directory
 * exists, so it is the atomic test-and-set; a `details` file inside says who holds it. Scripts
 * are constant; the lock path is a positional argument ("$1"), never spliced into shell source.
 */
export const DEFAULT_LOCK_DIR = '/var/lib/drover/lock';

/** A lock we `rm -rf` must be a plain absolute path, never `/`, and never climb with `..`. */
export function checkLockDir(dir: string): string {
  const trimmed = dir.replace(/\/+$/, '');
  if (!trimmed.startsWith('/') || trimmed === '' || trimmed.split('/').some((s) => s === '..' || s === '.')) {
    throw new UsageError(`lock directory must be an absolute path below /, without . or .. (got "${dir}")`);
  }
  return trimmed;
}

/**
 * The state block both scripts print for a held lock: `held`, the host's clock (epoch seconds),
 * the lock directory's mtime, then the details file as written. Age comes from the host's own
 * clock, so a skewed CI runner clock cannot make a lock look fresh or stale.
 */
const PRINT_HELD = 'echo held; date +%s; stat -c %Y -- "$1"; cat -- "$1/details" 2>/dev/null';

/**
 * Exit 0: taken, details (stdin) written. Exit 1: already held, state block on stdout. Any
 * other exit: could not take it (permissions, disk), reason on stderr; nothing left behind.
 */
const ACQUIRE_SCRIPT = [
  'mkdir -p -- "$(dirname -- "$1")" || exit 3',
  'if err=$(mkdir -- "$1" 2>&1); then',
  '  if cat > "$1/details"; then exit 0; fi',
  '  rm -rf -- "$1"; exit 3',
  'fi',
  'if [ -d "$1" ]; then',
  // Drain the details we were sent, so the sender never writes into a closed channel.
  '  cat > /dev/null',
  `  ${PRINT_HELD}`,
  '  exit 1',
  'fi',
  `printf '%s\\n' "$err" >&2; exit 3`,
].join('\n');

export const takeLock = (dir: string): Cmd => exec('sh', '-c', ACQUIRE_SCRIPT, 'sh', checkLockDir(dir));

/** Exit 0 with `free`, or with the state block. */
const STATUS_SCRIPT = [`if [ -d "$1" ]; then ${PRINT_HELD}; exit 0; fi`, 'echo free'].join('\n');

export const readLock = (dir: string): Cmd => exec('sh', '-c', STATUS_SCRIPT, 'sh', checkLockDir(dir));

export const removeLock = (dir: string): Cmd => exec('rm', '-rf', '--', checkLockDir(dir));

/**
 * Removes the lock only when its details hold our token ("$2", random hex), in one round trip:
 * `free`, `released`, or the state block of someone else's lock (a run whose lock was
 * force-released and re-taken by another run must not remove that other run's lock).
 */
const RELEASE_OURS_SCRIPT = [
  'if [ ! -d "$1" ]; then echo free; exit 0; fi',
  'if grep -qF -- "$2" "$1/details" 2>/dev/null; then rm -rf -- "$1"; echo released; exit 0; fi',
  PRINT_HELD,
].join('\n');

export const releaseOurLock = (dir: string, token: string): Cmd =>
  exec('sh', '-c', RELEASE_OURS_SCRIPT, 'sh', checkLockDir(dir), token);
