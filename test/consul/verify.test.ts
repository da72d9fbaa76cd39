import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  ExpectedNode,
  MemberView,
  NodeObservation,
  PeerView,
} from '../../src/consul/verify/cluster-model.js';
import type { AutopilotHealth } from '../../src/consul/api/api-responses.js';
import { assessCluster } from '../../src/consul/verify/verify.js';
import { formatVerifyReport } from '../../src/consul/verify/verify-report-format.js';

const expected: ExpectedNode[] = [
  { host: 's1', nodeName: 's1', address: '10.0.0.11', role: 'server', datacenter: 'dc1' },
  { host: 's2', nodeName: 's2', address: '10.0.0.12', role: 'server', datacenter: 'dc1' },
  { host: 's3', nodeName: 's3', address: '10.0.0.13', role: 'server', datacenter: 'dc1' },
  { host: 'c1', nodeName: 'c1', address: '10.0.0.21', role: 'client', datacenter: 'dc1' },
  { host: 'c2', nodeName: 'c2', address: '10.0.0.22', role: 'client', datacenter: 'dc1' },
];

const allMembers = (): MemberView[] =>
  expected.map((n) => ({ name: n.nodeName, address: n.address, status: 'alive', role: n.role }));
const allPeers = (): PeerView[] =>
  expected
    .filter((n) => n.role === 'server')
    .map((n) => ({ address: `${n.address}:8300`, voter: true, node: n.host }));

/** Autopilot's answer (as every server forwards it from the leader), each server healthy or not. */
const autopilot = (isHealthy: (host: string) => boolean): AutopilotHealth => {
  const servers = expected
    .filter((n) => n.role === 'server')
    .map((n) => ({
      id: `id-${n.host}`,
      name: n.nodeName,
      address: `${n.address}:8300`,
      serfStatus: isHealthy(n.host) ? 'alive' : 'failed',
      version: '1.20.1',
      lastTerm: 2,
      stableSince: '2026-12-07T08:00:00Z',
      healthy: isHealthy(n.host),
      voter: true,
      lastContactMs: 0,
      lastIndex: isHealthy(n.host) ? 120 : 0,
      leader: n.host === 's1',
    }));
  return { healthy: servers.every((s) => s.healthy), failureTolerance: 1, servers };
};

/** What a healthy cluster reports, with s1 leading; tests change one thing each. */
function healthy(): Record<string, NodeObservation> {
  return Object.fromEntries(
    expected.map((n): [string, NodeObservation] => {
      const obs: NodeObservation = {
        reachable: true,
        self: { nodeName: n.nodeName, datacenter: 'dc1', role: n.role },
        leader: '10.0.0.11:8300',
        members: allMembers(),
        errors: [],
      };
      if (n.role === 'server') {
        obs.peers = allPeers();
        obs.autopilot = autopilot(() => true);
      }
      return [n.host, obs];
    }),
  );
}

function reachable(obs: NodeObservation | undefined): Extract<NodeObservation, { reachable: true }> {
  assert.ok(obs?.reachable);
  return obs;
}

test('a healthy cluster: one leader, every server a voter, every node alive', () => {
  const report = assessCluster(expected, healthy());
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.deepEqual(report.leader, { address: '10.0.0.11:8300', host: 's1' });
  assert.deepEqual(
    report.nodes.map((n) => [n.host, n.agent, n.member, n.raft?.peer, n.raft?.peersSeen]),
    [
      ['s1', 'ok', 'alive', 'voter', 3],
      ['s2', 'ok', 'alive', 'voter', 3],
      ['s3', 'ok', 'alive', 'voter', 3],
      ['c1', 'ok', 'alive', undefined, undefined],
      ['c2', 'ok', 'alive', undefined, undefined],
    ],
  );
  const text = formatVerifyReport(report);
  const lines = text.split('\n');
  assert.match(lines[0] ?? '', /^NODE\s+ROLE\s+ADDRESS\s+AGENT\s+MEMBER\s+LEADER SEEN\s+RAFT$/);
  assert.match(lines[1] ?? '', /^s1\s+server\s+10\.0\.0\.11\s+ok\s+alive\s+s1\s+voter \(sees 3 peers\)$/);
  assert.match(lines[4] ?? '', /^c1\s+client\s+10\.0\.0\.21\s+ok\s+alive\s+s1\s+-$/);
  assert.match(text, /Leader: s1 \(10\.0\.0\.11:8300\)/);
  assert.match(text, /Cluster OK \(3 servers, 2 clients\)/);
});

test('no leader anywhere fails, naming every node that sees none', () => {
  const obs = healthy();
  for (const o of Object.values(obs)) reachable(o).leader = '';
  const report = assessCluster(expected, obs);
  assert.equal(report.ok, false);
  assert.equal(report.leader, undefined);
  assert.deepEqual(report.problems, [
    's1: sees no leader',
    's2: sees no leader',
    's3: sees no leader',
    'c1: sees no leader',
    'c2: sees no leader',
  ]);
  const text = formatVerifyReport(report);
  assert.match(text, /Leader: none agreed on/);
  assert.match(text, /Cluster NOT OK \(3 servers, 2 clients\): 5 problems:\n {2}- s1: sees no leader/);
});

test('two leaders (a split) is a disagreement, not a leader', () => {
  const obs = healthy();
  reachable(obs['s3']).leader = '10.0.0.13:8300';
  reachable(obs['c2']).leader = '10.0.0.13:8300';
  const report = assessCluster(expected, obs);
  assert.equal(report.ok, false);
  assert.equal(report.leader, undefined);
  assert.deepEqual(report.problems, [
    'the agents disagree on the leader: 10.0.0.11:8300 (per s1, s2, c1) vs 10.0.0.13:8300 (per s3, c2)',
  ]);
});

test('a leader that is not an inventory server fails', () => {
  const obs = healthy();
  for (const o of Object.values(obs)) reachable(o).leader = '10.0.0.99:8300';
  const report = assessCluster(expected, obs);
  assert.deepEqual(report.leader, { address: '10.0.0.99:8300' });
  assert.deepEqual(report.problems, [
    'the leader 10.0.0.99:8300 is not the bind address of any inventory server',
  ]);
  assert.match(formatVerifyReport(report), /Leader: 10\.0\.0\.99:8300 \(not in the inventory\)/);
});

test('a server missing from Raft, a non-voter, and a stranger peer are all problems', () => {
  const obs = healthy();
  for (const host of ['s1', 's2', 's3']) {
    reachable(obs[host]).peers = [
      { address: '10.0.0.11:8300', voter: true, node: 's1' },
      { address: '10.0.0.12:8300', voter: false, node: 's2' },
      { address: '10.0.0.50:8300', voter: true, node: 'old-s9' },
    ];
  }
  const report = assessCluster(expected, obs);
  assert.deepEqual(report.problems, [
    's2: is a Raft peer but not a voter (per all of s1, s2, s3)',
    's3: is not a Raft peer (per all of s1, s2, s3)',
    'Raft peer 10.0.0.50:8300 (node "old-s9") is not an inventory server, yet counts toward quorum (per all of s1, s2, s3); ' +
      'if it is gone for good: consul operator raft remove-peer -address=10.0.0.50:8300',
  ]);
  assert.equal(report.nodes.find((n) => n.host === 's3')?.raft?.peer, 'missing');
  assert.match(formatVerifyReport(report), /\ns2 .* non-voter \(sees 3 peers\)\n/);
});

test('peers known only from /v1/status/peers (no voter flag) still count as peers', () => {
  const obs = healthy();
  for (const host of ['s1', 's2', 's3'])
    reachable(obs[host]).peers = allPeers().map(({ address }) => ({ address }));
  const report = assessCluster(expected, obs);
  assert.equal(report.ok, true);
  assert.equal(report.nodes[0]?.raft?.peer, 'peer');
});

test('a failed client fails verification, saying who sees it failed', () => {
  const obs = healthy();
  for (const o of Object.values(obs)) {
    const r = reachable(o);
    r.members = allMembers().map((m) => (m.name === 'c2' ? { ...m, status: 'failed' } : m));
  }
  obs['c2'] = {
    reachable: false,
    error: 'GET /v1/agent/self: no answer from 127.0.0.1:8500 via c2: connect ECONNREFUSED',
  };
  const report = assessCluster(expected, obs);
  assert.deepEqual(report.problems, [
    'c2: the Consul agent did not answer (GET /v1/agent/self: no answer from 127.0.0.1:8500 via c2: connect ECONNREFUSED)',
    'c2: is not an alive member (failed per all of s1, s2, s3, c1)',
  ]);
  assert.match(formatVerifyReport(report), /\nc2\s+client\s+10\.0\.0\.22\s+no answer\s+failed\s+\?\s+-\n/);
});

test('members seen differently by different agents show as mixed', () => {
  const obs = healthy();
  reachable(obs['c1']).members = allMembers().filter((m) => m.name !== 's3');
  const report = assessCluster(expected, obs);
  assert.equal(report.nodes.find((n) => n.host === 's3')?.member, 'mixed');
  assert.deepEqual(report.problems, ['s3: is not an alive member (not listed per c1)']);
});

test('roles, node names and datacenters must match the inventory', () => {
  const obs = healthy();
  reachable(obs['c1']).self = { nodeName: 'c1', datacenter: 'dc1', role: 'server' };
  reachable(obs['c2']).self = { nodeName: 'client-2', datacenter: 'dc2', role: 'client' };
  const report = assessCluster(expected, obs);
  assert.deepEqual(report.problems, [
    'c1: the inventory says client, but its agent runs as a server',
    'c2: its agent\'s node name is "client-2", expected "c2"',
    'c2: its agent is in datacenter "dc2", expected "dc1"',
  ]);
  assert.match(formatVerifyReport(report), /\nc1\s+client \(runs as server\)\s/);
});

test('when a node does not answer, gossip tags still reveal a wrong role', () => {
  const obs = healthy();
  obs['c1'] = { reachable: false, error: 'ssh: connect timed out' };
  for (const host of ['s1', 's2', 's3', 'c2']) {
    reachable(obs[host]).members = allMembers().map((m) => (m.name === 'c1' ? { ...m, role: 'server' } : m));
  }
  const report = assessCluster(expected, obs);
  assert.deepEqual(report.problems, [
    'c1: the Consul agent did not answer (ssh: connect timed out)',
    'c1: the inventory says client, but gossip shows it as a server',
  ]);
});

test('members outside the inventory are warnings, with the cleanup command for ghosts', () => {
  const obs = healthy();
  for (const o of Object.values(obs)) {
    reachable(o).members = [
      ...allMembers(),
      { name: 'old-c7', address: '10.0.0.77', status: 'failed', role: 'client' },
      { name: 'laptop', address: '10.0.0.88', status: 'alive', role: 'client' },
    ];
  }
  const report = assessCluster(expected, obs);
  assert.equal(report.ok, true);
  assert.deepEqual(report.warnings, [
    'member "old-c7" (10.0.0.77) is failed and not in the inventory; if it is gone for good: consul force-leave -prune old-c7',
    'member "laptop" (10.0.0.88) is alive but not in the inventory',
  ]);
  assert.match(formatVerifyReport(report), /Warnings:\n {2}- member "old-c7"/);
});

test('nothing answering at all is a failure on every count, not a silent pass', () => {
  const obs = Object.fromEntries(
    expected.map((n) => [n.host, { reachable: false as const, error: 'refused' }]),
  );
  const report = assessCluster(expected, obs);
  assert.equal(report.ok, false);
  assert.equal(report.problems.length, 6);
  assert.equal(
    report.problems[5],
    'no Consul agent answered, so nothing shows that the cluster has a leader',
  );
});

test('a partial read is reported against the node it came from', () => {
  const obs = healthy();
  const s2 = reachable(obs['s2']);
  delete s2.peers;
  s2.errors.push('GET /v1/operator/raft/configuration: HTTP 403 from 127.0.0.1:8500 via s2');
  const report = assessCluster(expected, obs);
  assert.deepEqual(report.problems, [
    's2: GET /v1/operator/raft/configuration: HTTP 403 from 127.0.0.1:8500 via s2',
  ]);
});

test('a server alive in every member list but not yet healthy in autopilot fails verify, as it would fail a roll', () => {
  // Autopilot looks every 2 s: just after a server rejoins, gossip says alive and autopilot not yet.
  const obs = healthy();
  for (const s of ['s1', 's2', 's3']) reachable(obs[s]).autopilot = autopilot((h) => h !== 's3');
  const report = assessCluster(expected, obs);
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems, [
    'autopilot reports the cluster unhealthy (HTTP 429); unhealthy servers: s3 (10.0.0.13:8300: serf failed, last contact 0ms, index 0)',
  ]);
});

test('autopilot health that cannot be read is a warning, not a failure', () => {
  const obs = healthy();
  for (const s of ['s1', 's2', 's3']) {
    const o = reachable(obs[s]);
    delete o.autopilot;
    o.autopilotError = 'HTTP 403: Permission denied: token lacks operator:read';
  }
  const report = assessCluster(expected, obs);
  assert.equal(report.ok, true);
  assert.deepEqual(report.warnings, [
    'autopilot health could not be read, so it is unverified: HTTP 403: Permission denied: token lacks operator:read',
  ]);
});

test('a datacenter that replicates ACLs fails verify until replication has succeeded, and while it fails', () => {
  const never = '0001-01-01T00:00:00Z';
  const status = (lastSuccess: string, lastError: string, lastErrorMessage = '') => ({
    enabled: true,
    running: true,
    sourceDatacenter: 'east',
    replicationType: 'tokens',
    lastSuccess,
    lastError,
    lastErrorMessage,
  });
  const verdict = (r: ReturnType<typeof status>) => {
    const obs = healthy();
    for (const s of ['s1', 's2', 's3']) reachable(obs[s]).aclReplication = r;
    return assessCluster(expected, obs);
  };
  const notFound = 'failed to retrieve remote ACL policies: rpc error making call: ACL not found';
  assert.deepEqual(verdict(status(never, '2026-12-07T10:00:00Z', notFound)).problems, [
    `dc1: ACL replication from east has not completed yet: ${notFound}`,
  ]);
  assert.deepEqual(verdict(status('2026-12-07T10:00:00Z', '2026-12-07T10:00:05Z', notFound)).problems, [
    `dc1: ACL replication from east is failing: ${notFound}`,
  ]);
  // An error before the last success is history: replication recovered.
  assert.equal(verdict(status('2026-12-07T10:00:05Z', '2026-12-07T10:00:00Z', notFound)).ok, true);
  // The primary answers a zero status: nothing to judge there.
  assert.equal(
    verdict({ ...status(never, never), enabled: false, running: false, sourceDatacenter: '' }).ok,
    true,
  );
});
