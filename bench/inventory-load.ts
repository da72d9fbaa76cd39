/**
 * `npm run bench:inventory`: how long drover takes to load big inventories, and how much memory.
 * Each case is a generated file, loaded as `drover deploy` loads it (read, parse, schema, resolve,
 * the Consul layout checks) in a fresh Node process, BENCH_RUNS times (default 3); the report
 * gives the median and the slowest wall time of the load and the process's peak RSS.
 *
 *   hosts-flow   100k hosts written `c1: { address: ..., rack: ... }`        (~5.4 MB)
 *   hosts-block  100k hosts written `c1:` / `  address: ...`, no other var    (~4.7 MB)
 *   vars-60k     60k vars in one group, 3 servers and a client                (~5.1 MB)
 *   anchors      the hosts-block file plus one anchor and alias: outside the fast parser's
 *                subset, so the `yaml` library reads it (the slow path, for comparison)
 *
 * The targets (issue 16): under 2 s and under 300 MB for the 5 MB, 100k-host files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const HOSTS = 100_000;
const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const servers =
  '    servers:\n      hosts:\n' +
  [1, 2, 3].map((i) => `        s${i}: { address: 10.255.0.${i} }\n`).join('');

const CASES: Record<string, () => string> = {
  'hosts-flow': () => {
    let s = `all:\n  vars:\n    consul_datacenter: dc1\n  children:\n${servers}    clients:\n      hosts:\n`;
    for (let i = 0; i < HOSTS; i++) s += `        c${i}: { address: "${address(i)}", rack: r${i % 40} }\n`;
    return s;
  },
  'hosts-block': () => blockHosts(''),
  'vars-60k': () => {
    let s = `all:\n  vars:\n    consul_datacenter: dc1\n  children:\n${servers}    clients:\n      vars:\n`;
    for (let i = 0; i < 60_000; i++)
      s += `        var_${i}: "value ${i} padded with some text to make it five megabytes ....."\n`;
    return s + '      hosts:\n        c1: { address: 10.1.0.1 }\n';
  },
  anchors: () =>
    blockHosts('    consul_image: &image hashicorp/consul:1.20.1\n    consul_image_pinned: *image\n'),
};

function blockHosts(extraVars: string): string {
  let s = `all:\n  vars:\n    consul_datacenter: dc1\n${extraVars}  children:\n${servers}    clients:\n      hosts:\n`;
  for (let i = 0; i < HOSTS; i++) s += `        c${i}:\n          address: ${address(i)}\n`;
  return s;
}

/** In the child: load once, print {ms, rssMB, peakMB, hosts} as JSON. */
async function child(file: string): Promise<void> {
  const { loadInventory } = await import('../src/inventory/load.js');
  const { checkConsulInventory, withConsulRoleGroups } = await import('../src/inventory/consul-checks.js');
  const before = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const inventory = withConsulRoleGroups(await loadInventory(file));
  const report = checkConsulInventory(inventory);
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const out = {
    ms,
    cpuMs: (used.user + used.system) / 1000,
    startMB: before / 2 ** 20,
    peakMB: process.resourceUsage().maxRSS / 1024,
    hosts: inventory.hosts.size,
    errors: report.errors.length,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

interface Sample {
  ms: number;
  cpuMs: number;
  startMB: number;
  peakMB: number;
  hosts: number;
  errors: number;
}

function main(): void {
  const runs = Number(process.env['BENCH_RUNS'] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'drover-bench-inv-'));
  const rows: string[] = [];
  const load = () => loadavg()[0]?.toFixed(2);
  console.log(`load average at start: ${load()}; ${runs} runs per case`);
  try {
    for (const [name, make] of Object.entries(CASES)) {
      const file = join(dir, `${name}.yaml`);
      const text = make();
      writeFileSync(file, text);
      const samples: Sample[] = [];
      for (let r = 0; r < runs; r++) {
        const stdout = execFileSync(
          process.execPath,
          ['--import', 'tsx', import.meta.filename, '--child', file],
          {
            encoding: 'utf8',
            maxBuffer: 1 << 20,
          },
        );
        samples.push(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Sample);
      }
      const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
      const cpu = samples.map((s) => s.cpuMs).sort((a, b) => a - b);
      const peak = Math.max(...samples.map((s) => s.peakMB));
      const start = Math.max(...samples.map((s) => s.startMB));
      const s0 = samples[0] as Sample;
      rows.push(
        `${name.padEnd(12)} ${(text.length / 2 ** 20).toFixed(1).padStart(5)} MB  ${String(s0.hosts).padStart(6)} hosts  ` +
          `load median ${(ms[Math.floor(ms.length / 2)] as number).toFixed(0).padStart(5)} ms, max ${(ms[ms.length - 1] as number).toFixed(0).padStart(5)} ms ` +
          `(CPU median ${(cpu[Math.floor(cpu.length / 2)] as number).toFixed(0)} ms)  ` +
          `peak RSS ${peak.toFixed(0).padStart(4)} MB (${start.toFixed(0)} MB before loading)`,
      );
      console.log(rows[rows.length - 1]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    console.log(`load average at end: ${load()}`);
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] as string);
else main();
