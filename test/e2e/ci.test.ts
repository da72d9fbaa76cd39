/**
 * drover in CI pipelines, on the lab: the deploy lock under concurrent runs, Ctrl-C, stale
 * locks, the audit log, and machine-readable output that validates and agrees with the recap.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schemaValidator } from '../../src/config/schema.js';
import { childrenNamed, parseXml } from '../report/mini-xml.js';
import { pickHosts, SSH_KEY, ssh, sshOk, waitFor, type LabHost } from '../lab/lab.js';
import { drover, ROOT, writeLabInventory } from './drover-cli.js';

const LOCK = '/var/lib/drover/lock';
const ANSI = /\x1b\[/;

interface Running {
  child: ReturnType<typeof spawn>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts drover without waiting for it, so a test can interrupt or race it. */
function start(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'drover.js'), ...args], {
    env: { ...process.env, CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done };
}

describe('drover in CI', () => {
  let servers: LabHost[], clients: LabHost[], inventory: string, dir: string;
  const lockHeld = async () => (await ssh(servers[0]!.name, `test -d ${LOCK}`)).code === 0;

  before(async () => {
    const hosts = pickHosts(5);
    servers = hosts.slice(0, 3);
    clients = hosts.slice(3);
    for (const h of hosts)
      await ssh(
        h.name,
        'docker rm -f consul >/dev/null 2>&1; rm -rf /opt/platform /var/lib/drover /var/log/drover',
      );
    inventory = writeLabInventory({ servers, clients });
    dir = mkdtempSync(join(tmpdir(), 'drover-ci-'));
  });
  after(async () => {
    // Runs killed mid-way here may leave any container behind (a validation container created
    // and never started among them), not only the agent: later tests expect bare hosts.
    for (const h of [...servers, ...clients])
      await ssh(
        h.name,
        'ids=$(docker ps -aq); [ -z "$ids" ] || docker rm -f $ids >/dev/null; rm -rf /opt/platform /var/lib/drover /var/log/drover',
      );
  });

  it('two deploys started at once: exactly one proceeds, the other exits 6 naming the holder', async () => {
    const runs = ['a', 'b'].map((n) =>
      start([
        'deploy',
        '-i',
        inventory,
        '-o',
        'json',
        '--events',
        join(dir, `${n}.ndjson`),
        '--junit',
        join(dir, `${n}.xml`),
      ]),
    );
    const [a, b] = await Promise.all(runs.map((r) => r.done));
    const codes = [a!.code, b!.code].sort();
    assert.deepEqual(codes, [0, 6], `exit codes ${a!.code} and ${b!.code}\n${a!.stderr}\n${b!.stderr}`);
    const loser = a!.code === 6 ? a! : b!;
    assert.match(
      loser.stderr,
      /deploy lock on \S+ \(\/var\/lib\/drover\/lock\) is held by root@\S+ for \d+s: drover deploy -i /,
    );
    assert.equal(JSON.parse(loser.stdout).status, 'lock_held');
    assert.equal(await lockHeld(), false, 'the winner released the lock');
    for (const r of [a!, b!]) {
      assert.doesNotMatch(r.stdout, ANSI);
      assert.doesNotMatch(r.stderr, ANSI);
    }
  });

  it('--lock-wait waits for the holder; inventory, key and forks can come from the environment', async () => {
    // A restart-class change: the first run rolls every agent, which holds the lock a while.
    const slow = writeLabInventory({ servers, clients, vars: { consul_retry_interval: '3s' } });
    const first = start(['deploy', '-i', slow]);
    await waitFor('the first deploy to take the lock', 60, lockHeld);
    // The second run names no inventory and no key: CI passes them in the environment.
    const keyless = join(dir, 'keyless.yaml');
    writeFileSync(keyless, readFileSync(inventory, 'utf8').replace(/^\s*ssh_key: .*\n/m, ''));
    const second = start(['deploy', '--lock-wait', '120'], {
      DROVER_INVENTORY: keyless,
      DROVER_SSH_KEY: SSH_KEY,
      DROVER_FORKS: '2',
    });
    const [a, b] = await Promise.all([first.done, second.done]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stderr, /waiting for the deploy lock \(\d+s\): held by root@/);
    assert.equal(await lockHeld(), false);
  });

  it('writes --events and --junit that validate against their schemas and agree with the recap', async () => {
    const winner =
      existsSync(join(dir, 'a.xml')) && readFileSync(join(dir, 'a.ndjson'), 'utf8').includes('"task_end"')
        ? 'a'
        : 'b';
    const events = readFileSync(join(dir, `${winner}.ndjson`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const validateEvent = schemaValidator('events.schema.json');
    for (const e of events)
      assert.ok(validateEvent(e), `${JSON.stringify(e)}: ${JSON.stringify(validateEvent.errors)}`);
    const end = events.at(-1)!;
    assert.equal(end['event'], 'run_end');
    assert.equal(end['status'], 'ok');

    const recapRun = await drover([
      'deploy',
      '-i',
      inventory,
      '-o',
      'json',
      '--junit',
      join(dir, 'again.xml'),
    ]);
    assert.equal(recapRun.code, 0, recapRun.stderr);
    const recap = JSON.parse(recapRun.stdout) as {
      hosts: Record<string, { ok: number; changed: number; skipped: number; failed: number }>;
    };
    assert.ok(schemaValidator('recap.schema.json')(recap));
    const xml = parseXml(readFileSync(join(dir, 'again.xml'), 'utf8'));
    const suites = childrenNamed(xml, 'testsuite');
    assert.deepEqual(suites.map((s) => s.attrs['name']).sort(), Object.keys(recap.hosts).sort());
    for (const s of suites) {
      const h = recap.hosts[s.attrs['name']!]!;
      assert.equal(Number(s.attrs['tests']), h.ok + h.failed + h.skipped, `testcases of ${s.attrs['name']}`);
      assert.equal(Number(s.attrs['failures']), h.failed);
    }
  });

  it('a deploy interrupted with SIGINT exits 130, releases the lock, and a following deploy runs', async () => {
    const events = join(dir, 'sigint.ndjson');
    const edited = writeLabInventory({ servers, clients, vars: { consul_log_level: 'debug' } });
    const run = start(['deploy', '-i', edited, '--events', events]);
    await waitFor(
      'the deploy to reach its agent config task',
      60,
      async () =>
        existsSync(events) &&
        /"event":"task_start"[^\n]*"task":"agent config"/.test(readFileSync(events, 'utf8')),
    );
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /PLAY RECAP/);
    assert.equal(await lockHeld(), false, 'the lock is released on Ctrl-C');
    const next = await drover(['deploy', '-i', edited]);
    assert.equal(next.code, 0, next.stdout + next.stderr);
  });

  it('reports a lock left by a killed run with its age, and releases it only with confirmation', async () => {
    const run = start(['deploy', '-i', inventory]);
    await waitFor('the lock to be taken', 60, lockHeld);
    run.child.kill('SIGKILL');
    await run.done;
    const status = await drover(['lock', 'status', '-i', inventory]);
    assert.equal(status.code, 0);
    assert.match(status.stdout, /held by root@\S+ for \d+s: drover deploy -i /);
    const blocked = await drover(['deploy', '-i', inventory]);
    assert.equal(blocked.code, 6);
    const noTty = await drover(['lock', 'release', '-i', inventory]);
    assert.equal(noTty.code, 64);
    assert.match(noTty.stderr, /needs confirmation.*--yes/);
    assert.equal(await lockHeld(), true);
    const released = await drover(['lock', 'release', '-i', inventory, '--yes']);
    assert.equal(released.code, 0, released.stderr);
    assert.equal(await lockHeld(), false);
  });

  it('keeps an audit line on every host a run changed', async () => {
    const r = await drover(['audit', '-i', inventory, '-n', '50']);
    assert.equal(r.code, 0, r.stderr);
    for (const h of [...servers, ...clients]) {
      assert.match(
        r.stdout,
        new RegExp(`^${h.name}\\s+\\S+Z root@\\S+ ok: drover deploy -i .*changed: .*agent config`, 'm'),
      );
    }
    const raw = await sshOk(servers[0]!.name, 'cat /var/log/drover/audit.log');
    for (const line of raw.trim().split('\n'))
      assert.ok(JSON.parse(line).command.startsWith('drover deploy'));
  });
});
