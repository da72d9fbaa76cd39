import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  parseConnectCaRoots,
  parseAgentMembers,
  parseAgentSelf,
  parseAclReplication,
  parseAutopilotHealth,
  parseRaftConfiguration,
  parseStatusLeader,
  parseStatusPeers,
} from '../../src/consul/api/api-responses.js';
import { ConsulOutputError } from '../../src/consul/api/output-error.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

const rejects = (fn: () => unknown, pattern: RegExp): void =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof ConsulOutputError && pattern.test(e.message),
    String(pattern),
  );

test('/v1/status/leader: an address, or "" without a leader', () => {
  assert.equal(parseStatusLeader('"10.1.10.12:8300"'), '10.1.10.12:8300');
  assert.equal(parseStatusLeader('""'), '');
  rejects(() => parseStatusLeader('10.1.10.12:8300'), /^GET \/v1\/status\/leader: the body is not JSON/);
  rejects(() => parseStatusLeader('null'), /^GET \/v1\/status\/leader: expected a JSON string/);
});

test('/v1/status/peers: a list of ip:port strings', () => {
  assert.deepEqual(parseStatusPeers('["10.1.10.12:8300", "10.1.10.11:8300", "10.1.10.10:8300"]'), [
    '10.1.10.12:8300',
    '10.1.10.11:8300',
    '10.1.10.10:8300',
  ]);
  rejects(
    () => parseStatusPeers('{"peers": []}'),
    /^GET \/v1\/status\/peers: body: expected a list, got object/,
  );
  rejects(() => parseStatusPeers('["a", 3]'), /\[1\]: expected an "ip:port" string/);
});

test('/v1/agent/self: config, member with its role tag, and Stats as consul info', () => {
  const self = parseAgentSelf(fixture('agent-self.json'));
  assert.equal(self.datacenter, 'dc1');
  assert.equal(self.nodeName, 'foobar');
  assert.equal(self.server, true);
  assert.equal(self.version, '1.0.0');
  assert.equal(self.member.role, 'server');
  assert.equal(self.member.status, 'alive');
  assert.equal(self.member.addr, '10.1.10.12');
  assert.equal(self.stats?.raftState, 'Follower');
  assert.equal(self.stats?.caughtUp, true);
  assert.equal(self.stats?.lastContactMs, 27.291304);
  assert.equal(self.stats?.leaderAddr, '10.1.10.11:8300');
  assert.equal(self.stats?.serfLan.encrypted, true);
});

test('/v1/agent/self without Stats (the doc sample) still parses', () => {
  const body = JSON.parse(fixture('agent-self.json')) as Record<string, unknown>;
  delete body['Stats'];
  assert.equal(parseAgentSelf(JSON.stringify(body)).stats, undefined);
});

test('/v1/agent/self: a wrong shape names the endpoint and the field', () => {
  const body = JSON.parse(fixture('agent-self.json')) as {
    Config: Record<string, unknown>;
    Member: Record<string, unknown>;
  };
  body.Config['Server'] = 'yes';
  rejects(
    () => parseAgentSelf(JSON.stringify(body)),
    /^GET \/v1\/agent\/self: Config\.Server: expected true or false, got "yes"/,
  );
  body.Config['Server'] = true;
  body.Member['Status'] = 9;
  rejects(() => parseAgentSelf(JSON.stringify(body)), /Member\.Status: 9 is not a Serf status/);
  rejects(() => parseAgentSelf('<html>502 Bad Gateway</html>'), /the body is not JSON: <html>502/);
  rejects(() => parseAgentSelf('{}'), /Config: expected an object, got undefined/);
});

test('/v1/agent/members: roles from tags, numeric Serf status to words', () => {
  const body = JSON.stringify([
    { Name: 's1', Addr: '10.0.0.1', Port: 8301, Tags: { role: 'consul', dc: 'dc1' }, Status: 1 },
    { Name: 'c1', Addr: '10.0.0.21', Port: 8301, Tags: { role: 'node', dc: 'dc1' }, Status: 4 },
    { Name: 'c2', Addr: '10.0.0.22', Port: 8301, Tags: { role: 'node' }, Status: 3 },
  ]);
  const members = parseAgentMembers(body);
  assert.deepEqual(
    members.map((m) => [m.name, m.role, m.status, m.datacenter]),
    [
      ['s1', 'server', 'alive', 'dc1'],
      ['c1', 'client', 'failed', 'dc1'],
      ['c2', 'client', 'left', undefined],
    ],
  );
  rejects(
    () => parseAgentMembers('[{"Name":"x","Addr":"1.2.3.4","Port":"8301","Status":1}]'),
    /\[0\]\.Port: expected a number/,
  );
});

test('/v1/operator/autopilot/health: 200 healthy, durations parsed, voters known', () => {
  const health = parseAutopilotHealth(200, fixture('autopilot-health.json'));
  assert.equal(health.healthy, true);
  assert.equal(health.failureTolerance, 0);
  assert.deepEqual(
    health.servers.map((s) => [s.name, s.leader, s.voter, s.lastContactMs, s.lastIndex]),
    [
      ['node1', true, true, 0, 46],
      ['node2', false, false, 27.291304, 46],
    ],
  );
});

test('/v1/operator/autopilot/health: Servers null (right after an election) is no server known yet', () => {
  const h = parseAutopilotHealth(429, '{"Healthy":false,"FailureTolerance":0,"Servers":null}');
  assert.deepEqual([h.healthy, h.failureTolerance, h.servers], [false, 0, []]);
});

test('/v1/operator/autopilot/health: 429 means unhealthy; other statuses and contradictions are errors', () => {
  const unhealthy = fixture('autopilot-health.json').replace('"Healthy": true', '"Healthy": false');
  assert.equal(parseAutopilotHealth(429, unhealthy).healthy, false);
  rejects(() => parseAutopilotHealth(200, unhealthy), /HTTP 200 but Healthy is false/);
  rejects(() => parseAutopilotHealth(429, fixture('autopilot-health.json')), /HTTP 429 but Healthy is true/);
  rejects(
    () => parseAutopilotHealth(403, 'Permission denied'),
    /HTTP 403, expected 200 \(healthy\) or 429 \(unhealthy\): Permission denied/,
  );
  rejects(
    () =>
      parseAutopilotHealth(
        200,
        fixture('autopilot-health.json').replace('"LastContact":"0s"', '"LastContact":"soon"'),
      ),
    /Servers\[0\]\.LastContact: "soon" is not a Go duration/,
  );
});

test('/v1/operator/raft/configuration: servers with leader and voter flags', () => {
  const body = JSON.stringify({
    Servers: [
      { ID: '127.0.0.1:8300', Node: 'alice', Address: '127.0.0.1:8300', Leader: true, Voter: true },
      {
        ID: '127.0.0.2:8300',
        Node: 'bob',
        Address: '127.0.0.2:8300',
        Leader: false,
        Voter: false,
        ProtocolVersion: '3',
      },
    ],
    Index: 22,
  });
  assert.deepEqual(parseRaftConfiguration(body), {
    servers: [
      { id: '127.0.0.1:8300', node: 'alice', address: '127.0.0.1:8300', leader: true, voter: true },
      {
        id: '127.0.0.2:8300',
        node: 'bob',
        address: '127.0.0.2:8300',
        leader: false,
        voter: false,
        protocolVersion: '3',
      },
    ],
    index: 22,
  });
  rejects(
    () => parseRaftConfiguration('{"Servers": null}'),
    /raft\/configuration: Servers: expected a list, got null/,
  );
});

test('/v1/connect/ca/roots: the root certificates, and a wrong shape named by its field', () => {
  const body = JSON.stringify({
    ActiveRootID: 'ab:cd',
    TrustDomain: '11111111-2222-3333-4444-555555555555.consul',
    Roots: [
      {
        ID: 'ab:cd',
        Name: 'Consul CA Primary Cert',
        RootCert: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        Active: true,
      },
    ],
  });
  assert.deepEqual(parseConnectCaRoots(body), [
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  ]);
  assert.deepEqual(parseConnectCaRoots('{"ActiveRootID":"","Roots":[]}'), []);
  assert.throws(
    () => parseConnectCaRoots('{"Roots":[{"Name":"x"}]}'),
    (e: unknown) =>
      e instanceof ConsulOutputError &&
      /GET \/v1\/connect\/ca\/roots/.test(e.message) &&
      /Roots\[0\]/.test(e.message),
  );
});

test('/v1/acl/replication: a secondary status read as Consul writes it; none without ACLs', () => {
  // The shape of agent/structs ACLReplicationStatus (docs: api-docs/acl/index.mdx).
  const body = JSON.stringify({
    Enabled: true,
    Running: true,
    SourceDatacenter: 'dc1',
    ReplicationType: 'tokens',
    ReplicatedIndex: 1976,
    ReplicatedRoleIndex: 1,
    ReplicatedTokenIndex: 2018,
    LastSuccess: '2018-11-03T06:28:58Z',
    LastError: '2016-11-03T06:28:28Z',
    LastErrorMessage: 'failed to retrieve remote ACL policies: rpc error making call: ACL not found',
  });
  assert.deepEqual(parseAclReplication(200, body), {
    enabled: true,
    running: true,
    sourceDatacenter: 'dc1',
    replicationType: 'tokens',
    lastSuccess: '2018-11-03T06:28:58Z',
    lastError: '2016-11-03T06:28:28Z',
    lastErrorMessage: 'failed to retrieve remote ACL policies: rpc error making call: ACL not found',
  });
  assert.equal(parseAclReplication(401, 'ACL support disabled'), undefined);
  assert.throws(() => parseAclReplication(500, 'No cluster leader'), ConsulOutputError);
});
