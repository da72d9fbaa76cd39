/**
 * Autopilot on 127.0.0.51-53 with a short reconcile interval: a dead server is cleaned up
 * (left, out of the raft peers), and when it comes back it rejoins as a non-voter and is
 * promoted once stable, the way Consul's autopilot treats new servers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, cleanup, parseTable, tempDir, waitFor } from './harness.js';

const IPS = ['127.0.0.51', '127.0.0.52', '127.0.0.53'];

interface RaftServer {
  Node: string;
  Voter: boolean;
  Leader: boolean;
}

describe('stand-in autopilot', () => {
  let servers: Agent[];

  async function raftServers(via: Agent): Promise<RaftServer[]> {
    const r = await via.http('/v1/operator/raft/configuration');
    return r.status === 200 ? (JSON.parse(r.body) as { Servers: RaftServer[] }).Servers : [];
  }

  before(async () => {
    const root = tempDir('standin-autopilot-');
    servers = IPS.map((ip, i) =>
      new Agent(
        {
          ip,
          name: `ap-${i + 1}`,
          server: true,
          retryJoin: IPS,
          extra: { autopilot: { server_stabilization_time: '2s' } },
          // Both scaled down, keeping Consul's order: health (2s) refreshes more often than reconcile (10s).
          env: { CONSUL_STANDIN_AUTOPILOT_INTERVAL: '1s', CONSUL_STANDIN_SERVER_HEALTH_INTERVAL: '250ms' },
        },
        root,
      ).start(),
    );
    await waitFor(
      'three voters',
      async () => (await raftServers(servers[0]!)).filter((s) => s.Voter).length === 3,
      20000,
    );
  });

  after(cleanup);

  it('removes a dead server, then re-adds it as a non-voter and promotes it when stable', async () => {
    const [a, b, c] = servers as [Agent, Agent, Agent];
    c.kill('SIGKILL');
    await waitFor(
      'dead server removed from raft',
      async () => {
        const list = await raftServers(a);
        return list.length === 2 && !list.some((s) => s.Node === c.name);
      },
      15000,
    );
    // The force-leave happens on the leader; another server learns it by gossip, moments later.
    const statusOnB = async () =>
      parseTable((await b.cli('members')).stdout, ['Node', 'Address', 'Status', 'Type']).find(
        (m) => m.Node === c.name,
      )?.Status;
    await waitFor(
      'the dead server left, as another server sees it',
      async () => (await statusOnB()) === 'left',
      10000,
    ).catch(() => undefined);
    assert.equal(await statusOnB(), 'left', 'cleanup force-leaves the dead server');
    assert.match(await a.leader(), /^127\.0\.0\.5[12]:8300$/);

    c.start();
    const seen = new Set<string>();
    await waitFor(
      'back as a voter',
      async () => {
        const me = (await raftServers(a)).find((s) => s.Node === c.name);
        if (me) seen.add(me.Voter ? 'voter' : 'non-voter');
        return me?.Voter === true;
      },
      20000,
      100,
    );
    assert.ok(seen.has('non-voter'), 'rejoined as a non-voter first');
    // Autopilot health is refreshed every 2s, so it shows the promotion a little after raft does.
    const health = await waitFor(
      'healthy with the returned server as a voter',
      async () => {
        const r = await a.http('/v1/operator/autopilot/health');
        const h = JSON.parse(r.body) as {
          FailureTolerance: number;
          Servers: { Name: string; Voter: boolean }[];
        };
        return r.status === 200 && h.Servers.find((s) => s.Name === c.name)?.Voter ? h : null;
      },
      10000,
    );
    assert.equal(health.FailureTolerance, 1);
  });

  it('takes new settings through the operator API: decoded over the defaults, with cas, and applied at once', async () => {
    const [a, b, c] = servers as [Agent, Agent, Agent];
    const config = async () =>
      JSON.parse((await b.http('/v1/operator/autopilot/configuration')).body) as Record<string, unknown>;
    const before = await config();
    // Seeded from the agents' files at bootstrap (server_stabilization_time 2s), the rest defaults.
    assert.deepEqual([before['ServerStabilizationTime'], before['CleanupDeadServers']], ['2s', true]);
    const put = (body: unknown, query = '') =>
      b.http(`/v1/operator/autopilot/configuration${query}`, 'PUT', JSON.stringify(body));
    // A stale cas is refused (false) and changes nothing.
    const stale = await put({ CleanupDeadServers: false }, `?cas=${Number(before['ModifyIndex']) - 1}`);
    assert.deepEqual([stale.status, stale.body.trim()], [200, 'false']);
    assert.equal((await config())['CleanupDeadServers'], true);
    const bad = await put({ LastContactThreshold: 'soon' });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /^Error parsing autopilot config: time: invalid duration "soon"/);
    assert.equal((await put({}, '?cas=x')).status, 400);
    // Fields left out go back to their defaults, not to what was stored.
    const done = await put(
      { CleanupDeadServers: false, MaxTrailingLogs: 300 },
      `?cas=${before['ModifyIndex']}`,
    );
    assert.deepEqual([done.status, done.body.trim()], [200, 'true']);
    const after = await config();
    assert.deepEqual(
      [
        after['CleanupDeadServers'],
        after['MaxTrailingLogs'],
        after['ServerStabilizationTime'],
        after['LastContactThreshold'],
      ],
      [false, 300, '10s', '200ms'],
    );
    assert.ok(Number(after['ModifyIndex']) > Number(before['ModifyIndex']));
    // Without dead-server cleanup, a server that dies stays a raft peer.
    c.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 4000));
    assert.ok(
      (await raftServers(a)).some((s) => s.Node === c.name),
      'the dead server was removed',
    );
    c.start();
  });
});
