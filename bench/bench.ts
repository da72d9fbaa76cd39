/**
 * drover against Ansible on the lab: the same job (bench/job/), the same hosts, in the same run.
 *
 *   npm run bench            # builds drover, brings up the lab, installs ansible-core if missing
 *
 * Cases: 8 docker hosts cold (nothing there yet), the same 8 with nothing to change, and a fleet of
 * sshd-only hosts (64 by default) cold. Each case runs every tool several times, interleaved
 * round by round so that a change in machine load hits all of them alike; reported are median,
 * min and max wall time, Ansible/drover ratios, drover's peak RSS, and the floor: one `true` per
 * host over fresh SSH connections in parallel. The report goes to bench/RESULTS.md, the raw
 * figures to bench/out/results.json.
 *
 * Environment (all optional):
 *   BENCH_FIRST_HOST=1     first lab host of the docker cases (h<N>)
 *   BENCH_DOCKER_HOSTS=8   hosts of the two docker cases
 *   BENCH_FLEET_FIRST      first host of the fleet (default: right after the docker hosts)
 *   BENCH_FLEET_HOSTS=64   sshd-only hosts of the fleet case
 *   BENCH_RUNS=5           measured runs per tool in the docker cases
 *   BENCH_FLEET_RUNS=3     measured runs per tool in the fleet case
 *   BENCH_CASES=cold8,noop8,fleet   which cases to run
 *   BENCH_NO_ANSIBLE_DEFAULTS=1     skip Ansible with its defaults (the slowest part)
 *   BENCH_RESULTS=path     where the markdown goes (default bench/RESULTS.md)
 *   BENCH_DROVER_MAIN=path run this entry point instead of bin/drover.js (development)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const LAB = join(ROOT, 'test', 'lab');
const STATE = join(LAB, 'state');
const SSH_KEY = join(STATE, 'ssh', 'id_ed25519');
const KNOWN_HOSTS = join(STATE, 'ssh', 'known_hosts');
const SSH_CONFIG = join(STATE, 'ssh', 'config');
const OUT = join(BENCH, 'out');
const JOB = join(BENCH, 'job');
/**
 * Everything the job writes on a host lives here, so a cold run starts from nothing. Each tool
 * works in its own folder below it (drover/, ansible/): a tool never finds the other's files.
 */
const BENCH_ROOT = '/opt/drover-bench';
/** Where clean() moves a cold run's leftovers (beside BENCH_ROOT: same filesystem, a rename). */
const TRASH = '/opt/.drover-bench-trash';

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

const FIRST = intEnv('BENCH_FIRST_HOST', 1, 1, 200);
const DOCKER_N = intEnv('BENCH_DOCKER_HOSTS', 8, 1, 64);
const FLEET_N = intEnv('BENCH_FLEET_HOSTS', 64, 1, 199);
const FLEET_FIRST = intEnv('BENCH_FLEET_FIRST', FIRST + DOCKER_N, 1, 200);
const RUNS = intEnv('BENCH_RUNS', 5, 1, 50);
const FLEET_RUNS = intEnv('BENCH_FLEET_RUNS', 3, 1, 50);
const CASES = (process.env['BENCH_CASES'] ?? 'cold8,noop8,fleet').split(',').map((s) => s.trim());
const WITH_DEFAULTS = process.env['BENCH_NO_ANSIBLE_DEFAULTS'] !== '1';
const RESULTS_MD = resolve(process.env['BENCH_RESULTS'] ?? join(BENCH, 'RESULTS.md'));
const DOCKER_LAST = FIRST + DOCKER_N - 1;
const FLEET_LAST = FLEET_FIRST + FLEET_N - 1;
const LAST_HOST = Math.max(DOCKER_LAST, FLEET_LAST);
if (LAST_HOST > 200) throw new Error(`the lab has at most 200 hosts; h${LAST_HOST} does not fit`);
if (FLEET_FIRST <= DOCKER_LAST && FLEET_LAST >= FIRST)
  throw new Error('the fleet must not overlap the docker hosts');

// ---------------------------------------------------------------------------------------------
// Processes

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program to the end (bounded by timeoutSeconds), timing it from spawn to exit. */
function run(
  file: string,
  args: readonly string[],
  o: { timeoutSeconds: number; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<Ran> {
  return new Promise((resolvePromise) => {
    const started = performance.now();
    const child = spawn(file, args, {
      cwd: o.cwd ?? ROOT,
      env: o.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutSeconds * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolvePromise({ code: null, stdout: '', stderr: String(e), ms: performance.now() - started });
    });
    child.on('close', (code) => {
      const ms = performance.now() - started;
      clearTimeout(timer);
      resolvePromise({
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        ms,
      });
    });
  });
}

function must(r: Ran, what: string): Ran {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${tail(r.stderr || r.stdout)}`);
  return r;
}

const tail = (text: string, lines = 15): string => text.trimEnd().split('\n').slice(-lines).join('\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Set-up: root, ansible-core, the lab

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

async function ensureAnsible(): Promise<string> {
  if (!which('ansible-playbook')) {
    log('installing ansible-core (Debian package) ...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'ansible-core'], {
      timeoutSeconds: 900,
      env,
    });
    if (r.code !== 0) {
      must(await run('apt-get', ['update', '-q'], { timeoutSeconds: 600, env }), 'apt-get update');
      r = await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'ansible-core'], {
        timeoutSeconds: 900,
        env,
      });
    }
    must(r, 'apt-get install ansible-core');
  }
  const v = must(
    await run('ansible-playbook', ['--version'], { timeoutSeconds: 60 }),
    'ansible-playbook --version',
  );
  return (v.stdout.split('\n')[0] ?? '').trim();
}

interface LabHost {
  name: string;
  address: string;
}

const hostNumber = (name: string) => Number(name.slice(1));

function labSize(): number {
  try {
    return Number(readFileSync(join(STATE, 'lab.size'), 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

/** The host's init (tini) runs: the same test as the lab's own `alive`. */
function alive(name: string): boolean {
  try {
    const pid = readFileSync(join(STATE, 'hosts', name, 'holder.pid'), 'utf8').trim();
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'tini';
  } catch {
    return false;
  }
}

const hasDocker = (name: string): boolean => {
  try {
    return /want_docker=1/.test(readFileSync(join(STATE, 'hosts', name, 'profile'), 'utf8'));
  } catch {
    return false;
  }
};

/**
 * Brings up (or grows) the lab so that the docker hosts run dockerd and the fleet's hosts run
 * (sshd only where the lab adds them). A running lab that already covers this is used as it is.
 * lab-up.sh tears down a lab it finds broken, so it is never called while any running host is down.
 */
async function ensureLab(): Promise<{ docker: LabHost[]; fleet: LabHost[] }> {
  const steps: { hosts: number; docker: boolean }[] = [
    { hosts: DOCKER_LAST, docker: true },
    { hosts: LAST_HOST, docker: false },
  ];
  for (const step of steps) {
    const size = labSize();
    if (size >= step.hosts) continue;
    if (size > 0) {
      const down = Array.from({ length: size }, (_, i) => `h${i + 1}`).filter((h) => !alive(h));
      if (down.length > 0) {
        throw new Error(
          `lab hosts ${down.join(', ')} are down; lab-up.sh would tear the lab down to grow it. Boot them first (test/lab/fault.sh boot HOST).`,
        );
      }
    }
    log(`lab: up to ${step.hosts} hosts${step.docker ? '' : ' (sshd only beyond the docker hosts)'} ...`);
    const args = [
      join(LAB, 'lab-up.sh'),
      '--hosts',
      String(step.hosts),
      ...(step.docker ? [] : ['--no-docker']),
    ];
    must(await run('bash', args, { timeoutSeconds: 1800 }), 'lab-up.sh');
  }
  const hosts = JSON.parse(readFileSync(join(STATE, 'hosts.json'), 'utf8')) as LabHost[];
  const range = (first: number, last: number) => {
    const got = hosts.filter((h) => hostNumber(h.name) >= first && hostNumber(h.name) <= last);
    if (got.length !== last - first + 1)
      throw new Error(`the lab lists ${got.length} of hosts h${first}..h${last}`);
    const down = got.filter((h) => !alive(h.name));
    if (down.length > 0) throw new Error(`lab hosts not running: ${down.map((h) => h.name).join(', ')}`);
    return got;
  };
  const docker = range(FIRST, DOCKER_LAST);
  const noDocker = docker.filter((h) => !hasDocker(h.name));
  if (noDocker.length > 0)
    throw new Error(
      `hosts ${noDocker.map((h) => h.name).join(', ')} have no dockerd; pick another BENCH_FIRST_HOST`,
    );
  return { docker, fleet: range(FLEET_FIRST, FLEET_LAST) };
}

// ---------------------------------------------------------------------------------------------
// Job files for one host set

interface HostSet {
  id: string;
  hosts: LabHost[];
  /** `ps` where dockerd runs; `--version` on sshd-only hosts (the CLI works, there is no daemon). */
  probe: string;
  /** bench_root of each tool's inventory, keyed by the tool's folder name. */
  roots: { drover: string; ansible: string };
  droverInventory: string;
  ansibleInventory: string;
}

function writeInventories(id: string, hosts: LabHost[], probe: string): HostSet {
  const dir = join(OUT, id);
  const roots = { drover: `${BENCH_ROOT}/drover`, ansible: `${BENCH_ROOT}/ansible` };
  mkdirSync(dir, { recursive: true });
  const drover = [
    '# Written by bench/bench.ts',
    'all:',
    '  vars:',
    '    ssh_user: root',
    `    ssh_key: ${JSON.stringify(SSH_KEY)}`,
    `    ssh_known_hosts: ${JSON.stringify(KNOWN_HOSTS)}`,
    `    bench_root: ${roots.drover}`,
    '    consul_dc: lab',
    // The deploy lock and the audit log are real drover work and stay in; they live in the
    // bench's folder so that they never meet those of other runs on the same hosts.
    `    drover_lock_dir: ${roots.drover}/lock`,
    `    drover_audit_log: ${roots.drover}/audit.log`,
    `    docker_probe: ${JSON.stringify(probe)}`,
    '  children:',
    '    bench:',
    '      hosts:',
    ...hosts.map((h) => `        ${h.name}: { address: ${h.address} }`),
  ].join('\n');
  const ansible = [
    '# Written by bench/bench.ts',
    '[bench]',
    ...hosts.map((h) => `${h.name} ansible_host=${h.address}`),
    '',
    '[bench:vars]',
    'ansible_user=root',
    `ansible_ssh_private_key_file=${SSH_KEY}`,
    `ansible_ssh_common_args='-o UserKnownHostsFile=${KNOWN_HOSTS} -o StrictHostKeyChecking=yes'`,
    `bench_root=${roots.ansible}`,
    'consul_dc=lab',
    `docker_probe=${probe}`,
  ].join('\n');
  const droverInventory = join(dir, 'inventory.yaml');
  const ansibleInventory = join(dir, 'inventory.ini');
  writeFileSync(droverInventory, `${drover}\n`);
  writeFileSync(ansibleInventory, `${ansible}\n`);
  return { id, hosts, probe, roots, droverInventory, ansibleInventory };
}

/**
 * Clears what the job wrote, for a cold run: moved aside into TRASH, emptied by emptyTrash() at
 * the end. Deleting it here would slow the run after: for minutes after a deletion, ext4 passes
 * over the freed inodes when it makes new files, so every mkdir of the cold run would pay for the
 * bench's own clean-up. /opt of a lab host is a bind mount of state/hosts/NAME/opt, so this needs
 * no SSH and costs the hosts nothing.
 */
function clean(set: HostSet): void {
  for (const h of set.hosts) {
    const root = join(STATE, 'hosts', h.name, BENCH_ROOT);
    if (!existsSync(root)) continue;
    const trash = join(STATE, 'hosts', h.name, TRASH);
    mkdirSync(trash, { recursive: true });
    renameSync(root, join(trash, String(++trashed)));
  }
}

let trashed = 0;

function emptyTrash(set: HostSet): void {
  for (const h of set.hosts) rmSync(join(STATE, 'hosts', h.name, TRASH), { recursive: true, force: true });
}

/** What a run must have left on every host: the rendered config names the host. */
function checkWritten(set: HostSet, root: string): void {
  for (const h of set.hosts) {
    const file = join(STATE, 'hosts', h.name, root, 'consul', 'config', 'server.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { node_name?: string; retry_join?: string[] };
    if (doc.node_name !== h.name || doc.retry_join?.length !== set.hosts.length) {
      throw new Error(`${h.name}: ${file} is not the rendered config`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The contenders

interface Sample {
  ms: number;
  /** Peak RSS in KiB (drover only). */
  rssKiB?: number;
}

interface Tool {
  id: string;
  label: string;
  /** The tool's bench_root on the hosts, for the check after a cold run; none for the floors. */
  root?: (set: HostSet) => string;
  /** One measured run; throws when the run failed or did not do what the case asks. */
  once(set: HostSet, expect: Expect): Promise<Sample>;
}

/** What the run must report: every host changed (cold), none (nothing to do), or either (warm-up). */
type Expect = 'changes' | 'no-changes' | 'any';

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function droverMain(): string {
  const override = process.env['BENCH_DROVER_MAIN'];
  if (override) return resolve(override);
  if (!existsSync(join(ROOT, 'dist', 'bundle', 'drover.cjs'))) {
    throw new Error(
      'dist/bundle/drover.cjs is missing: run the bench with `npm run bench`, which builds drover first',
    );
  }
  return join(ROOT, 'bin', 'drover.js');
}

/** Peak RSS of a child: GNU time's %M when installed, else VmHWM read from /proc while it runs. */
async function runMeasured(argv: string[], timeoutSeconds: number): Promise<Ran & { rssKiB?: number }> {
  if (GNU_TIME) {
    const file = join(OUT, 'time.out');
    rmSync(file, { force: true });
    const r = await run(GNU_TIME, ['-f', '%M', '-o', file, ...argv], { timeoutSeconds });
    const rss = Number(readFileSync(file, 'utf8').trim().split('\n').pop());
    return { ...r, ...(Number.isFinite(rss) ? { rssKiB: rss } : {}) };
  }
  return run(argv[0] as string, argv.slice(1), { timeoutSeconds });
}

const drover: Tool = {
  id: 'drover',
  label: 'drover',
  root: (set) => set.roots.drover,
  async once(set, expect) {
    const argv = [
      process.execPath,
      droverMain(),
      'run',
      join(JOB, 'drover', 'site.yaml'),
      '-i',
      set.droverInventory,
      '-f',
      String(set.hosts.length),
    ];
    const r = await runMeasured(argv, 300);
    if (r.code !== 0) throw new Error(`drover failed (exit ${r.code}):\n${tail(r.stdout + r.stderr)}`);
    const recap = [...r.stdout.matchAll(/^(h\d+)\s+: ok=\d+\s+changed=(\d+)/gm)];
    if (recap.length !== set.hosts.length)
      throw new Error(`drover: no recap for every host:\n${tail(r.stdout)}`);
    checkChanges('drover', recap, expect, r.stdout);
    return { ms: r.ms, ...(r.rssKiB !== undefined ? { rssKiB: r.rssKiB } : {}) };
  },
};

function checkChanges(who: string, recap: RegExpMatchArray[], expect: Expect, output: string): void {
  const changed = recap.filter((m) => m[2] !== '0').length;
  if (expect === 'changes' && changed !== recap.length)
    throw new Error(`${who}: a cold run changed only ${changed} of ${recap.length} hosts:\n${tail(output)}`);
  if (expect === 'no-changes' && changed !== 0)
    throw new Error(`${who}: a run with nothing to do changed ${changed} hosts:\n${tail(output)}`);
}

const CONTROL_ROOT = join(tmpdir(), `drover-bench-${process.pid}`);

/** Closes the ControlPersist masters Ansible left in a control directory. */
async function closeMasters(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await Promise.all(
    readdirSync(dir).map((s) =>
      run('ssh', ['-o', `ControlPath=${join(dir, s)}`, '-O', 'exit', 'x'], { timeoutSeconds: 10 }),
    ),
  );
}

function ansible(variant: 'best' | 'defaults'): Tool {
  const controlDir = join(CONTROL_ROOT, variant);
  return {
    id: `ansible-${variant}`,
    label: variant === 'best' ? 'Ansible, best' : 'Ansible, defaults',
    root: (set) => set.roots.ansible,
    async once(set, expect) {
      mkdirSync(controlDir, { recursive: true });
      // Defaults: every run is a fresh `ansible-playbook`, so it opens its own connections.
      // Best: the ControlPersist masters of the previous run are still there (the warm-up run
      // opened them), which is Ansible's fastest case.
      if (variant === 'defaults') await closeMasters(controlDir);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ANSIBLE_CONFIG: join(JOB, 'ansible', 'ansible.cfg'),
        ANSIBLE_HOME: join(OUT, 'ansible-home'),
        ANSIBLE_LOCAL_TEMP: join(OUT, 'ansible-tmp'),
        ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
        ANSIBLE_NOCOLOR: '1',
        ...(variant === 'best'
          ? {
              ANSIBLE_FORKS: String(set.hosts.length),
              ANSIBLE_PIPELINING: 'True',
              // Ansible's own ssh_args with a persist time that outlives the slowest round.
              ANSIBLE_SSH_ARGS: '-C -o ControlMaster=auto -o ControlPersist=900s',
            }
          : {}),
      };
      const r = await run(
        'ansible-playbook',
        ['-i', set.ansibleInventory, join(JOB, 'ansible', 'site.yml')],
        { timeoutSeconds: 900, env },
      );
      if (r.code !== 0)
        throw new Error(`${this.label} failed (exit ${r.code}):\n${tail(r.stdout + r.stderr)}`);
      const recap = [...r.stdout.matchAll(/^(h\d+)\s+: ok=\d+\s+changed=(\d+)/gm)];
      if (recap.length !== set.hosts.length)
        throw new Error(`${this.label}: no recap for every host:\n${tail(r.stdout)}`);
      checkChanges(this.label, recap, expect, r.stdout);
      return { ms: r.ms };
    },
  };
}

/** One `true` per host over fresh connections: ssh2 (bench/floor.mjs) and OpenSSH's ssh. */
const floorSsh2: Tool = {
  id: 'floor-ssh2',
  label: 'floor: ssh2 (node), one `true` per host',
  async once(set) {
    const r = await run(
      process.execPath,
      [join(BENCH, 'floor.mjs'), SSH_KEY, KNOWN_HOSTS, ...set.hosts.map((h) => h.address)],
      { timeoutSeconds: 120 },
    );
    must(r, 'floor.mjs');
    return { ms: r.ms };
  },
};

const floorOpenSsh: Tool = {
  id: 'floor-openssh',
  label: 'floor: OpenSSH `ssh`, one `true` per host',
  async once(set) {
    const started = performance.now();
    const all = await Promise.all(
      set.hosts.map((h) =>
        run('ssh', ['-F', SSH_CONFIG, '-o', 'ControlMaster=no', '-o', 'ControlPath=none', h.name, 'true'], {
          timeoutSeconds: 120,
        }),
      ),
    );
    const ms = performance.now() - started;
    const bad = all.find((r) => r.code !== 0);
    if (bad) must(bad, 'ssh true');
    return { ms };
  },
};

// ---------------------------------------------------------------------------------------------
// Cases

interface CaseDef {
  id: string;
  title: string;
  set: HostSet;
  expect: Expect;
  runs: number;
  tools: Tool[];
}

interface CaseResult {
  id: string;
  title: string;
  hosts: number;
  runs: number;
  samples: Record<string, Sample[]>;
}

async function runCase(c: CaseDef): Promise<CaseResult> {
  log(`\n== ${c.title}: ${c.set.hosts.length} hosts, ${c.runs} runs each`);
  const samples: Record<string, Sample[]> = {};
  const prepare = async () => {
    if (c.expect === 'changes') clean(c.set);
    // Let the hosts' page cache and the previous run's exiting processes settle.
    await sleep(300);
  };
  // One unmeasured run each: warms the page cache and Python's bytecode, opens the masters of
  // "Ansible, best", and for the no-change case puts the files in place.
  for (const t of c.tools) {
    await prepare();
    await t.once(c.set, c.expect === 'changes' ? 'changes' : 'any');
  }
  for (let round = 0; round < c.runs; round++) {
    // Rotate the order so that no tool always runs right after the same other one.
    const order = c.tools.map((_, i) => c.tools[(i + round) % c.tools.length] as Tool);
    const line: string[] = [];
    for (const t of order) {
      await prepare();
      const s = await t.once(c.set, c.expect);
      if (c.expect === 'changes' && t.root) checkWritten(c.set, t.root(c.set));
      (samples[t.id] ??= []).push(s);
      line.push(`${t.id} ${(s.ms / 1000).toFixed(2)}s`);
    }
    log(`  round ${round + 1}/${c.runs}: ${line.join(', ')}`);
  }
  return { id: c.id, title: c.title, hosts: c.set.hosts.length, runs: c.runs, samples };
}

// ---------------------------------------------------------------------------------------------
// Report

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const times = (x: number) => `${x.toFixed(1)}x`;

interface Verdict {
  text: string;
  ok: boolean;
}

function report(results: CaseResult[], env: Record<string, string>, tools: Tool[]): string {
  const label = new Map(tools.map((t) => [t.id, t.label]));
  const out: string[] = [];
  const verdicts: Verdict[] = [];
  out.push('# drover vs Ansible on the lab');
  out.push('');
  out.push(
    'Written by `npm run bench` (bench/bench.ts); do not edit by hand. Every figure is wall time from',
  );
  out.push('process start to exit, on the same hosts, in the same run, tools interleaved round by round.');
  out.push('');
  out.push(
    'The job, per host (bench/job/): create two directories, render a JSON config from a template and',
  );
  out.push(
    "write it, run `docker ps` (`docker --version` on the fleet's sshd-only hosts, which have no daemon).",
  );
  out.push("drover's time includes its real work around a run: the deploy lock on the first host and the");
  out.push('audit log line on every changed host. drover runs with `-f` equal to the host count.');
  out.push('');
  out.push(
    '- **Ansible, best**: forks = host count, pipelining on, ControlPersist masters kept warm from the',
  );
  out.push('  previous run (an unmeasured warm-up run opens them).');
  out.push("- **Ansible, defaults**: forks 5, no pipelining, Ansible's ssh_args; every run opens its own");
  out.push('  connections. Both use bench/job/ansible/ansible.cfg (python3 named, host keys checked).');
  out.push(
    '- **floor**: one `true` per host over fresh SSH connections, all hosts at once, as a whole process:',
  );
  out.push(
    '  with ssh2 (the SSH library drover uses, bench/floor.mjs) and with OpenSSH `ssh` processes. The',
  );
  out.push('  floor is the faster of the two.');
  out.push('- Cold runs start from nothing on the hosts: before each one the bench moves what the job');
  out.push('  wrote aside, and deletes it only at the end (ext4 makes new files slowly for minutes after');
  out.push('  a deletion, which would charge the clean-up to the tools). The no-change runs find');
  out.push('  everything in place.');
  out.push('');
  out.push('| machine | |');
  out.push('| --- | --- |');
  for (const [k, v] of Object.entries(env)) out.push(`| ${k} | ${v} |`);
  out.push('');
  for (const r of results) {
    const d = r.samples['drover'];
    const dMed = d ? median(d.map((s) => s.ms)) : NaN;
    const floors = ['floor-ssh2', 'floor-openssh'].filter((id) => r.samples[id]);
    const floorMed =
      floors.length > 0
        ? Math.min(...floors.map((id) => median((r.samples[id] ?? []).map((s) => s.ms))))
        : NaN;
    out.push(`## ${r.title}`);
    out.push('');
    out.push(`${r.hosts} hosts, ${r.runs} measured runs per row.`);
    out.push('');
    out.push('| | median | min | max | vs drover | drover peak RSS |');
    out.push('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [id, ss] of Object.entries(r.samples)) {
      const ms = ss.map((s) => s.ms);
      const med = median(ms);
      const rel =
        id === 'drover'
          ? '1.0x'
          : id.startsWith('floor')
            ? `${times(dMed / med)} (drover/floor)`
            : `**${times(med / dMed)}** slower`;
      const rss = ss.map((s) => s.rssKiB).filter((x): x is number => x !== undefined);
      const rssText = rss.length > 0 ? `${(Math.max(...rss) / 1024).toFixed(0)} MiB (max of runs)` : '';
      out.push(
        `| ${label.get(id) ?? id} | ${sec(med)} | ${sec(Math.min(...ms))} | ${sec(Math.max(...ms))} | ${rel} | ${rssText} |`,
      );
    }
    out.push('');
    const best = r.samples['ansible-best'];
    if (best && d) {
      const ratio = median(best.map((s) => s.ms)) / dMed;
      verdicts.push({
        text: `${r.title}: Ansible (best) / drover = ${times(ratio)} (target at least 5x)`,
        ok: ratio >= 5,
      });
    }
    if (d && Number.isFinite(floorMed)) {
      const ratio = dMed / floorMed;
      verdicts.push({
        text: `${r.title}: drover / floor = ${times(ratio)} (target at most 2x)`,
        ok: ratio <= 2,
      });
    }
    if (d && r.id === 'fleet') {
      const rss = Math.max(...d.map((s) => s.rssKiB ?? 0)) / 1024;
      verdicts.push({
        text: `${r.title}: drover peak RSS ${rss.toFixed(0)} MiB (target under 200 MiB)`,
        ok: rss > 0 && rss < 200,
      });
    }
  }
  out.push('## Targets');
  out.push('');
  for (const v of verdicts) out.push(`- ${v.ok ? 'met' : '**missed**'}: ${v.text}`);
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the lab needs root');
  mkdirSync(OUT, { recursive: true });
  const droverEntry = droverMain();
  const ansibleVersion = await ensureAnsible();
  const { docker: dockerHosts, fleet: fleetHosts } = await ensureLab();
  const fleetWithDocker = fleetHosts.filter((h) => hasDocker(h.name)).length;
  const docker = writeInventories('docker', dockerHosts, 'ps');
  const fleet = writeInventories('fleet', fleetHosts, '--version');
  const ansibleTools = [ansible('best'), ...(WITH_DEFAULTS ? [ansible('defaults')] : [])];
  const all = [drover, ...ansibleTools, floorSsh2, floorOpenSsh];
  const cases: CaseDef[] = [];
  const span = (s: HostSet) => `${s.hosts[0]?.name}..${s.hosts[s.hosts.length - 1]?.name}`;
  if (CASES.includes('cold8'))
    cases.push({
      id: 'cold8',
      title: `${DOCKER_N} docker hosts, cold (${span(docker)})`,
      set: docker,
      expect: 'changes',
      runs: RUNS,
      tools: all,
    });
  if (CASES.includes('noop8'))
    cases.push({
      id: 'noop8',
      title: `${DOCKER_N} docker hosts, nothing to change`,
      set: docker,
      expect: 'no-changes',
      runs: RUNS,
      tools: all,
    });
  if (CASES.includes('fleet'))
    cases.push({
      id: 'fleet',
      title: `${FLEET_N} ${fleetWithDocker === 0 ? 'sshd-only ' : ''}hosts, cold (${span(fleet)}${fleetWithDocker > 0 ? `, ${fleetWithDocker} of them also run an idle dockerd` : ''})`,
      set: fleet,
      expect: 'changes',
      runs: FLEET_RUNS,
      tools: all,
    });
  const ssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  const env: Record<string, string> = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    CPUs: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    'load average at start': loadavg()
      .map((x) => x.toFixed(2))
      .join(', '),
    node: process.version,
    drover: droverEntry.startsWith(ROOT) ? droverEntry.slice(ROOT.length + 1) : droverEntry,
    Ansible: ansibleVersion,
    OpenSSH: (ssh.stderr || ssh.stdout).trim(),
  };
  const results: CaseResult[] = [];
  try {
    for (const c of cases) results.push(await runCase(c));
  } finally {
    await Promise.all(
      ansibleTools.map((t) => closeMasters(join(CONTROL_ROOT, t.id.replace('ansible-', '')))),
    );
    rmSync(CONTROL_ROOT, { recursive: true, force: true });
    for (const set of [docker, fleet]) {
      clean(set);
      emptyTrash(set);
    }
  }
  env['load average at end'] = loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  writeFileSync(join(OUT, 'results.json'), `${JSON.stringify({ env, results }, null, 2)}\n`);
  const md = report(results, env, all);
  writeFileSync(RESULTS_MD, md);
  process.stdout.write(`${md}\n`);
  log(`written: ${RESULTS_MD}`);
}

/** Ctrl-C: no ControlPersist master of Ansible's outlives the bench. */
function onSignal(signal: NodeJS.Signals): void {
  for (const variant of ['best', 'defaults']) {
    const dir = join(CONTROL_ROOT, variant);
    if (!existsSync(dir)) continue;
    for (const sock of readdirSync(dir)) {
      spawnSync('ssh', ['-o', `ControlPath=${join(dir, sock)}`, '-O', 'exit', 'x'], {
        stdio: 'ignore',
        timeout: 5000,
      });
    }
  }
  rmSync(CONTROL_ROOT, { recursive: true, force: true });
  log(`bench: stopped by ${signal}`);
  process.exit(130);
}
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

main().catch((err: unknown) => {
  log(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
