/**
 * `drover exec` and `drover logs` against real hosts and real agent containers on the lab: a
 * command on a pattern at once with each host's output and exit code, in the agent container
 * (`consul ...` with the ACL token path), secrets scrubbed from what hosts print, `--changes`
 * audited, an unreachable host; the agents' logs merged in time order, filtered, and followed
 * until Ctrl-C, which leaves no `docker logs` behind on the hosts.
 *
 * Uses pickHosts(): h1.. in CI, LAB_FIRST_HOST=8 while developing beside someone else's tests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fault, pickHosts, ssh, sshOk, waitFor } from '../lab/lab.js';
import { cleanUp, drover, ROOT, writeLabInventory } from './drover-cli.js';

describe('drover exec and logs on the lab', () => {
  const hosts = pickHosts(3);
  const servers = hosts.slice(0, 1);
  const clients = hosts.slice(1);
  const inventory = writeLabInventory({ servers, clients, vars: { ssh_connect_timeout: 3 } });
  const names = hosts.map((h) => h.name);

  before(async () => {
    await cleanUp(hosts);
    const r = await drover(['deploy', '-i', inventory], 120);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(() => cleanUp(hosts));

  it('exec runs on every host of the pattern; each line carries its host, the recap each exit code', async () => {
    const r = await drover(['exec', '-i', inventory, 'all', '--', 'hostname']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const n of names) assert.match(r.stdout, new RegExp(`^${n} \\| ${n}$`, 'm'));
    assert.match(r.stdout, /^EXEC RECAP$/m);
    for (const n of names) assert.match(r.stdout, new RegExp(`^${n} +exit 0$`, 'm'));

    const one = hosts[1]!.name;
    const failing = await drover([
      'exec',
      '-i',
      inventory,
      'all',
      '-o',
      'json',
      '--',
      'sh',
      '-c',
      `test "$(hostname)" != ${one}`,
    ]);
    assert.equal(failing.code, 2, failing.stdout + failing.stderr);
    const json = JSON.parse(failing.stdout) as { hosts: Record<string, { rc: number }>; exit: number };
    assert.deepEqual(
      Object.fromEntries(Object.entries(json.hosts).map(([h, v]) => [h, v.rc])),
      Object.fromEntries(names.map((n) => [n, n === one ? 1 : 0])),
    );
  });

  it('--container runs in the agent container: consul members from the servers', async () => {
    const r = await drover(['exec', '-i', inventory, 'servers', '--container', '--', 'consul', 'members']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const n of names) assert.match(r.stdout, new RegExp(`^${servers[0]!.name} \\| ${n} .* alive `, 'm'));
  });

  it('scrubs the inventory’s secrets from what hosts print; --changes takes the lock and audits', async () => {
    const key = readFileSync(join(dirname(inventory), 'inventory.gossip.key'), 'utf8').trim();
    const r = await drover([
      'exec',
      '-i',
      inventory,
      clients[0]!.name,
      '--',
      'cat',
      '/opt/platform/consul/config/consul.json',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /"encrypt"/);
    assert.ok(!r.stdout.includes(key), 'the gossip key was printed');

    const before = (await ssh(clients[1]!.name, 'wc -l < /var/log/drover/audit.log')).stdout.trim();
    const c = await drover([
      'exec',
      '-i',
      inventory,
      clients[1]!.name,
      '--changes',
      '--',
      'touch',
      '/tmp/drover-exec',
    ]);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const last = JSON.parse(await sshOk(clients[1]!.name, 'tail -n 1 /var/log/drover/audit.log')) as {
      changed: string[];
    };
    assert.deepEqual(last.changed, ['exec: touch /tmp/drover-exec']);
    assert.notEqual((await ssh(clients[1]!.name, 'wc -l < /var/log/drover/audit.log')).stdout.trim(), before);
  });

  it('a host that cannot be reached is exit 4, the others still answer', async () => {
    const gone = clients[1]!;
    await fault('partition', gone.name);
    try {
      const r = await drover(['exec', '-i', inventory, 'all', '--', 'true'], 60);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^${gone.name} +unreachable: `, 'm'));
      assert.match(r.stdout, new RegExp(`^${servers[0]!.name} +exit 0$`, 'm'));
    } finally {
      await fault('heal', gone.name);
    }
  });

  it('logs merges the agents’ logs in time order, each line with its host; --grep and --since filter', async () => {
    const r = await drover(['logs', '-i', inventory, '--lines', '20']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    const seen = new Set(lines.map((l) => l.split(' | ', 1)[0]!.trim()));
    assert.deepEqual([...seen].sort(), [...names].sort(), 'every host’s log is there');
    // The agents stamp their own lines too: merged by docker's stamps, theirs run forward.
    const stamps = lines
      .map((l) => Date.parse(/\| (\S+Z) \[/.exec(l)?.[1] ?? ''))
      .filter((t) => !Number.isNaN(t));
    assert.ok(stamps.length > 10, r.stdout);
    for (let i = 1; i < stamps.length; i++)
      assert.ok(stamps[i]! >= stamps[i - 1]! - 50, `line ${i} goes back in time:\n${lines.join('\n')}`);

    const grep = await drover(['logs', '-i', inventory, '--grep', '\\[INFO\\]']);
    assert.equal(grep.code, 0);
    assert.ok(
      grep.stdout
        .trimEnd()
        .split('\n')
        .every((l) => l.includes('[INFO]')),
    );
    const none = await drover(['logs', '-i', inventory, '--since', '2099-01-01']);
    assert.equal(none.stdout, '');
    assert.equal((await drover(['logs', '-i', inventory, '--since', 'yesterday'])).code, 64);
  });

  it('logs -f follows new lines of every host until Ctrl-C, and leaves nothing running on the hosts', async () => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'drover.js'), 'logs', '-i', inventory, '-f', '--lines', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitFor(
        'the streams to open',
        20,
        async () => (await ssh(hosts[2]!.name, 'pgrep -f "docker logs"')).code === 0,
      );
      for (const h of hosts) await sshOk(h.name, 'docker exec consul consul reload');
      await waitFor('a reload line of every host', 20, async () =>
        names.every((n) => new RegExp(`^${n} +\\| .*[Rr]eload`, 'm').test(out)),
      );
    } finally {
      child.kill('SIGINT');
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await closed;
    clearTimeout(timer);
    assert.equal(code, 0, out);
    for (const h of hosts)
      await waitFor(
        `no docker logs left on ${h.name}`,
        10,
        async () => (await ssh(h.name, 'pgrep -f "docker logs"')).code !== 0,
      );
  });
});
