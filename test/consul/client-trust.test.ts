/** clientTrustByDatacenter: which server each client's Connect CA roots are asked of, and how often. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterTls } from '../../src/consul/api/endpoint.js';
import { clientTrustByDatacenter } from '../../src/consul/verify/client-trust.js';
import type { ExpectedNode } from '../../src/consul/verify/cluster-model.js';

const node = (host: string, role: 'server' | 'client', datacenter: string): ExpectedNode => ({
  host,
  nodeName: host,
  address: `10.0.0.${host.length}`,
  role,
  datacenter,
});
const TLS: ClusterTls = { ca: 'AGENT-CA', domain: 'consul', httpsPort: 8501, http: 'loopback' };
const nodes = [
  node('e1', 'server', 'east'),
  node('e2', 'server', 'east'),
  node('w1', 'server', 'west'),
  node('ec', 'client', 'east'),
  node('ec2', 'client', 'east'),
  node('wc', 'client', 'west'),
  node('nc', 'client', 'north'),
];
const byHost = (h: string) => nodes.find((n) => n.host === h)!;

test("asks once per datacenter, of a server of the client's own datacenter, the preferred one first", async () => {
  const asked: string[] = [];
  const trustOf = clientTrustByDatacenter(
    nodes,
    () => TLS,
    async (server, tls) => {
      asked.push(server.host);
      return { ...tls, ca: `${tls.ca}+ROOTS-${server.datacenter}` };
    },
    byHost('e2'),
  );
  assert.equal((await trustOf(byHost('ec')))?.ca, 'AGENT-CA+ROOTS-east');
  assert.equal((await trustOf(byHost('ec2')))?.ca, 'AGENT-CA+ROOTS-east');
  assert.equal((await trustOf(byHost('wc')))?.ca, 'AGENT-CA+ROOTS-west');
  assert.deepEqual(asked, ['e2', 'w1']);
  // A datacenter with no server in the inventory keeps the agent CA alone.
  assert.equal((await trustOf(byHost('nc')))?.ca, 'AGENT-CA');
  assert.deepEqual(asked, ['e2', 'w1']);
});

test('a client without TLS is asked about nothing', async () => {
  const trustOf = clientTrustByDatacenter(
    nodes,
    () => undefined,
    () => assert.fail('no roots are needed without TLS'),
  );
  assert.equal(await trustOf(byHost('ec')), undefined);
});
