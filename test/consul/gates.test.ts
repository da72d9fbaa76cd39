import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentMember, AutopilotServer } from '../../src/consul/api/api-responses.js';
import type { ExpectedNode } from '../../src/consul/verify/cluster-model.js';
import { pollConditions } from '../../src/consul/gates/gate-poll.js';
import { FakeClock } from '../../src/util/fake-clock.js';
import type { ClusterView } from '../../src/consul/gates/gate-view.js';
import {
  assessClientBack,
  assessPreflight,
  assessReady,
  assessServerBack,
  describeUnmet,
  expectedFailureTolerance,
} from '../../src/consul/gates/gates.js';
import { readClusterView } from '../../src/consul/gates/gate-observe.js';
import { ConsulApi } from '../../src/consul/api/api.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';

const node = (host: string, last: number, role: 'server' | 'client' = 'server'): ExpectedNode => ({
  host,
  nodeName: host,
  address: `127.0.1.${last}`,
  role,
});
const servers = [node('s1', 11), node('s2', 12), node('s3', 13)];
const [s1, s2, s3] = servers as [ExpectedNode, ExpectedNode, ExpectedNode];
const c1 = node('c1', 21, 'client');

const member = (n: ExpectedNode, status: AgentMember['status'] = 'alive'): AgentMember => ({
  name: n.nodeName,
  addr: n.address,
  port: 8301,
  status,
  statusCode: ['none', 'alive', 'leaving', 'left', 'failed'].indexOf(status),
  role: n.role === 'server' ? 'server' : 'client',
  tags: {},
});

const apServer = (n: ExpectedNode, over: Partial<AutopilotServer> = {}): AutopilotServer => ({
  id: `id-${n.host}`,
  name: n.nodeName,
  address: `${n.address}:8300`,
  serfStatus: 'alive',
  version: '1.20.1',
  leader: n === s2,
  lastContactMs: 10,
  lastTerm: 3,
  lastIndex: 46,
  healthy: true,
  voter: true,
  stableSince: '2026-01-01T00:00:00Z',
  ...over,
});

/** A healthy 3-server cluster (s2 leads) plus one client, as seen through s1's agent. */
function healthyView(): ClusterView {
  return {
    via: '127.0.0.1:8500 via s1',
    leader: '127.0.1.12:8300',
    autopilot: { healthy: true, failureTolerance: 1, servers: servers.map((s) => apServer(s)) },
    peers: servers.map((s) => ({ address: `${s.address}:8300`, node: s.nodeName, voter: true })),
    members: [...servers, c1].map((n) => member(n)),
    errors: [],
  };
}

test('pre-flight passes a healthy cluster and records the baseline', () => {
  const report = assessPreflight(servers, healthyView());
  assert.equal(report.ok, true);
  assert.deepEqual(report.problems, []);
  assert.equal(report.leader, '127.0.1.12:8300');
  assert.equal(report.leaderHost, 's2');
  assert.equal(report.failureTolerance, 1);
  assert.deepEqual(
    report.servers.map((s) => [s.host, s.serf, s.raft, s.leader]),
    [
      ['s1', 'alive', 'voter', false],
      ['s2', 'alive', 'voter', true],
      ['s3', 'alive', 'voter', false],
    ],
  );
});

test('pre-flight names each problem: no leader, unhealthy autopilot, tolerance 0, a failed non-voter', () => {
  const view = healthyView();
  view.leader = '';
  view.autopilot = {
    healthy: false,
    failureTolerance: 0,
    servers: [
      apServer(s1),
      apServer(s2),
      apServer(s3, { healthy: false, serfStatus: 'failed', lastContactMs: 12000, voter: false }),
    ],
  };
  view.members = [member(s1), member(s2), member(s3, 'failed'), member(c1)];
  view.peers = view.peers!.map((p) => (p.node === 's3' ? { ...p, voter: false } : p));
  const report = assessPreflight(servers, view);
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems, [
    'no leader: 127.0.0.1:8500 via s1 reports no Raft leader',
    'autopilot reports the cluster unhealthy (HTTP 429); unhealthy servers: s3 (127.0.1.13:8300: serf failed, last contact 12000ms, index 46, non-voter)',
    'autopilot FailureTolerance is 0 with 2 voters (need at least 1; a 3-server cluster has 1)',
    's3 (127.0.1.13) is failed in Serf, as seen by 127.0.0.1:8500 via s1',
    's3 (127.0.1.13) is a Raft non-voter',
  ]);
});

test('pre-flight refuses a server missing from members and from Raft, and an unreadable autopilot', () => {
  const view = healthyView();
  view.members = view.members!.filter((m) => m.name !== 's3');
  view.peers = view.peers!.filter((p) => p.node !== 's3');
  delete view.autopilot;
  view.readErrors = { autopilot: 'GET /v1/operator/autopilot/health: HTTP 403' };
  assert.deepEqual(assessPreflight(servers, view).problems, [
    'autopilot health unavailable (ACLs are on: the token needs operator:read): GET /v1/operator/autopilot/health: HTTP 403',
    's3 (127.0.1.13) is not a Serf member, as seen by 127.0.0.1:8500 via s1',
    's3 (127.0.1.13) is not in the Raft configuration',
  ]);
});

test('pre-flight with no agent answering says so and why', () => {
  const report = assessPreflight(servers, {
    errors: ['GET /v1/status/leader: no answer from 127.0.0.1:8500 via s1'],
  });
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems, [
    'no Consul agent answered: GET /v1/status/leader: no answer from 127.0.0.1:8500 via s1',
  ]);
});

test('the minimum tolerance can be lowered for a cluster that never had any', () => {
  const view = healthyView();
  view.autopilot = { healthy: true, failureTolerance: 0, servers: servers.map((s) => apServer(s)) };
  assert.equal(assessPreflight(servers, view).ok, false);
  assert.equal(assessPreflight(servers, view, { minFailureTolerance: 0 }).ok, true);
});

test('ready: another server down refuses; the target itself being down does not', () => {
  const view = healthyView();
  view.members = [member(s1), member(s2), member(s3, 'failed'), member(c1)];
  assert.deepEqual(assessReady(s1, servers, view), [
    's3 (127.0.1.13) is failed in Serf, as seen by 127.0.0.1:8500 via s1',
  ]);
  assert.deepEqual(assessReady(s3, servers, view), []);
});

test('ready: tolerance 0 refuses to stop a healthy server but allows stopping an already sick one', () => {
  const view = healthyView();
  view.autopilot = {
    healthy: false,
    failureTolerance: 0,
    servers: [apServer(s1), apServer(s2), apServer(s3, { healthy: false, lastIndex: 20 })],
  };
  assert.deepEqual(assessReady(s1, servers, view), [
    's3 (127.0.1.13) is unhealthy in autopilot: 127.0.1.13:8300: serf alive, last contact 10ms, index 20',
    'autopilot FailureTolerance is 0 with 3 voters (need at least 1; a 3-server cluster has 1): stopping s1 would leave the cluster without quorum to spare',
  ]);
  assert.deepEqual(assessReady(s3, servers, view), []);
});

test('ready: no leader refuses', () => {
  const view = healthyView();
  view.leader = '';
  assert.deepEqual(assessReady(s1, servers, view), [
    'no leader: 127.0.0.1:8500 via s1 reports no Raft leader',
  ]);
});

test('server back: every condition holds on a healthy, caught-up cluster', () => {
  const conditions = assessServerBack(
    s1,
    servers,
    healthyView(),
    { answered: true, commitIndex: 46, lastLogIndex: 46, source: 'stats' },
    1,
  );
  assert.deepEqual(
    conditions.map((c) => [c.name, c.ok]),
    [
      ['other_servers_up', true],
      ['voter', true],
      ['leader', true],
      ['caught_up', true],
      ['autopilot_healthy', true],
      ['failure_tolerance', true],
    ],
  );
});

test('server back: lagging index, tolerance below baseline and a missing voter are each named with values', () => {
  const view = healthyView();
  view.peers = view.peers!.filter((p) => p.node !== 's1');
  view.autopilot = { healthy: true, failureTolerance: 0, servers: servers.map((s) => apServer(s)) };
  const conditions = assessServerBack(
    s1,
    servers,
    view,
    { answered: true, commitIndex: 40, lastLogIndex: 46 },
    1,
  );
  assert.equal(
    describeUnmet(conditions),
    'voter: s1 (127.0.1.11) is not among the Raft peers [127.0.1.12:8300, 127.0.1.13:8300]; ' +
      'caught_up: s1 commit_index 40 < last_log_index 46; ' +
      'failure_tolerance: FailureTolerance 0, below the baseline 1',
  );
});

test('server back: an agent that does not answer yet is not caught up', () => {
  const conditions = assessServerBack(
    s1,
    servers,
    healthyView(),
    { answered: false, error: 'connection refused' },
    1,
  );
  assert.equal(describeUnmet(conditions), "caught_up: s1's agent did not answer: connection refused");
});

test('client back: alive as a server sees it and a known leader', () => {
  const view = healthyView();
  assert.equal(describeUnmet(assessClientBack(c1, view, { leader: '127.0.1.12:8300' })), '');
  view.members = [...servers.map((s) => member(s)), member(c1, 'failed')];
  assert.equal(
    describeUnmet(assessClientBack(c1, view, { leader: '' })),
    'member_alive: c1 (127.0.1.21) is failed, as seen by 127.0.0.1:8500 via s1; leader: c1 knows no leader',
  );
});

test('the default baseline is (servers - 1) / 2, as the autopilot docs give it', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 7].map(expectedFailureTolerance), [0, 0, 1, 1, 2, 3]);
});

test('the cluster view falls back to /v1/status/peers when the Raft configuration is refused', async () => {
  const t = new RecordingTransport('s1');
  t.onHttp('GET 127.0.0.1:8500/v1/status/leader', { status: 500, body: 'down' })
    .onHttp('GET 127.0.1.12:8500/v1/status/leader', { body: '"127.0.1.12:8300"' })
    .onHttp('GET 127.0.1.12:8500/v1/operator/raft/configuration', { status: 403, body: 'Permission denied' })
    .onHttp('GET 127.0.1.12:8500/v1/status/peers', { body: '["127.0.1.11:8300","127.0.1.12:8300"]' })
    .onHttp('GET 127.0.1.12:8500/v1/operator/autopilot/health', { status: 403, body: 'Permission denied' })
    .onHttp('GET 127.0.1.12:8500/v1/agent/members', { body: '[]' });
  const view = await readClusterView([new ConsulApi(t), new ConsulApi(t, { host: '127.0.1.12' })]);
  assert.equal(view.via, '127.0.1.12:8500 via s1');
  assert.equal(view.leader, '127.0.1.12:8300');
  assert.equal(view.errors.length, 1);
  assert.match(view.errors[0] ?? '', /HTTP 500 from 127\.0\.0\.1:8500 via s1/);
  assert.deepEqual(view.peers, [{ address: '127.0.1.11:8300' }, { address: '127.0.1.12:8300' }]);
  assert.equal(view.autopilot, undefined);
  assert.match(view.readErrors?.autopilot ?? '', /HTTP 403/);
  // Addresses only: s1 counts as a voter, s3 is missing.
  const report = assessPreflight(servers, view);
  assert.deepEqual(
    report.servers.map((s) => s.raft),
    ['voter', 'voter', 'missing'],
  );
});

test('ready: another server that stopped voting or talking to the leader refuses, named, before Serf notices', () => {
  const view = healthyView();
  view.autopilot = {
    healthy: false,
    failureTolerance: 1,
    servers: [apServer(s1), apServer(s2, { healthy: false, lastContactMs: 4200 }), apServer(s3)],
  };
  view.peers = view.peers!.map((p) => (p.node === 's3' ? { ...p, voter: false } : p));
  assert.deepEqual(assessReady(s1, servers, view), [
    's3 (127.0.1.13) is a Raft non-voter',
    's2 (127.0.1.12) is unhealthy in autopilot: 127.0.1.12:8300: serf alive, last contact 4200ms, index 46',
  ]);
});

test('server back: another server failed while the target restarted stops the gate at once, naming it', () => {
  // s2 restarted; s1, which answers, sees s3 gone.
  const view = healthyView();
  view.members = [member(s1), member(s2), member(s3, 'failed'), member(c1)];
  const [others] = assessServerBack(
    s2,
    servers,
    view,
    { answered: true, commitIndex: 46, lastLogIndex: 46 },
    1,
  );
  assert.equal(others?.ok, false);
  assert.equal(others?.fatal, true);
  assert.match(
    others?.observed ?? '',
    /^s3 \(127\.0\.1\.13\) is failed, as seen by .*while s2 restarted: .*drover reset-node s3/,
  );
  // Not a member (yet) is not proof of death: waited for, not fatal.
  view.members = [member(s1), member(s2), member(c1)];
  const [notYet] = assessServerBack(
    s2,
    servers,
    view,
    { answered: true, commitIndex: 46, lastLogIndex: 46 },
    1,
  );
  assert.deepEqual([notYet?.ok, notYet?.fatal], [false, undefined]);
});

test('server back: a tolerance below the baseline names the unhealthy servers', () => {
  const view = healthyView();
  view.autopilot = {
    healthy: false,
    failureTolerance: 0,
    servers: [apServer(s1), apServer(s2), apServer(s3, { healthy: false, serfStatus: 'failed' })],
  };
  const conditions = assessServerBack(
    s1,
    servers,
    view,
    { answered: true, commitIndex: 46, lastLogIndex: 46 },
    1,
  );
  assert.match(
    conditions.find((c) => c.name === 'failure_tolerance')?.observed ?? '',
    /^FailureTolerance 0, below the baseline 1; unhealthy: s3 \(127\.0\.1\.13:8300: serf failed/,
  );
});

test('a gate poll stops at the first fatal condition instead of waiting out its timeout', async () => {
  let checks = 0;
  const outcome = await pollConditions(
    async () => {
      checks++;
      return [
        { name: 'caught_up', ok: false, observed: 'lagging' },
        { name: 'other_servers_up', ok: false, fatal: checks >= 2, observed: 's3 failed' },
      ];
    },
    { timeoutSeconds: 600, intervalSeconds: 0.01, what: 'test gate', clock: new FakeClock() },
  );
  assert.deepEqual([outcome.ok, outcome.fatal, outcome.attempts, checks], [false, true, 2, 2]);
});

test('pre-flight without a leader says so, and does not blame ACLs for what the missing leader caused', () => {
  const view = healthyView();
  view.leader = '';
  delete view.autopilot;
  view.readErrors = { autopilot: 'GET /v1/operator/autopilot/health: HTTP 500: No cluster leader' };
  const problems = assessPreflight(servers, view).problems;
  assert.deepEqual(problems.slice(0, 2), [
    'no leader: 127.0.0.1:8500 via s1 reports no Raft leader',
    'autopilot health unavailable: the cluster has no leader to ask (GET /v1/operator/autopilot/health: HTTP 500: No cluster leader)',
  ]);
  assert.ok(!problems.some((p) => /ACL/.test(p)), problems.join('\n'));
});

test('ready: another server that does not answer right now refuses, though Serf and autopilot still call it fine', () => {
  const direct = new Map([
    ['s2', { leader: '127.0.1.12:8300' }],
    ['s3', { error: 'GET /v1/status/leader: connect ECONNREFUSED 127.0.1.13:8500' }],
  ]);
  assert.deepEqual(assessReady(s1, servers, healthyView(), {}, direct), [
    's3 (127.0.1.13) does not answer right now: GET /v1/status/leader: connect ECONNREFUSED 127.0.1.13:8500',
  ]);
  // The target's own silence is no reason to refuse stopping it.
  assert.deepEqual(assessReady(s3, servers, healthyView(), {}, direct), []);
});
