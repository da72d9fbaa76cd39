// Runs the bundled CLI (dist/bundle/drover.cjs) with a V8 code cache, so that a run does not
// spend its first tens of milliseconds compiling 1.8 MB of JavaScript before it can open a
// connection. Node 22 has module.enableCompileCache for this; Node 20 does not, so this is the
// same idea by hand: vm.Script with cachedData, written once after a run that had none.
//
// The cache lives in a folder only this user can write (DROVER_COMPILE_CACHE names another one,
// or `off` turns it off), one file per bundle content, Node version and CPU: V8 checks a cache
// against the source's length only, so the file name carries a hash of the content. A folder or
// file that someone else could have written is not used. Any trouble with the cache just means
// a run compiles from source, as without it.
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  openSync,
  closeSync,
  fstatSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, Module } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

const CACHE_PREFIX = 'bundle-';
const CACHE_SUFFIX = '.v8cache';

/** The cache folder, or undefined when caching is off or there is no home to put it in. */
export function cacheDir(env = process.env) {
  const chosen = env.DROVER_COMPILE_CACHE;
  if (chosen === 'off' || chosen === '0') return undefined;
  if (chosen) return chosen;
  const base = env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : '');
  return base ? join(base, 'drover') : undefined;
}

/** True when only the current user can have written this path (owner us, no group/other write). */
function ours(stats) {
  const uid = process.getuid?.();
  return (uid === undefined || stats.uid === uid) && (stats.mode & 0o022) === 0;
}

/** The cache folder made ready (created 0700 when missing); undefined when it cannot be trusted. */
function trustedDir(dir) {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return ours(statSync(dir)) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The cache's bytes when the file is there and ours; undefined otherwise. */
function readCache(file) {
  let fd;
  try {
    fd = openSync(file, 'r');
    if (!ours(fstatSync(fd))) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes the cache atomically and removes caches of other bundles or Node versions. */
function writeCache(dir, file, data) {
  try {
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, file);
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name.startsWith(CACHE_PREFIX) && name.endsWith(CACHE_SUFFIX) && path !== file)
        rmSync(path, { force: true });
    }
  } catch {
    // A cache that cannot be written only means the next run compiles again.
  }
}

/** The cache file's name: a hash of the bundle's content, the Node version and the CPU. */
function cacheName(source) {
  const key = createHash('sha256').update(source).digest('hex').slice(0, 32);
  return `${CACHE_PREFIX}${key}-${process.version}-${process.arch}${CACHE_SUFFIX}`;
}

/**
 * Runs the CommonJS bundle at `bundlePath` as the main program. `dir` is the cache folder
 * (cacheDir() by default; undefined runs without a cache).
 */
export function runBundle(bundlePath, dir = cacheDir()) {
  const source = readFileSync(bundlePath, 'utf8');
  const trusted = dir === undefined ? undefined : trustedDir(dir);
  const file = trusted && join(trusted, cacheName(source));
  const cachedData = file && readCache(file);
  // A shebang line is not JavaScript inside the wrapper; as a comment it keeps line numbers.
  const body = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const script = new vm.Script(Module.wrap(body), {
    filename: bundlePath,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (file && (!cachedData || script.cachedDataRejected)) {
    // After the run, so the cache also holds the functions the run compiled on first call.
    process.once('exit', () => writeCache(trusted, file, script.createCachedData()));
  }
  const module = { exports: {}, filename: bundlePath, id: '.', loaded: false };
  script
    .runInThisContext()
    .call(module.exports, module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath));
}
