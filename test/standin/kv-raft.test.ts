/**
 * The stand-in's raft log carries real writes, on 127.0.0.70-89: KV writes through any agent
 * are committed by the leader and applied on every server, survive a restart of every server,
 * a restarted server trails (commit_index < last_log_index) and catches up under write load,
 * indexes stand still without writes, autopilot health comes from its periodic refresh with
 * Go duration strings, and election timing scales with performance.raft_multiplier.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, cleanup, sleep, tempDir, waitFor } from './harness.js';

const SERVER_IPS = ['127.0.0.71', '127.0.0.72', '127.0.0.73'];
const CLIENT_IP = '127.0.0.74';
const GO_DURATION = /^(0s|\d+(\.\d+)?(ns|µs|ms|s)|(\d+h)?(\d+m)?\d+(\.\d+)?s)$/;

interface KvEntry {
  LockIndex: number;
  Key: string;
  Flags: number;
  Value: string | null;
  CreateIndex: number;
  ModifyIndex: number;
}

interface ServerHealth {
  ID: string;
  Name: string;
  Leader: boolean;
  LastContact: unknown;
  LastIndex: number;
  Healthy: boolean;
  Voter: boolean;
  StableSince: string;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('stand-in raft log with real writes (3 servers, 1 client)', () => {
  let root: string;
  let servers: Agent[];
  let client: Agent;

  async function leader(): Promise<Agent> {
    const addr = await waitFor('a leader', async () => servers[0]!.leader(), 20000);
    const found = servers.find((s) => `${s.ip}:8300` === addr);
    assert.ok(found, `unknown leader ${addr}`);
    return found;
  }

  async function getKv(a: Agent, key: string, query = ''): Promise<KvEntry[] | null> {
    const r = await a.http(`/v1/kv/${key}${query}`);
    if (r.status === 404) return null;
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as KvEntry[];
  }

  before(async () => {
    root = tempDir('standin-kv-');
    servers = SERVER_IPS.map(
      (ip, i) => new Agent({ ip, name: `kv-${i + 1}`, server: true, retryJoin: SERVER_IPS }, root),
    );
    client = new Agent({ ip: CLIENT_IP, name: 'kv-client', retryJoin: SERVER_IPS }, root);
    for (const a of [...servers, client]) a.start();
    await waitFor(
      'a leader known to every agent',
      async () => {
        const all = await Promise.all([...servers, client].map((a) => a.leader()));
        return all[0] !== '' && all.every((l) => l === all[0]);
      },
      30000,
    );
  });

  after(cleanup);

  it('writes through a follower and a client, readable on every server with Consul shapes', async () => {
    const lead = await leader();
    const follower = servers.find((s) => s !== lead)!;
    const put = await follower.http('/v1/kv/app/config/name', 'PUT', 'drover');
    assert.equal(put.status, 200);
    assert.equal(put.body, 'true');
    assert.equal((await client.http('/v1/kv/app/config/port?flags=42', 'PUT', '8080')).body, 'true');
    assert.equal((await client.http('/v1/kv/app/empty', 'PUT')).body, 'true');

    // Default consistency: every agent answers with the leader's state at once.
    for (const a of [...servers, client]) {
      const r = await a.http('/v1/kv/app/config/name');
      assert.equal(r.status, 200);
      const [e] = JSON.parse(r.body) as KvEntry[];
      assert.deepEqual(Object.keys(e!), ['LockIndex', 'Key', 'Flags', 'Value', 'CreateIndex', 'ModifyIndex']);
      assert.equal(e!.Key, 'app/config/name');
      assert.equal(e!.Value, b64('drover'));
      assert.equal(e!.LockIndex, 0);
      assert.equal(e!.CreateIndex, e!.ModifyIndex);
      assert.equal(r.headers['x-consul-index'], String(e!.ModifyIndex));
      assert.equal(r.headers['x-consul-knownleader'], 'true');
    }
    // ?stale reads each server's own state machine: every one has applied the write.
    for (const s of servers) {
      await waitFor(`${s.name} applied the write`, async () => {
        const e = await getKv(s, 'app/config/name', '?stale');
        return e?.[0]?.Value === b64('drover');
      });
    }
    const port = (await getKv(servers[2]!, 'app/config/port'))![0]!;
    assert.equal(port.Flags, 42);
    assert.equal((await getKv(servers[1]!, 'app/empty'))![0]!.Value, null, 'an empty body is a null value');

    const raw = await servers[0]!.http('/v1/kv/app/config/port?raw');
    assert.equal(raw.body, '8080');
    assert.equal(raw.headers['content-type'], 'text/plain');

    const missing = await client.http('/v1/kv/app/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body, '');
    assert.match(String(missing.headers['x-consul-index']), /^\d+$/);

    const tree = (await getKv(follower, 'app/', '?recurse'))!;
    assert.deepEqual(
      tree.map((e) => e.Key),
      ['app/config/name', 'app/config/port', 'app/empty'],
    );
    const keys = await follower.http('/v1/kv/app/?keys&separator=/');
    assert.deepEqual(JSON.parse(keys.body), ['app/config/', 'app/empty']);
    assert.equal((await follower.http('/v1/kv/?recurse')).status, 200);
    assert.equal((await follower.http('/v1/kv/')).status, 400, 'Missing key name');
  });

  it('keeps CreateIndex, moves ModifyIndex, and does check-and-set and deletes', async () => {
    const first = (await getKv(client, 'app/config/name'))![0]!;
    assert.equal((await client.http('/v1/kv/app/config/name', 'PUT', 'drover2')).body, 'true');
    const second = (await getKv(client, 'app/config/name'))![0]!;
    assert.equal(second.CreateIndex, first.CreateIndex);
    assert.ok(second.ModifyIndex > first.ModifyIndex);
    assert.equal(
      (await client.http(`/v1/kv/app/config/name?cas=${first.ModifyIndex}`, 'PUT', 'x')).body,
      'false',
    );
    assert.equal(
      (await client.http(`/v1/kv/app/config/name?cas=${second.ModifyIndex}`, 'PUT', 'y')).body,
      'true',
    );
    assert.equal(
      (await client.http('/v1/kv/app/config/name?cas=0', 'PUT', 'z')).body,
      'false',
      'cas=0 only creates',
    );
    assert.equal((await client.http('/v1/kv/app/config/port', 'DELETE')).body, 'true');
    assert.equal((await client.http('/v1/kv/app/config/port')).status, 404);
    const conflict = await client.http('/v1/kv/app/?recurse&cas=1', 'DELETE');
    assert.equal(conflict.status, 400);
    assert.match(conflict.body, /^Conflicting flags: /);
    assert.equal((await client.http('/v1/kv/app/?recurse', 'DELETE')).body, 'true');
    assert.equal((await client.http('/v1/kv/app/?recurse')).status, 404);
  });

  it('moves no index without a write; one write moves commit_index on every server', async () => {
    const indexes = async (): Promise<string[]> =>
      (await Promise.all(servers.map((s) => s.raft()))).map((r) => `${r.commit_index}/${r.last_log_index}`);
    let before: string[] = [];
    await waitFor(
      'indexes to hold still for 3s',
      async () => {
        const a = await indexes();
        await sleep(3000);
        before = await indexes();
        return a.join() === before.join();
      },
      30000,
      0,
    );
    for (const i of before) {
      const [commit, last] = i.split('/');
      assert.equal(commit, last, 'an idle cluster has applied everything');
    }
    const commit = Number(before[0]!.split('/')[0]);
    assert.equal((await client.http('/v1/kv/idle/probe', 'PUT', '1')).body, 'true');
    await waitFor('the one write on every server', async () => {
      const now = await Promise.all(servers.map((s) => s.raft()));
      return now.every((r) => Number(r.commit_index) === commit + 1 && r.last_log_index === r.commit_index);
    });
  });

  it('serves autopilot health from its 2s refresh, with LastContact as a Go duration string', async () => {
    const snapshot = async (a: Agent): Promise<string> => {
      const r = await a.http('/v1/operator/autopilot/health');
      const h = JSON.parse(r.body) as { Servers: ServerHealth[] };
      return JSON.stringify([...h.Servers].sort((x, y) => (x.ID < y.ID ? -1 : 1)));
    };
    // Within one second at most one refresh can happen: at most two distinct answers.
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      seen.add(await snapshot(client));
      await sleep(100);
    }
    assert.ok(seen.size <= 2, `${seen.size} different autopilot states within about a second`);
    // Over several seconds it is refreshed (followers' LastContact changes).
    const later = new Set<string>();
    const until = Date.now() + 6000;
    while (Date.now() < until && later.size < 2) {
      later.add(await snapshot(servers[1]!));
      await sleep(250);
    }
    assert.ok(later.size >= 2, 'the autopilot state was refreshed');

    const r = await servers[2]!.http('/v1/operator/autopilot/health');
    assert.equal(r.status, 200);
    const h = JSON.parse(r.body) as { Healthy: boolean; FailureTolerance: number; Servers: ServerHealth[] };
    assert.equal(h.Healthy, true);
    assert.equal(h.FailureTolerance, 1);
    for (const s of h.Servers) {
      assert.equal(typeof s.LastContact, 'string', `${s.Name}: LastContact ${JSON.stringify(s.LastContact)}`);
      assert.match(s.LastContact as string, GO_DURATION);
      if (s.Leader) assert.equal(s.LastContact, '0s');
    }
    for (const s of servers) {
      const raft = await s.raft();
      if (raft.state === 'Leader') assert.equal(raft.last_contact, '0');
      else assert.match(raft.last_contact ?? '', GO_DURATION);
    }
  });

  it('a restarted server trails (commit_index < last_log_index) under write load, then catches up', async () => {
    const lead = await leader();
    const victim = servers.find((s) => s !== lead)!;
    let writing = true;
    let written = 0;
    const load = (async () => {
      while (writing) {
        const r = await lead.http(`/v1/kv/load/${written % 20}`, 'PUT', String(written)).catch(() => null);
        if (r?.body === 'true') written++;
        await sleep(50);
      }
    })();
    try {
      await waitFor('some writes', () => written > 10);
      victim.kill('SIGKILL');
      await victim.stopped();
      const atKill = written;
      await waitFor('writes while it is down', () => written > atKill + 20);
      // While writes flow a follower's commit index trails its log by up to a heartbeat, so
      // "caught up" is: a follower again, past everything the leader had committed when it
      // came back, and applied that far.
      const leaderCommit = Number((await lead.raft()).commit_index);
      victim.start();
      let sawLag = false;
      let lastSeen = 'no answer yet';
      await waitFor(
        'the restarted server to catch up',
        async () => {
          const raft = await victim.raft().catch(() => null);
          if (!raft) return false;
          const commit = Number(raft.commit_index);
          const last = Number(raft.last_log_index);
          lastSeen = `${raft.state} commit=${commit} last=${last} applied=${raft.applied_index} (leader had ${leaderCommit})`;
          if (last > 0 && commit < last) sawLag = true;
          const applied = Number(raft.applied_index);
          return sawLag && raft.state === 'Follower' && commit >= leaderCommit && applied >= leaderCommit;
        },
        30000,
        20,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; last raft state: ${lastSeen}`);
      });
      assert.ok(sawLag, `never saw commit_index < last_log_index (${lastSeen})`);
    } finally {
      writing = false;
      await load;
    }
    // Once the load stops every server holds the same log and the same data.
    await waitFor('all servers identical', async () => {
      const stats = await Promise.all(servers.map((s) => s.raft()));
      const same = stats.every(
        (r) => r.commit_index === stats[0]!.commit_index && r.last_log_index === r.commit_index,
      );
      if (!same) return false;
      const values = await Promise.all(servers.map((s) => getKv(s, 'load/', '?recurse&stale')));
      return values.every((v) => JSON.stringify(v) === JSON.stringify(values[0]));
    });
  });

  it('keeps every write across a restart of all servers', async () => {
    assert.equal((await client.http('/v1/kv/durable/a', 'PUT', 'alpha')).body, 'true');
    assert.equal((await client.http('/v1/kv/durable/b', 'PUT', 'beta')).body, 'true');
    const beforeEntries = (await getKv(client, 'durable/', '?recurse'))!;
    for (const s of servers) s.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.stopped()));
    // While no server runs, a client cannot write.
    const refused = await client.http('/v1/kv/durable/c', 'PUT', 'gamma');
    assert.equal(refused.status, 500);
    for (const s of servers) s.start();
    await leader();
    const after = await waitFor(
      'the data back',
      async () => {
        const e = await getKv(client, 'durable/', '?recurse');
        return e && e.length === 2 ? e : null;
      },
      20000,
    );
    assert.deepEqual(after, beforeEntries, 'same values, flags and indexes');
    assert.equal((await getKv(client, 'durable/c')) ?? null, null);
    // And it takes new writes again.
    await waitFor(
      'a write after the restart',
      async () => (await client.http('/v1/kv/durable/c', 'PUT', 'gamma')).body === 'true',
      20000,
    );
  });

  it('consul kv put/get/delete', async () => {
    const put = await client.cli('kv', 'put', 'cli/greeting', 'hello world');
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout, 'Success! Data written to: cli/greeting\n');
    const get = await servers[0]!.cli('kv', 'get', 'cli/greeting');
    assert.equal(get.stdout, 'hello world\n');
    const detailed = await servers[1]!.cli('kv', 'get', '-detailed', 'cli/greeting');
    assert.match(
      detailed.stdout,
      /^CreateIndex {6}\d+\nFlags {12}0\nKey {14}cli\/greeting\nLockIndex {8}0\n/,
    );
    assert.match(detailed.stdout, /\nSession {10}-\nValue {12}hello world\n$/);
    const none = await client.cli('kv', 'get', 'cli/nothing');
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'Error! No key exists at: cli/nothing\n');
    assert.equal((await client.cli('kv', 'put', 'cli/other', '2')).code, 0);
    assert.equal(
      (await client.cli('kv', 'get', '-recurse', 'cli/')).stdout,
      'cli/greeting:hello world\ncli/other:2\n',
    );
    const del = await client.cli('kv', 'delete', 'cli/greeting');
    assert.equal(del.stdout, 'Success! Deleted key: cli/greeting\n');
    const tree = await client.cli('kv', 'delete', '-recurse', 'cli/');
    assert.equal(tree.stdout, 'Success! Deleted keys with prefix: cli/\n');
    assert.equal((await client.cli('kv', 'get', '-recurse', 'cli/')).stdout, '');
    const missing = await client.cli('kv', 'put');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error! Missing KEY argument\n');
  });
});

describe('stand-in raft snapshots (raft_snapshot_threshold, raft_trailing_logs)', () => {
  const IPS = ['127.0.0.75', '127.0.0.76', '127.0.0.77'];
  let servers: Agent[];

  before(async () => {
    const root = tempDir('standin-snap-');
    servers = IPS.map(
      (ip, i) =>
        new Agent(
          {
            ip,
            name: `snap-${i + 1}`,
            server: true,
            retryJoin: IPS,
            extra: { raft_snapshot_threshold: 30, raft_snapshot_interval: '1s', raft_trailing_logs: 10 },
          },
          root,
        ),
    );
    for (const a of servers) a.start();
    await waitFor('a leader', async () => (await servers[0]!.leader()) !== '', 30000);
  });

  after(cleanup);

  it('compacts the log and sends a snapshot to a follower that missed the compacted part', async () => {
    const addr = await servers[0]!.leader();
    const lead = servers.find((s) => `${s.ip}:8300` === addr)!;
    const behind = servers.find((s) => s !== lead)!;
    behind.kill('SIGKILL');
    await behind.stopped();
    for (let i = 0; i < 80; i++)
      assert.equal((await lead.http(`/v1/kv/snap/${i}`, 'PUT', `v${i}`)).body, 'true');
    await waitFor(
      'a snapshot on the leader',
      async () => Number((await lead.raft()).last_snapshot_index) > 0,
      15000,
    );
    behind.start();
    await waitFor(
      'the follower to install it and catch up',
      async () => {
        const raft = await behind.raft().catch(() => null);
        if (!raft || Number(raft.last_snapshot_index) === 0 || raft.commit_index !== raft.last_log_index)
          return false;
        const r = await behind.http('/v1/kv/snap/?recurse&stale');
        return r.status === 200 && (JSON.parse(r.body) as unknown[]).length === 80;
      },
      30000,
    );
    assert.match(behind.out, /Installed remote snapshot/);
    // A restart restores the state machine from the snapshot, then replays the log after it.
    for (const s of servers) s.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.stopped()));
    for (const s of servers) s.start();
    await waitFor('a leader again', async () => (await servers[1]!.leader()) !== '', 30000);
    const r = await waitFor('all keys back', async () => {
      const x = await servers[2]!.http('/v1/kv/snap/?recurse');
      return x.status === 200 && (JSON.parse(x.body) as unknown[]).length === 80 ? x : null;
    });
    const entries = JSON.parse(r.body) as KvEntry[];
    assert.equal(entries.find((e) => e.Key === 'snap/79')?.Value, b64('v79'));
  });
});

describe('stand-in raft timing (performance.raft_multiplier)', () => {
  after(cleanup);

  /** Milliseconds from start until a single bootstrap_expect=1 server leads. */
  async function timeToLeader(ip: string, raftMultiplier: number | null): Promise<number> {
    const a = new Agent(
      { ip, name: `timing-${ip.split('.')[3]}`, server: true, bootstrapExpect: 1, raftMultiplier },
      tempDir('standin-timing-'),
    ).start();
    await waitFor('HTTP up', async () => (await a.http('/v1/status/leader')).status === 200, 10000, 50);
    const t0 = Date.now();
    await waitFor('leader', async () => (await a.leader()) === `${ip}:8300`, 30000, 50);
    return Date.now() - t0;
  }

  it('waits at least HeartbeatTimeout x raft_multiplier before an election (5 s by default)', async () => {
    const [fast, slow] = await Promise.all([timeToLeader('127.0.0.81', 1), timeToLeader('127.0.0.82', null)]);
    // hashicorp/raft never starts an election before HeartbeatTimeout (1s x multiplier).
    assert.ok(slow >= 4500, `default multiplier elected after ${slow} ms`);
    assert.ok(fast < slow, `multiplier 1 (${fast} ms) should elect before multiplier 5 (${slow} ms)`);
  });

  it('refuses a raft_multiplier out of 1..10, as Consul does', async () => {
    const a = new Agent(
      { ip: '127.0.0.83', name: 'timing-bad', server: true, bootstrapExpect: 1, raftMultiplier: 20 },
      tempDir('standin-timing-'),
    ).start();
    const { code } = await a.stopped(10000);
    assert.equal(code, 1);
    assert.match(a.out, /performance\.raft_multiplier cannot be 20\. Must be between 1 and 10/);
  });
});
