/**
 * `npm test`: typecheck, unit tests, the bundle, then the lab tests on a real multi-host lab that
 * this script brings up and always tears down (set KEEP_LAB=1 to keep it for debugging).
 *   npm test              everything
 *   npm test -- --unit    typecheck + unit tests only (no root, no lab)
 * Ends with one line `N passed, N failed` over both phases.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { labDown, labUp } from './lab/lab.js';

const ROOT = join(import.meta.dirname, '..');
const LAB_HOSTS = 8;
const unitOnly = process.argv.includes('--unit');

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'state') return [];
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.ts') ? [relative(ROOT, path)] : [];
  });
}

const needsLab = (file: string) => file.startsWith('test/lab/') || file.startsWith('test/e2e/');

interface PhaseResult {
  code: number;
  passed: number;
  failed: number;
}

/** Runs a command with inherited stdio-like streaming, keeping the output to read the test summary. */
function runPhase(title: string, command: string, args: string[]): Promise<PhaseResult> {
  console.log(`\n=== ${title}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('close', (code) => {
      const count = (what: string) => Number(new RegExp(`^ℹ ${what} (\\d+)$`, 'm').exec(out)?.[1] ?? 0);
      // A cancelled test (its suite's hook failed, or it outlived its parent) did not pass either.
      resolve({ code: code ?? 1, passed: count('pass'), failed: count('fail') + count('cancelled') });
    });
  });
}

/**
 * Unit files run two at a time: each one that starts servers has loopback addresses of its own
 * (127.0.0.x ranges named in each file's header), so two never meet. Lab files
 * run one at a time: they share the lab's hosts.
 */
const nodeTest = (files: string[], concurrency: number) => [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${concurrency}`,
  ...files,
];

async function main(): Promise<number> {
  const all = testFiles(join(ROOT, 'test')).sort();
  const unit = all.filter((f) => !needsLab(f));
  const lab = all.filter(needsLab);
  const results: PhaseResult[] = [];

  const typecheck = await runPhase('typecheck', 'npx', ['tsc', '-p', 'tsconfig.test.json']);
  if (typecheck.code !== 0) results.push({ code: typecheck.code, passed: 0, failed: 1 });
  results.push(await runPhase(`unit tests (${unit.length} files)`, process.execPath, nodeTest(unit, 2)));

  if (!unitOnly && lab.length > 0) {
    // The lab tests run drover the way users do, through bin/drover.js, which runs the bundle.
    const bundle = await runPhase('bundle (dist/bundle/drover.cjs)', process.execPath, [
      'scripts/bundle.mjs',
    ]);
    if (bundle.code !== 0) results.push({ code: bundle.code, passed: 0, failed: 1 });
    console.log(`\n=== lab: bringing up ${LAB_HOSTS} hosts`);
    try {
      await labUp(LAB_HOSTS);
      results.push(await runPhase(`lab tests (${lab.length} files)`, process.execPath, nodeTest(lab, 1)));
    } catch (err) {
      console.error(String(err));
      results.push({ code: 1, passed: 0, failed: 1 });
    } finally {
      if (process.env['KEEP_LAB'] !== '1') {
        const down = await labDown();
        process.stdout.write(down.stdout);
        if (down.code !== 0) results.push({ code: 1, passed: 0, failed: 1 });
      }
    }
  }

  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const ok = results.every((r) => r.code === 0) && failed === 0;
  console.log(`\n${passed} passed, ${failed} failed`);
  return ok ? 0 : 1;
}

process.exitCode = await main();
