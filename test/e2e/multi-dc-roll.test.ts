/**
 * A rolling restart of two datacenters in one inventory, end to end on the lab: east and west
 * with 3 servers and a client each. `drover restart` goes datacenter by datacenter (east's
 * followers, east's leader, then west's), each server judged against its own datacenter, while
 * a watcher polling every server from this machine never sees fewer than 2 servers of a
 * datacenter answering; verify passes afterwards, and both datacenters' deploy locks are free.
 * Hosts come from pickHosts() (LAB_FIRST_HOST moves them while developing).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pickHosts, ssh, sshOk } from '../lab/lab.js';
import {
  cleanUp,
  drover,
  leaderHost,
  restartedLine,
  startedAt,
  twoDatacenterGroups,
  watchServers,
  writeInventory,
} from './drover-cli.js';

/** Short gates and SSH timeouts: a failing gate must end a test in seconds, not minutes. */
const VARS = { ssh_connect_timeout: 3, consul_server_gate_timeout: 30, consul_client_gate_timeout: 30 };

describe('a rolling restart of two datacenters', () => {
  const hosts = pickHosts(8);
  const east = hosts.slice(0, 3);
  const west = hosts.slice(3, 6);
  const eastClient = hosts[6]!;
  const westClient = hosts[7]!;
  const servers = [...east, ...west];
  let inv = '';

  before(async () => {
    await cleanUp(hosts);
    inv = writeInventory(
      twoDatacenterGroups({ east, west, eastClients: [eastClient], westClients: [westClient] }),
      VARS,
    );
    const r = await drover(['deploy', '-i', inv], 240);
    assert.equal(r.code, 0, `deploy: ${r.stdout}${r.stderr}`);
  });
  after(async () => {
    if (inv) rmSync(join(inv, '..'), { recursive: true, force: true });
    await cleanUp(hosts);
  });

  it('--check orders east then west, each leader last', async () => {
    const [eastLeader, westLeader] = [await leaderHost(east), await leaderHost(west)];
    const r = await drover(['restart', '-i', inv, '--check']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const order = restartedLine(r.stdout);
    assert.deepEqual(order.slice(0, 3).sort(), east.map((h) => h.name).sort(), r.stdout);
    assert.equal(order[2], eastLeader.name);
    assert.equal(order[5], westLeader.name);
    assert.match(
      r.stdout,
      new RegExp(`consul_leader_last: leaders east ${eastLeader.name} \\(\\S+\\), west ${westLeader.name} `),
    );
  });

  it('restarts DC by DC, followers first and each leader last, never below 2 servers of a DC', async () => {
    const [eastLeader, westLeader] = [await leaderHost(east), await leaderHost(west)];
    const before = await startedAt(hosts);
    const watcher = watchServers(servers, 400, [east, west]);
    const r = await drover(['restart', '-i', inv], 400);
    const seen = await watcher.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(seen.rounds > 10, `the watcher polled ${seen.rounds} times`);
    // The watcher may or may not catch a server mid-restart; it must never see two of a DC down.
    assert.ok(
      seen.fewestPer.every((n) => n >= 2),
      `fewest servers answering per datacenter: ${seen.fewestPer.join(', ')}`,
    );

    const batches = [...r.stdout.matchAll(/^BATCH \d+\/6: (\S+)$/gm)].map((m) => m[1]);
    assert.equal(batches.length, 6, r.stdout);
    const eastFollowers = east.filter((h) => h !== eastLeader).map((h) => h.name);
    const westFollowers = west.filter((h) => h !== westLeader).map((h) => h.name);
    assert.deepEqual(batches, [...eastFollowers, eastLeader.name, ...westFollowers, westLeader.name]);
    assert.deepEqual(restartedLine(r.stdout), [...batches, eastClient.name, westClient.name]);

    const afterStart = await startedAt(hosts);
    for (const h of hosts) assert.notEqual(afterStart[h.name], before[h.name], `${h.name} was not restarted`);
    assert.match(r.stdout, /ok: \[\w+\] cluster is healthy/);

    const v = await drover(['verify', '-i', inv]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /^WAN OK: /m);
    assert.match(v.stdout, /^Deployment OK\.$/m);
  });

  it('lock status shows a free lock per datacenter after the roll', async () => {
    const r = await drover(['lock', 'status', '-i', inv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^deploy lock of datacenter east on ${east[0]!.name}: free$`, 'm'));
    assert.match(r.stdout, new RegExp(`^deploy lock of datacenter west on ${west[0]!.name}: free$`, 'm'));
  });

  it("west's lock held by another run keeps a roll out (exit 6), and east's lock is not left taken", async () => {
    const west0 = west[0]!.name;
    const details = JSON.stringify({
      token: 'f'.repeat(32),
      user: 'alice',
      host: 'ci-7',
      command: 'drover deploy -i other.yaml',
      drover_version: '0.1.0',
      pid: 4242,
      acquired_at: new Date().toISOString(),
    });
    await sshOk(
      west0,
      `mkdir -p /var/lib/drover/lock && printf '%s' '${details}' > /var/lib/drover/lock/details`,
    );
    try {
      const before = await startedAt(hosts);
      const r = await drover(['restart', '-i', inv]);
      assert.equal(r.code, 6, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `deploy lock on ${west0} \\(/var/lib/drover/lock\\) is held by alice@ci-7 for \\d+s: drover deploy -i other\\.yaml`,
        ),
      );
      assert.deepEqual(await startedAt(hosts), before, 'nothing may be restarted');
      const status = await drover(['lock', 'status', '-i', inv]);
      assert.match(
        status.stdout,
        new RegExp(`^deploy lock of datacenter east on ${east[0]!.name}: free$`, 'm'),
      );
      assert.match(
        status.stdout,
        new RegExp(`^deploy lock of datacenter west on ${west0} \\(\\S+\\): held by alice@ci-7`, 'm'),
      );
      const release = await drover(['lock', 'release', '-i', inv, '--yes']);
      assert.equal(release.code, 0, release.stdout + release.stderr);
      assert.match(
        release.stdout,
        new RegExp(`^deploy lock of datacenter east on ${east[0]!.name}: already free$`, 'm'),
      );
      assert.match(
        release.stdout,
        new RegExp(`^deploy lock of datacenter west on ${west0} released \\(was held by alice@ci-7`, 'm'),
      );
    } finally {
      await ssh(west0, 'rm -rf /var/lib/drover/lock');
    }
  });
});
