import { moduleContext } from '../modules/context.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterVerifyError, consulVerifyModule } from '../../src/modules/consul-verify.js';
import type { ConversationContext } from '../../src/modules/module.js';
import type { VerifyReport } from '../../src/consul/verify/verify.js';
import { TaskFailedError, ConfigError } from '../../src/errors.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { objectValidator } from '../../src/config/schema.js';
import { scriptAgent, type FakeCluster } from './scripted-agents.js';

const cluster: FakeCluster = {
  leader: '10.0.0.12:8300',
  nodes: [
    { name: 's1', ip: '10.0.0.11', server: true },
    { name: 's2', ip: '10.0.0.12', server: true },
    { name: 's3', ip: '10.0.0.13', server: true },
    { name: 'c1', ip: '10.0.0.21', server: false },
  ],
};

const vars = {
  inventory_hostname: 's1',
  groups: { all: ['s1', 's2', 's3', 'c1'], servers: ['s1', 's2', 's3'], clients: ['c1'] },
  hostvars: Object.fromEntries(
    cluster.nodes.map((n) => [
      n.name,
      { address: `192.168.0.${n.ip.split('.')[3]}`, bind_addr: n.ip, consul_datacenter: 'dc1' },
    ]),
  ),
};

function context(transport: RecordingTransport, check = false): ConversationContext {
  return moduleContext({
    transport,
    host: {
      name: 's1',
      address: '192.168.0.11',
      groups: ['all', 'servers'],
      vars: vars.hostvars['s1'] ?? {},
    },
    vars,
    check,
    diff: false,
    baseDir: '/work/main',
  });
}

/** The transport of s1: its own agent on 127.0.0.1, the others on their bind_addr. */
function s1Transport(skip: readonly string[] = [], port = 8500): RecordingTransport {
  const t = new RecordingTransport('s1');
  for (const n of cluster.nodes) {
    if (skip.includes(n.name)) continue;
    scriptAgent(t, n.name === 's1' ? '127.0.0.1' : n.ip, n, cluster, port);
  }
  return t;
}

test('a healthy cluster passes, read-only and unchanged, with the report registered', async () => {
  const t = s1Transport();
  const change = await consulVerifyModule.run({}, context(t, true));
  assert.equal(change.changed, false);
  assert.equal(consulVerifyModule.kind, 'conversation');
  assert.equal(change.summary, 'Consul cluster OK: leader s2, 3 servers, 1 clients');
  const report = change.data?.['report'] as VerifyReport;
  assert.equal(report.ok, true);
  assert.deepEqual(report.leader, { address: '10.0.0.12:8300', host: 's2' });
  assert.match(String(change.data?.['table']), /^NODE\s+ROLE/);
  // Its own agent through loopback; every other agent at its bind_addr, never at the SSH address.
  assert.deepEqual([...new Set(t.httpCalls.map((c) => c.host))].sort(), [
    '10.0.0.12',
    '10.0.0.13',
    '10.0.0.21',
    '127.0.0.1',
  ]);
  assert.ok(t.httpCalls.every((c) => c.method === 'GET' && c.port === 8500 && c.timeoutSeconds === 5));
  // Clients are not asked for Raft state.
  assert.ok(!t.httpCalls.some((c) => c.host === '10.0.0.21' && c.path.includes('raft')));
  assert.deepEqual(t.commands, []);
});

test('an agent that does not answer fails the task with the problems and the table', async () => {
  const t = s1Transport(['s3']);
  await assert.rejects(consulVerifyModule.run({}, context(t)), (e: unknown) => {
    assert.ok(e instanceof ClusterVerifyError);
    assert.ok(e instanceof TaskFailedError);
    assert.equal(e.report.ok, false);
    assert.match(
      e.message,
      /^Consul cluster verification failed with 1 problem:\n {2}- s3: the Consul agent did not answer \(GET \/v1\/agent\/self: no answer from 10\.0\.0\.13:8500 via s1: /,
    );
    assert.match(e.message, /\ns3\s+server\s+10\.0\.0\.13\s+no answer\s+alive\s+\?\s+voter\n/);
    return true;
  });
});

test('a failed member is caught even when its agent still answers for itself', async () => {
  const degraded: FakeCluster = {
    ...cluster,
    nodes: cluster.nodes.map((n) => (n.name === 'c1' ? { ...n, status: 4 } : n)),
  };
  const t = new RecordingTransport('s1');
  for (const n of degraded.nodes) scriptAgent(t, n.name === 's1' ? '127.0.0.1' : n.ip, n, degraded);
  await assert.rejects(
    consulVerifyModule.run({}, context(t)),
    /c1: is not an alive member \(failed per all of s1, s2, s3, c1\)/,
  );
});

test('http_port, timeout and group names come from the args', async () => {
  const t = s1Transport([], 8501);
  const change = await consulVerifyModule.run(
    { http_port: 8501, timeout: 2, servers_group: 'servers', clients_group: 'nobody' },
    context(t),
  );
  const report = change.data?.['report'] as VerifyReport;
  assert.deepEqual(report.counts, { servers: 3, clients: 0 });
  // c1 is not in the inventory under that clients group, so it is a stranger: a warning, not a failure.
  assert.deepEqual(report.warnings, ['member "c1" (10.0.0.21) is alive but not in the inventory']);
  assert.ok(t.httpCalls.every((c) => c.port === 8501 && c.timeoutSeconds === 2));
});

test("without http_port the deploy playbook's consul_http_port is used", async () => {
  const t = s1Transport([], 18500);
  const ctx = { ...context(t), vars: { ...vars, consul_http_port: 18500 } };
  const change = await consulVerifyModule.run({}, ctx);
  assert.equal(change.changed, false);
  assert.ok(t.httpCalls.length > 0 && t.httpCalls.every((c) => c.port === 18500));
});

test('an empty servers group is a configuration error, not a pass', async () => {
  await assert.rejects(
    consulVerifyModule.run({ servers_group: 'consul_servers' }, context(s1Transport())),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /group "consul_servers" has no hosts/);
      return true;
    },
  );
});

test("the args schema compiles under drover's strict ajv and rejects unknown or wrong args", () => {
  const validate = objectValidator(consulVerifyModule.argsSchema);
  assert.equal(validate({ servers_group: 'servers', http_port: 8500, timeout: 3 }), true);
  assert.equal(validate({ http_port: 'eighty' }), false);
  assert.equal(validate({ timeout: 0 }), false);
  assert.equal(validate({ server_group: 'servers' }), false);
  assert.equal(validate.errors?.[0]?.keyword, 'additionalProperties');
});

test('with plain HTTP off, run on a client: the Connect roots come from a server over HTTPS, and vouch for the client', async () => {
  const AGENT_CA = '-----BEGIN CERTIFICATE-----\nagent-ca\n-----END CERTIFICATE-----';
  const CONNECT_ROOT = '-----BEGIN CERTIFICATE-----\nconnect-root\n-----END CERTIFICATE-----';
  const t = new RecordingTransport('c1');
  for (const n of cluster.nodes) scriptAgent(t, n.name === 'c1' ? '127.0.0.1' : n.ip, n, cluster, 8501);
  t.onHttp('GET 10.0.0.11:8501/v1/connect/ca/roots', {
    body: JSON.stringify({ ActiveRootID: 'r1', Roots: [{ ID: 'r1', RootCert: CONNECT_ROOT, Active: true }] }),
  });
  const offVars = {
    ...vars,
    inventory_hostname: 'c1',
    consul_tls_enable: true,
    consul_tls_http: 'off',
    drover_tls_ca_pem: AGENT_CA,
  };
  const change = await consulVerifyModule.run(
    {},
    moduleContext({
      transport: t,
      host: { name: 'c1', address: '192.168.0.21', groups: ['all', 'clients'], vars: {} },
      vars: offVars,
      diff: false,
    }),
  );
  assert.equal(change.summary, 'Consul cluster OK: leader s2, 3 servers, 1 clients');
  const roots = t.httpCalls.filter((c) => c.path === '/v1/connect/ca/roots');
  // Asked of s1 at its address, checked as a server against the agent CA only.
  assert.deepEqual(
    roots.map((c) => [c.host, c.tls?.servername, c.tls?.ca]),
    [['10.0.0.11', 'server.dc1.consul', AGENT_CA]],
  );
  // The client's own agent (its auto_encrypt certificate) is checked against both.
  const own = t.httpCalls.filter((c) => c.host === '127.0.0.1');
  assert.ok(own.length > 0);
  for (const c of own) assert.equal(c.tls?.ca, `${AGENT_CA}\n${CONNECT_ROOT}`);
});
