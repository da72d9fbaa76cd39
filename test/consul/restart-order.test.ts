import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsulApi } from '../../src/consul/api/api.js';
import {
  lookUpLeader,
  nextToRestart,
  orderLeaderLast,
  planLeaderLast,
  restartOrder,
  type OrderContext,
} from '../../src/consul/gates/restart-order.js';
import { GateError } from '../../src/errors.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';

const servers = [
  { host: 's1', address: '127.0.1.11' },
  { host: 's2', address: '127.0.1.12' },
  { host: 's3', address: '127.0.1.13' },
];
const hosts = (list: readonly { host: string }[]): string[] => list.map((s) => s.host);

test('followers first in inventory order, the leader last', () => {
  assert.deepEqual(hosts(restartOrder(servers, '127.0.1.11:8300')), ['s2', 's3', 's1']);
  assert.deepEqual(hosts(restartOrder(servers, '127.0.1.12:8300')), ['s1', 's3', 's2']);
  assert.deepEqual(hosts(restartOrder(servers, '127.0.1.13:8300')), ['s1', 's2', 's3']);
});

test('with no leader, or a leader outside the inventory, the inventory order stands', () => {
  assert.deepEqual(hosts(restartOrder(servers, '')), ['s1', 's2', 's3']);
  assert.deepEqual(hosts(restartOrder(servers, undefined)), ['s1', 's2', 's3']);
  assert.deepEqual(hosts(restartOrder(servers, '127.0.1.99:8300')), ['s1', 's2', 's3']);
  // 127.0.1.1 must not match 127.0.1.11 by prefix.
  assert.deepEqual(hosts(restartOrder(servers, '127.0.1.1:8300')), ['s1', 's2', 's3']);
});

test('the next server follows the leader as it moves between steps', () => {
  // s1 leads: s2 first.
  assert.equal(nextToRestart(servers, [], '127.0.1.11:8300')?.host, 's2');
  // Restarting s2 did nothing to leadership: s3 next, still not s1.
  assert.equal(nextToRestart(servers, ['s2'], '127.0.1.11:8300')?.host, 's3');
  // Leadership moved to s3 (already done): s1 is a follower now and goes next.
  assert.equal(nextToRestart(servers, ['s2', 's3'], '127.0.1.13:8300')?.host, 's1');
  // The leader is restarted only when it is the last one left.
  assert.equal(nextToRestart(servers, ['s2', 's3'], '127.0.1.11:8300')?.host, 's1');
  assert.equal(nextToRestart(servers, ['s1', 's2', 's3'], '127.0.1.11:8300'), undefined);
});

test('a leader that moves mid-roll onto a server not yet done is pushed back again', () => {
  // s2 leads at the start: s1 first.
  assert.equal(nextToRestart(servers, [], '127.0.1.12:8300')?.host, 's1');
  // While s1 restarted, leadership moved to s3: s2 is a follower now, s3 waits.
  assert.equal(nextToRestart(servers, ['s1'], '127.0.1.13:8300')?.host, 's2');
  assert.equal(nextToRestart(servers, ['s1', 's2'], '127.0.1.13:8300')?.host, 's3');
});

/** s1's connection to the cluster: its own agent on 127.0.0.1, the others at bind_addr. */
function transport(leaders: Record<string, string | Error>): RecordingTransport {
  const t = new RecordingTransport('s1');
  for (const [host, answer] of Object.entries(leaders)) {
    t.onHttp(`GET ${host}:8500/v1/status/leader`, () => {
      if (answer instanceof Error) throw answer;
      return { body: JSON.stringify(answer) };
    });
  }
  return t;
}

const context = (t: RecordingTransport): OrderContext => ({
  groups: { all: ['s1', 's2', 's3', 'c1'], servers: ['s1', 's2', 's3'], clients: ['c1'] },
  hostvars: {
    s1: { address: '127.0.2.1', bind_addr: '127.0.1.11' },
    s2: { address: '127.0.2.2', bind_addr: '127.0.1.12' },
    s3: { address: '127.0.2.3', bind_addr: '127.0.1.13' },
    c1: { address: '127.0.1.21' },
  },
  channel: t,
  via: 's1',
  timeoutSeconds: 1,
});

test('the leader lookup skips agents that are down or know no leader', async () => {
  const t = transport({
    '127.0.0.1': new Error('connect ECONNREFUSED'),
    '127.0.1.12': '',
    '127.0.1.13': '127.0.1.13:8300',
  });
  const apis = ['127.0.0.1', '127.0.1.12', '127.0.1.13'].map((host) => new ConsulApi(t, { host }));
  const found = await lookUpLeader(apis);
  assert.equal(found.leader, '127.0.1.13:8300');
  assert.equal(found.via, '127.0.1.13:8500 via s1');
  assert.equal(found.errors.length, 1);
  assert.match(found.errors[0] ?? '', /ECONNREFUSED/);
  // Only agents that know no leader: "" is the answer, not "unknown".
  const none = await lookUpLeader([new ConsulApi(transport({ '127.0.0.1': '' }))]);
  assert.equal(none.leader, '');
});

test('orderLeaderLast asks the agents and moves the leader to the end of the remaining hosts', async () => {
  const t = transport({ '127.0.0.1': '127.0.1.11:8300' });
  assert.deepEqual(await orderLeaderLast(['s1', 's2', 's3'], context(t)), ['s2', 's3', 's1']);
  // Its own agent answered; nobody else was asked.
  assert.deepEqual(
    t.httpCalls.map((c) => `${c.host}:${c.port}${c.path}`),
    ['127.0.0.1:8500/v1/status/leader'],
  );
  assert.ok(t.httpCalls.every((c) => c.timeoutSeconds === 1));
});

test('a roll driven by orderLeaderLast restarts the leader last even when leadership moves', async () => {
  // Leadership per step: s1 leads at first; after s2's restart it moves to s3, then stays there.
  const leaderPerStep = ['127.0.1.11:8300', '127.0.1.13:8300', '127.0.1.13:8300'];
  const restarted: string[] = [];
  let remaining = ['s1', 's2', 's3'];
  for (const leader of leaderPerStep) {
    const order = await orderLeaderLast(remaining, context(transport({ '127.0.0.1': leader })));
    const next = order[0] as string;
    restarted.push(next);
    remaining = order.slice(1);
  }
  // s2 (follower), then s1 (a follower since s3 took over), then the leader s3.
  assert.deepEqual(restarted, ['s2', 's1', 's3']);
});

test('clients keep their places; the port comes from consul_http_port', async () => {
  const t = new RecordingTransport('s1');
  t.onHttp('GET 127.0.0.1:18500/v1/status/leader', { body: '"127.0.1.12:8300"' });
  const ctx = context(t);
  const withPort = {
    ...ctx,
    hostvars: { ...ctx.hostvars, s1: { ...ctx.hostvars['s1'], consul_http_port: '18500' } },
  };
  const plan = await planLeaderLast(['c1', 's2', 's3'], withPort);
  assert.deepEqual(plan, { order: ['c1', 's3', 's2'], leader: '127.0.1.12:8300', leaderHost: 's2' });
});

test("when this host's agent is down, the other servers are asked in inventory order", async () => {
  const t = transport({
    '127.0.0.1': new Error('connect ECONNREFUSED'),
    '127.0.1.12': '127.0.1.12:8300',
  });
  assert.deepEqual(await orderLeaderLast(['s1', 's2', 's3'], context(t)), ['s1', 's3', 's2']);
});

test('a cluster without a leader keeps the order; no server answering is a GateError', async () => {
  const leaderless = transport({ '127.0.0.1': '', '127.0.1.12': '', '127.0.1.13': '' });
  assert.deepEqual(await orderLeaderLast(['s1', 's2', 's3'], context(leaderless)), ['s1', 's2', 's3']);
  const down = new Error('connect ECONNREFUSED');
  const silent = transport({ '127.0.0.1': down, '127.0.1.12': down, '127.0.1.13': down });
  await assert.rejects(orderLeaderLast(['s1', 's2', 's3'], context(silent)), (e: unknown) => {
    assert.ok(e instanceof GateError);
    assert.match(
      e.message,
      /^cannot order the restart leader-last: no Consul server answered \(.*ECONNREFUSED/,
    );
    return true;
  });
});

test('with TLS on, the leader lookup asks peer servers over HTTPS as server.<dc>.consul', async () => {
  const t = new RecordingTransport('s1');
  t.onHttp('GET 127.0.0.1:8500/v1/status/leader', () => {
    throw new Error('connect ECONNREFUSED');
  });
  t.onHttp('GET 127.0.1.12:8501/v1/status/leader', () => ({ body: JSON.stringify('127.0.1.13:8300') }));
  const ctx = context(t);
  const ca = '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n';
  const s1 = { ...ctx.hostvars['s1'], consul_tls_enable: true, drover_tls_ca_pem: ca };
  const order = await orderLeaderLast(['s1', 's2', 's3'], { ...ctx, hostvars: { ...ctx.hostvars, s1 } });
  assert.deepEqual(order, ['s1', 's2', 's3']);
  assert.deepEqual(
    t.httpCalls.map((c) => [`${c.host}:${c.port}`, c.tls?.servername]),
    [
      ['127.0.0.1:8500', undefined],
      ['127.0.1.12:8501', 'server.dc1.consul'],
    ],
  );
});
