import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyCluster } from '../../src/consul/verify/verify-cluster.js';
import { formatVerifyReport } from '../../src/consul/verify/verify-report-format.js';
import { UnreachableError } from '../../src/errors.js';
import type { Group, Host, Inventory } from '../../src/inventory/types.js';
import { StepExecutor } from '../../src/runner/step-executor.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { scriptAgent, type FakeCluster } from './scripted-agents.js';

const cluster: FakeCluster = {
  leader: '10.0.0.11:8300',
  nodes: [
    { name: 's1', ip: '10.0.0.11', server: true },
    { name: 's2', ip: '10.0.0.12', server: true },
    { name: 's3', ip: '10.0.0.13', server: true },
    { name: 'c1', ip: '10.0.0.21', server: false },
  ],
};

function inventory(): Inventory {
  const hosts = new Map<string, Host>(
    cluster.nodes.map((n) => {
      const groups = ['all', n.server ? 'servers' : 'clients'];
      // s1..s3 bind explicitly; c1 has no bind_addr, so its SSH address is the bind address.
      const vars = n.server
        ? { address: `192.168.0.${n.name.slice(1)}`, bind_addr: n.ip }
        : { address: n.ip };
      return [n.name, { name: n.name, address: vars.address, groups, vars }];
    }),
  );
  const group = (name: string, members: string[]): Group => ({
    name,
    vars: {},
    children: [],
    directHosts: members,
    hosts: members,
  });
  const groups = new Map<string, Group>([
    ['all', group('all', ['s1', 's2', 's3', 'c1'])],
    ['servers', group('servers', ['s1', 's2', 's3'])],
    ['clients', group('clients', ['c1'])],
  ]);
  return { file: 'inventories/test.yaml', hosts, groups, warnings: [] };
}

test('drover verify asks each node its own agent on 127.0.0.1 through its own connection', async () => {
  const transports = new Map<string, RecordingTransport>();
  const report = await verifyCluster(inventory(), async (host) => {
    const t = new RecordingTransport(host);
    const node = cluster.nodes.find((n) => n.name === host);
    assert.ok(node);
    scriptAgent(t, '127.0.0.1', node, cluster);
    transports.set(host, t);
    return new StepExecutor(t, true, () => []);
  });
  assert.equal(report.ok, true, report.problems.join('\n'));
  assert.deepEqual(
    report.nodes.map((n) => [n.host, n.address]),
    [
      ['s1', '10.0.0.11'],
      ['s2', '10.0.0.12'],
      ['s3', '10.0.0.13'],
      ['c1', '10.0.0.21'],
    ],
  );
  for (const [host, t] of transports) {
    assert.ok(t.httpCalls.length > 0, host);
    assert.ok(
      t.httpCalls.every((c) => c.host === '127.0.0.1'),
      host,
    );
  }
});

test('a host that cannot be reached over SSH is reported, and the others are still checked', async () => {
  const report = await verifyCluster(
    inventory(),
    async (host) => {
      if (host === 's2') throw new UnreachableError('s2', 'connect ETIMEDOUT 192.168.0.2:22');
      const t = new RecordingTransport(host);
      scriptAgent(t, '127.0.0.1', cluster.nodes.find((n) => n.name === host) ?? cluster.nodes[0]!, cluster);
      return new StepExecutor(t, true, () => []);
    },
    { concurrency: 2, timeoutSeconds: 1 },
  );
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems, [
    's2: the Consul agent did not answer (s2: unreachable: connect ETIMEDOUT 192.168.0.2:22)',
  ]);
  assert.match(formatVerifyReport(report), /\ns2\s+server\s+10\.0\.0\.12\s+no answer\s+alive\s+\?\s+voter\n/);
});
