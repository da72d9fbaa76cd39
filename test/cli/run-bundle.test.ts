/** bin/run-bundle.js: the bundled CLI runs from a V8 code cache that only its user can write. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
// @ts-expect-error: plain JavaScript without type declarations
import { cacheDir } from '../../bin/run-bundle.js';

const LOADER = pathToFileURL(join(import.meta.dirname, '..', '..', 'bin', 'run-bundle.js')).href;
const root = mkdtempSync(join(tmpdir(), 'drover-run-bundle-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A CommonJS "bundle" with a shebang, as esbuild writes the CLI, that prints what it was given. */
function bundle(name: string, extra = ''): string {
  const file = join(root, name);
  writeFileSync(
    file,
    [
      '#!/usr/bin/env node',
      `// ${extra}`,
      "const { basename } = require('node:path');",
      'module.exports = 42;',
      'console.log(`ran ${basename(__filename)} ${typeof require} ${process.argv.slice(2).join(" ")}`);',
    ].join('\n'),
  );
  return file;
}

function run(file: string, dir: string): string {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { runBundle } from '${LOADER}'; runBundle(process.argv[1], process.argv[2]);`,
      file,
      dir,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.v8cache'));

describe('run-bundle', () => {
  it('writes the cache after the first run, 0600 in a 0700 folder, and uses it after', () => {
    const file = bundle('cli.cjs');
    const dir = join(root, 'cache-a');
    assert.match(run(file, dir), /^ran cli\.cjs function/);
    const [cache] = caches(dir);
    assert.ok(cache, 'a cache file');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, cache)).mode & 0o777, 0o600);
    const first = statSync(join(dir, cache)).mtimeMs;
    assert.match(run(file, dir), /^ran cli\.cjs/);
    // A cache V8 accepted is not written again.
    assert.equal(statSync(join(dir, cache)).mtimeMs, first);
  });

  it('runs from source when the cache is damaged, and writes a good one', () => {
    const file = bundle('damaged.cjs');
    const dir = join(root, 'cache-b');
    run(file, dir);
    const [cache] = caches(dir);
    assert.ok(cache);
    writeFileSync(join(dir, cache), 'not a code cache');
    assert.match(run(file, dir), /^ran damaged\.cjs/);
    assert.notEqual(readFileSync(join(dir, cache), 'utf8'), 'not a code cache');
  });

  it('keeps one cache per bundle content: a changed bundle replaces the old cache', () => {
    const dir = join(root, 'cache-c');
    run(bundle('changing.cjs', 'one'), dir);
    const [before] = caches(dir);
    run(bundle('changing.cjs', 'two'), dir);
    const now = caches(dir);
    assert.equal(now.length, 1);
    assert.notEqual(now[0], before);
  });

  it('does not use a folder others can write', () => {
    const file = bundle('shared.cjs');
    const dir = join(root, 'cache-d');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    assert.match(run(file, dir), /^ran shared\.cjs/);
    assert.deepEqual(caches(dir), []);
  });

  it('finds its folder from DROVER_COMPILE_CACHE, XDG_CACHE_HOME or the home folder; `off` turns it off', () => {
    assert.equal(cacheDir({ DROVER_COMPILE_CACHE: '/x/y' }), '/x/y');
    assert.equal(cacheDir({ DROVER_COMPILE_CACHE: 'off' }), undefined);
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/c' }), join('/c', 'drover'));
    assert.match(cacheDir({}) ?? '', /\.cache\/drover$/);
  });
});
