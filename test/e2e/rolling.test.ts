/**
 * `drover restart` and `drover upgrade` end to end on the lab: quorum-safe rolls of a real
 * Consul (stand-in) cluster over SSH and Docker, watched from outside while they run, plus the
 * refusals: an image older than the running agents (a deploy, plan or upgrade back after an
 * upgrade), a crashed server before the roll, a crashed server during it.
 *
 * Uses pickHosts(): h1.. in CI, LAB_FIRST_HOST=8 while developing beside someone else's tests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  CONSUL_IMAGE,
  CONSUL_IMAGE_NEXT,
  fault,
  pickHosts,
  ssh,
  sshOk,
  waitFor,
  type LabHost,
} from '../lab/lab.js';
import {
  cleanUp,
  drover,
  leaderHost,
  restartedLine,
  ROOT,
  startedAt,
  watchServers,
  writeLabInventory,
} from './drover-cli.js';

/** Short gates and SSH timeouts: a failing gate must end a test in seconds, not minutes. */
const VARS = { ssh_connect_timeout: 3, consul_server_gate_timeout: 20, consul_client_gate_timeout: 20 };

const imageOf = async (h: LabHost): Promise<string> =>
  (await sshOk(h.name, "docker inspect -f '{{.Config.Image}}' consul")).trim();

async function deploy(inventory: string): Promise<void> {
  const r = await drover(['deploy', '-i', inventory], 120);
  assert.equal(r.code, 0, `deploy: ${r.stdout}${r.stderr}`);
}

/** Runs drover and lets the test act when its output first matches `when` (bounded by timeoutSeconds). */
function droverWatching(args: string[], when: RegExp, act: () => Promise<void>, timeoutSeconds = 120) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'drover.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let acted: Promise<void> | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!acted && when.test(out)) acted = act();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', async (code) => {
      clearTimeout(timer);
      await acted;
      resolve({ code, out });
    });
  });
}

describe('quorum-safe rolling restarts and upgrades on the lab', () => {
  const hosts = pickHosts(5);
  const servers = hosts.slice(0, 3);
  const clients = hosts.slice(3, 5);
  const inventory = writeLabInventory({ servers, clients, vars: VARS });

  before(async () => {
    await cleanUp(hosts);
    await deploy(inventory);
  });
  after(() => cleanUp(hosts));

  it('--check prints the order (leader last) and the gates, and restarts nothing', async () => {
    const before = await startedAt(hosts);
    const leader = await leaderHost(servers);
    const r = await drover(['restart', '-i', inventory, '--check']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const order = restartedLine(r.stdout);
    assert.deepEqual(order.slice(0, 3).at(-1), leader.name, r.stdout);
    assert.deepEqual([...order].sort(), hosts.map((h) => h.name).sort());
    assert.match(r.stdout, /^gates: pre-flight/m);
    assert.match(r.stdout, new RegExp(`consul_leader_last: leader ${leader.name} `));
    assert.match(r.stdout, /ok: \[\w+\] server is back/);
    assert.deepEqual(await startedAt(hosts), before, '--check must not restart anything');
  });

  it('restarts 3 servers + 2 clients: never fewer than two servers answering, the old leader last', async () => {
    const oldLeader = await leaderHost(servers);
    const before = await startedAt(hosts);
    const watcher = watchServers(servers);
    const r = await drover(['restart', '-i', inventory, '--serial', '50%'], 180);
    const seen = await watcher.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(seen.rounds > 10, `the watcher polled ${seen.rounds} times`);
    assert.ok(seen.fewest >= 2, `only ${seen.fewest} server(s) answered at one point`);
    const order = restartedLine(r.stdout);
    assert.equal(order.length, 5, r.stdout);
    assert.equal(order[2], oldLeader.name, `servers restarted in order ${order.join(', ')}`);
    // The leader hands over before its restart: no election waits for a heartbeat timeout (1 s
    // in the lab, consul_raft_multiplier 1).
    assert.match(r.stdout, new RegExp(`changed: \\[${oldLeader.name}\\] leadership moves away`));
    assert.ok(seen.longestLeaderlessMs < 500, `no leader for ${seen.longestLeaderlessMs} ms`);
    const afterStart = await startedAt(hosts);
    for (const h of hosts) assert.notEqual(afterStart[h.name], before[h.name], `${h.name} was not restarted`);
    assert.match(r.stdout, /ok: \[\w+\] cluster is healthy/);
  });

  it('--limit restarts only that server, still through the pre-flight and the gates', async () => {
    const target = servers[1]!;
    const before = await startedAt(hosts);
    const r = await drover(['restart', '-i', inventory, '--limit', target.name]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`ok: \\[${target.name}\\] cluster is healthy before the roll`));
    assert.match(r.stdout, new RegExp(`ok: \\[${target.name}\\] server is back`));
    const afterStart = await startedAt(hosts);
    for (const h of hosts) {
      if (h === target) assert.notEqual(afterStart[h.name], before[h.name]);
      else assert.equal(afterStart[h.name], before[h.name], `${h.name} must not be restarted`);
    }
  });

  it('upgrades every container to the second image tag, pulling first, and the cluster verifies', async () => {
    const r = await drover(['upgrade', '-i', inventory, '--image', CONSUL_IMAGE_NEXT], 180);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // Every pull happens before the first agent is recreated.
    assert.ok(r.stdout.indexOf('TASK [image]') < r.stdout.indexOf('restart consul on the new image'));
    for (const h of hosts) assert.equal(await imageOf(h), CONSUL_IMAGE_NEXT, `${h.name} image`);
    const v = await drover(['verify', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    // The line the inventory needs now, exactly.
    assert.match(
      r.stdout,
      new RegExp(`^  consul_image: ${JSON.stringify(CONSUL_IMAGE_NEXT).replace(/[.]/g, '\\.')}$`, 'm'),
    );
  });

  it('refuses to go back to the older image: deploy and plan with the inventory unchanged, and upgrade, exit 5 and nothing restarted', async () => {
    const before = await startedAt(hosts);
    const refused = /is Consul 1\.20\.1, older than the 1\.20\.2 this agent runs/;
    for (const args of [['deploy'], ['plan'], ['upgrade', '--image', CONSUL_IMAGE]]) {
      const r = await drover([...args, '-i', inventory], 180);
      assert.equal(r.code, 5, `${args[0]}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, refused, args[0]);
    }
    assert.deepEqual(await startedAt(hosts), before, 'an agent was restarted');
    for (const h of hosts) assert.equal(await imageOf(h), CONSUL_IMAGE_NEXT, `${h.name} image`);
    // Forced, the upgrade goes back, so the next tests start from the inventory's image.
    const back = await drover(['upgrade', '-i', inventory, '--image', CONSUL_IMAGE, '--force'], 180);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.match(back.stdout, /forced: .*older than the 1\.20\.2 this agent runs/);
    for (const h of hosts) assert.equal(await imageOf(h), CONSUL_IMAGE, `${h.name} image`);
  });

  it('refuses with one server crashed before the roll (exit 5) and touches nothing', async () => {
    const victim = servers[2]!;
    const others = hosts.filter((h) => h !== victim);
    const before = await startedAt(others);
    await fault('crash', victim.name);
    try {
      // Wait until the cluster itself sees the server gone, as an operator's roll would.
      await waitFor('the crashed server to be failed in Serf', 30, async () => {
        const r = await ssh(servers[0]!.name, 'docker exec consul consul members');
        return new RegExp(`^${victim.name}\\s+\\S+\\s+(failed|left)`, 'm').test(r.stdout);
      });
      const r = await drover(['restart', '-i', inventory]);
      assert.equal(r.code, 5, r.stdout + r.stderr);
      assert.match(r.stdout, /Consul pre-flight refused/);
      assert.match(r.stdout, new RegExp(`${victim.name}.*(failed|not|unreachable)`));
      assert.deepEqual(restartedLine(r.stdout), []);
      assert.deepEqual(await startedAt(others), before, 'nothing may be restarted');
    } finally {
      await fault('boot', victim.name);
    }
    await waitFor(
      'the cluster to be healthy again',
      60,
      async () => (await drover(['verify', '-i', inventory])).code === 0,
    );
  });

  it('stops before the next server when a server crashes during the roll (exit 5)', async () => {
    const leader = await leaderHost(servers);
    const followers = servers.filter((s) => s !== leader);
    const before = await startedAt(hosts);
    // When the first follower is restarted, crash the leader (the last in line): either the gate
    // after that follower or the check before the next server sees it, and the roll stops there.
    const r = await droverWatching(['restart', '-i', inventory], /changed: \[\w+\] restart consul/, () =>
      fault('crash', leader.name),
    );
    try {
      assert.equal(r.code, 5, r.out);
      assert.match(r.out, /aborted: .*gate "(server is back|cluster can lose this server)" failed on/);
      const restarted = restartedLine(r.out);
      assert.equal(restarted.length, 1, r.out);
      assert.equal(restarted[0], followers[0]!.name);
      const untouched = followers[1]!;
      // The next server is either refused by its own gate (failed, untouched) or never reached.
      for (const c of clients) assert.match(r.out, new RegExp(`^not reached: .*\\b${c.name}\\b`, 'm'));
      assert.doesNotMatch(r.out, new RegExp(`^not reached: .*\\b${followers[0]!.name}\\b`, 'm'));
      assert.equal((await startedAt([untouched]))[untouched.name], before[untouched.name]);
      for (const c of clients) assert.equal((await startedAt([c]))[c.name], before[c.name]);
      // The crashed leader held the deploy lock (the first server): the run could not give it
      // back, says so, and an operator releases it once the host is back.
      if (leader === servers[0])
        assert.match(r.out, /warning: deploy lock not released: .*drover lock release/);
    } finally {
      await fault('boot', leader.name);
      await drover(['lock', 'release', '-i', inventory, '--yes']);
    }
  });
});

describe('a 5-server cluster rolls one server at a time', () => {
  const hosts = pickHosts(7);
  const servers = hosts.slice(0, 5);
  const inventory = writeLabInventory({ servers, clients: hosts.slice(5), vars: VARS });

  before(async () => {
    await cleanUp(hosts);
    await deploy(inventory);
  });
  after(() => cleanUp(hosts));

  it('restarts every server with at most one down at any time and ends verified', async () => {
    const oldLeader = await leaderHost(servers);
    const watcher = watchServers(servers);
    const r = await drover(['restart', '-i', inventory], 200);
    const seen = await watcher.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(seen.fewest >= 4, `only ${seen.fewest} of 5 servers answered at one point`);
    const batches = [...r.stdout.matchAll(/^BATCH \d+\/5: (\S+)$/gm)].map((m) => m[1]);
    assert.equal(batches.length, 5, r.stdout);
    assert.equal(batches[4], oldLeader.name);
    const v = await drover(['verify', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
