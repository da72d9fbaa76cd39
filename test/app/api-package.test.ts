/**
 * The public API as a user of the package gets it: `npm run build`'s tsc emits dist/api, and
 * `import ... from 'drover'` (Node's self-reference through package.json `exports`) finds it,
 * with the types in index.d.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const API = join(ROOT, 'dist', 'api');
const scratch = mkdtempSync(join(tmpdir(), 'drover-api-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

before(() => {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--outDir', API],
    {
      cwd: ROOT,
      stdio: 'pipe',
    },
  );
});

const exported = ['deploy', 'plan', 'verify', 'restart', 'upgrade', 'loadInventory'];

test('package.json exports dist/api with its types', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, { types: string; default: string }>;
    types: string;
  };
  assert.deepEqual(pkg.exports['.'], { types: './dist/api/index.d.ts', default: './dist/api/index.js' });
  assert.equal(pkg.types, './dist/api/index.d.ts');
  const types = readFileSync(join(API, 'index.d.ts'), 'utf8');
  for (const name of exported) assert.match(types, new RegExp(`export declare function ${name}\\(`), name);
  for (const name of ['DroverEvent', 'RunReport', 'DeploymentReport', 'DeployOptions', 'DroverOptions'])
    assert.match(types, new RegExp(`\\b${name}\\b`), name);
});

test("import { loadInventory } from 'drover' in another process reads and checks an inventory", () => {
  const inventory = join(scratch, 'inv.yaml');
  writeFileSync(
    inventory,
    'all:\n  children:\n    servers:\n      hosts:\n        s1: { address: 10.0.0.1 }\n        s2: { address: 10.0.0.2 }\n        s3: { address: 10.0.0.3 }\n',
  );
  const bad = join(scratch, 'bad.yaml');
  writeFileSync(bad, 'all:\n  hosts:\n    s1: { address: 5 }\n');
  const script = `
    import * as drover from 'drover';
    const inv = await drover.loadInventory(process.argv[1], { consul: true });
    const names = ${JSON.stringify(exported)}.filter((n) => typeof drover[n] !== 'function');
    let bad;
    await drover.loadInventory(process.argv[2]).catch((e) => (bad = e));
    console.log(JSON.stringify({
      hosts: [...inv.hosts.keys()],
      missing: names,
      badInput: bad instanceof drover.ConfigError && bad.exitCode === drover.ExitCode.badInput,
      message: bad?.message,
    }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, inventory, bad], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    hosts: string[];
    missing: string[];
    badInput: boolean;
    message: string;
  };
  assert.deepEqual(out.hosts, ['s1', 's2', 's3']);
  assert.deepEqual(out.missing, []);
  assert.ok(out.badInput, out.message);
  assert.match(out.message, /bad\.yaml:3:\d+ all\.hosts\.s1\.address: must be a string/);
});
