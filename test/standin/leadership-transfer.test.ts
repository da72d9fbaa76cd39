/**
 * Leadership transfer on 127.0.0.150-152 (Consul 1.15+ `POST /v1/operator/raft/transfer-leader`,
 * hashicorp/raft LeadershipTransfer): the leader brings a voter up to date and tells it to start
 * an election at once, so the cluster has a new leader without waiting for a heartbeat timeout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, cleanup, tempDir, waitFor } from './harness.js';

const IPS = ['127.0.0.150', '127.0.0.151', '127.0.0.152'];

describe('stand-in leadership transfer', () => {
  let servers: Agent[];
  const byAddr = (addr: string) => servers.find((s) => `${s.ip}:8300` === addr)!;
  /** The leader once every server names the same one (bounded): a follower may lag a heartbeat. */
  const leaderOf = async (not?: Agent): Promise<Agent> => {
    let agreed = '';
    await waitFor(
      'one leader named by all',
      async () => {
        const seen = new Set(await Promise.all(servers.map((s) => s.leader())));
        agreed = seen.size === 1 ? [...seen][0]! : '';
        return agreed !== '' && byAddr(agreed) !== not;
      },
      5000,
      20,
    );
    return byAddr(agreed);
  };
  const raftIds = async (): Promise<Record<string, string>> => {
    const r = await servers[0]!.http('/v1/operator/raft/configuration');
    const list = (JSON.parse(r.body) as { Servers: { ID: string; Address: string }[] }).Servers;
    return Object.fromEntries(list.map((s) => [s.Address, s.ID]));
  };
  /** Every server names `addr` as the leader. */
  const allName = async (addr: string) =>
    (await Promise.all(servers.map((s) => s.leader()))).every((l) => l === addr);

  before(async () => {
    const root = tempDir('standin-transfer-');
    // Consul's default timing (raft_multiplier 5): a leader lost without a transfer takes seconds.
    servers = IPS.map((ip, i) =>
      new Agent({ ip, name: `lt-${i + 1}`, server: true, retryJoin: IPS }, root).start(),
    );
    await waitFor(
      'a leader named by all',
      async () => {
        const l = await servers[0]!.leader();
        return l !== '' && (await allName(l));
      },
      30000,
    );
  });

  after(cleanup);

  it('moves leadership to a caught-up voter within one round of votes, asked through a follower', async () => {
    const old = await leaderOf();
    const put = await old.http('/v1/kv/before-transfer', 'PUT', 'kept');
    assert.equal(put.status, 200, put.body);
    const follower = servers.find((s) => s !== old)!;
    const started = Date.now();
    const r = await follower.http('/v1/operator/raft/transfer-leader', 'POST');
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { Success: true });
    const next = await leaderOf(old);
    // Far below the 5 s heartbeat timeout that a leader lost without a transfer costs.
    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
    const get = await next.http('/v1/kv/before-transfer?raw');
    assert.equal(get.body, 'kept');
    assert.equal((await next.http('/v1/kv/after-transfer', 'PUT', 'x')).status, 200);
  });

  it('moves it to the server the id names, and refuses an id that is no server', async () => {
    const old = await leaderOf();
    const target = servers.find((s) => s !== old && s !== servers[2])!;
    const ids = await raftIds();
    const r = await old.http(`/v1/operator/raft/transfer-leader?id=${ids[`${target.ip}:8300`]}`, 'POST');
    assert.equal(r.status, 200, r.body);
    // The old leader learns the new one from its first heartbeat: moments later.
    await waitFor('the named server leading, for all', () => allName(`${target.ip}:8300`), 5000, 20);
    const bad = await old.http('/v1/operator/raft/transfer-leader?id=no-such-server', 'POST');
    assert.equal(bad.status, 500);
    assert.equal(bad.body, 'Could not find address for server id no-such-server');
  });
});
