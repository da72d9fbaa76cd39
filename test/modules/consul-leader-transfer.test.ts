import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACL_TOKEN_VAR_OF_SESSION } from '../../src/consul/api/endpoint.js';
import { consulLeaderTransferModule } from '../../src/modules/consul-leader-transfer.js';
import { secret } from '../../src/shell/secret.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import type { HttpRequest } from '../../src/ssh/transport.js';
import { moduleContext } from './context.js';

const TOKEN = '5b1d7e3a-2c9f-4a6b-8d0e-7f3a1c5b9e20';

/** s1..s3 servers at 127.0.1.11-13, c1 a client; the task runs on `here`. */
const vars = (here = 's1', extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  inventory_hostname: here,
  groups: { all: ['s1', 's2', 's3', 'c1'], servers: ['s1', 's2', 's3'], clients: ['c1'] },
  hostvars: Object.fromEntries(
    ['s1', 's2', 's3', 'c1'].map((h, i) => [h, { bind_addr: `127.0.1.${h === 'c1' ? 21 : 11 + i}` }]),
  ),
  ...extra,
});

/** The local agent: names `leader`, and after a transfer (when it answers 200) names `next`. */
function agent(o: { leader: string; next?: string; transferStatus?: number }) {
  const t = new RecordingTransport('s1');
  let leader = o.leader;
  let leaderReads = 0;
  t.onHttp(/GET .*\/v1\/status\/leader$/, () => {
    leaderReads++;
    return { status: 200, body: JSON.stringify(leader) };
  });
  t.onHttp(/POST .*\/v1\/operator\/raft\/transfer-leader$/, () => {
    const status = o.transferStatus ?? 200;
    if (status === 200 && o.next) leader = o.next;
    return status === 200
      ? { status, body: '{"Success":true}' }
      : {
          status,
          body: status === 403 ? 'Permission denied: token with AccessorID x lacks operator:write' : '',
        };
  });
  return { t, reads: () => leaderReads };
}

const posts = (t: RecordingTransport): HttpRequest[] => t.httpCalls.filter((c) => c.method === 'POST');

describe('consul_leader_transfer module', () => {
  it('moves the leadership away from a leading server, through its own agent with the token', async () => {
    const { t } = agent({ leader: '127.0.1.11:8300', next: '127.0.1.13:8300' });
    const ctx = moduleContext({
      transport: t,
      vars: vars('s1', { [ACL_TOKEN_VAR_OF_SESSION]: secret(TOKEN) }),
    });
    const out = await consulLeaderTransferModule.run({}, ctx);
    assert.equal(out.changed, true);
    assert.equal(out.summary, 'moved the leadership from s1 to s3');
    assert.deepEqual(out.data, { transferred: true, leader: '127.0.1.13:8300', leader_host: 's3' });
    const [post] = posts(t);
    assert.equal(post?.host, '127.0.0.1');
    assert.equal(post?.path, '/v1/operator/raft/transfer-leader');
    assert.equal(post?.token?.reveal(), TOKEN);
  });

  it('asks nothing of a server that does not lead, nor of a client', async () => {
    const follower = agent({ leader: '127.0.1.12:8300' });
    const out = await consulLeaderTransferModule.run(
      {},
      moduleContext({ transport: follower.t, vars: vars() }),
    );
    assert.deepEqual([out.changed, out.summary], [false, 's1 does not lead (leader: s2)']);
    assert.equal(posts(follower.t).length, 0);
    const client = agent({ leader: '127.0.1.12:8300' });
    const c = await consulLeaderTransferModule.run(
      {},
      moduleContext({ transport: client.t, vars: vars('c1') }),
    );
    assert.equal(c.summary, 'c1 is a client: it leads nothing');
    assert.equal(client.t.httpCalls.length, 0);
  });

  it('only says what it would do in check mode', async () => {
    const { t } = agent({ leader: '127.0.1.11:8300', next: '127.0.1.12:8300' });
    const out = await consulLeaderTransferModule.run(
      {},
      moduleContext({ transport: t, vars: vars(), check: true }),
    );
    assert.deepEqual([out.changed, out.summary], [true, 'would move the leadership away from s1']);
    assert.equal(posts(t).length, 0);
  });

  it('passes, saying an election is forced, when Consul cannot transfer (before 1.15) or refuses', async () => {
    for (const [status, why] of [
      [404, 'this Consul has no leadership transfer (1.15+)'],
      [
        403,
        'the transfer was refused (HTTP 403: Permission denied: token with AccessorID x lacks operator:write)',
      ],
    ] as const) {
      const { t } = agent({ leader: '127.0.1.11:8300', transferStatus: status });
      const out = await consulLeaderTransferModule.run({}, moduleContext({ transport: t, vars: vars() }));
      assert.equal(out.changed, false);
      assert.equal(
        out.summary,
        `no transfer: s1 leads and keeps it (${why}); stopping it forces an election`,
      );
    }
  });

  it('gives up, bounded, when no other leader is named after the transfer', async () => {
    const { t, reads } = agent({ leader: '127.0.1.11:8300' });
    const ctx = moduleContext({ transport: t, vars: vars() });
    const out = await consulLeaderTransferModule.run({ timeout: 2 }, ctx);
    assert.equal(out.changed, false);
    assert.match(out.summary, /^no transfer: s1 still leads 2s after the transfer was asked/);
    // One look before the transfer, then at most 11 (every 0.2 s for 2 s, and one more).
    assert.ok(reads() <= 12, `${reads()} reads`);
  });
});
