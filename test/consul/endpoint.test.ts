import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aclTokenFromVars,
  agentEndpoint,
  clusterTlsFromVars,
  type ClusterTls,
} from '../../src/consul/api/endpoint.js';
import { GateAgents } from '../../src/consul/gates/gate-agents.js';
import { observeCluster } from '../../src/consul/verify/observe-cluster.js';
import type { HostChannel } from '../../src/remote/step.js';
import { Secret } from '../../src/shell/secret.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import type { HttpRequest } from '../../src/ssh/transport.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const server = { address: '10.0.0.12', role: 'server' as const, datacenter: 'dc1', httpPort: 8500 };
const client = { ...server, address: '10.0.0.21', role: 'client' as const };
const tls = (http: ClusterTls['http']): ClusterTls => ({ ca: CA, domain: 'consul', httpsPort: 8501, http });

describe("the endpoint of drover's own API calls", () => {
  it('is plain HTTP as before when the cluster has no TLS, or keeps plain HTTP everywhere ("on")', () => {
    for (const t of [undefined, tls('on')]) {
      assert.deepEqual(agentEndpoint({ ...server, here: true }, t), { host: '127.0.0.1', port: 8500 });
      assert.deepEqual(agentEndpoint({ ...server, here: false }, t), { host: '10.0.0.12', port: 8500 });
    }
  });

  it('loopback: the plain listener for the agent on this host, HTTPS as server.<dc>.consul for a peer', () => {
    assert.deepEqual(agentEndpoint({ ...server, here: true }, tls('loopback')), {
      host: '127.0.0.1',
      port: 8500,
    });
    assert.deepEqual(agentEndpoint({ ...server, here: false }, tls('loopback')), {
      host: '10.0.0.12',
      port: 8501,
      tls: { ca: CA, servername: 'server.dc1.consul' },
    });
  });

  it("checks a peer server by the cluster's domain", () => {
    assert.equal(
      agentEndpoint({ ...server, here: false }, { ...tls('loopback'), domain: 'example.internal' }).tls
        ?.servername,
      'server.dc1.example.internal',
    );
  });

  it('off: HTTPS everywhere, the agent on this host checked as localhost', () => {
    assert.deepEqual(agentEndpoint({ ...server, here: true }, tls('off')), {
      host: '127.0.0.1',
      port: 8501,
      tls: { ca: CA, servername: 'localhost' },
    });
    assert.deepEqual(agentEndpoint({ ...client, here: false }, tls('off')).tls?.servername, 'localhost');
  });

  it('comes from the deploy vars and the CA the session adds; nothing without consul_tls_enable: true', () => {
    assert.equal(clusterTlsFromVars({ drover_tls_ca_pem: CA }), undefined);
    assert.equal(
      clusterTlsFromVars({ consul_tls_enable: true }),
      undefined,
      'no CA: the session resolved none',
    );
    assert.deepEqual(clusterTlsFromVars({ consul_tls_enable: true, drover_tls_ca_pem: CA }), tls('loopback'));
    assert.deepEqual(
      clusterTlsFromVars({
        consul_tls_enable: true,
        drover_tls_ca_pem: CA,
        consul_tls_https_port: 9501,
        consul_tls_http: 'off',
        consul_domain: 'example.internal',
      }),
      { ca: CA, domain: 'example.internal', httpsPort: 9501, http: 'off' },
    );
  });

  it('reaches the health gates: a peer server is asked over HTTPS through the gating host', async () => {
    const sent: HttpRequest[] = [];
    const channel: HostChannel = {
      host: 's1',
      http: async (req) => {
        sent.push(req);
        return { status: 200, headers: {}, body: '"10.0.0.11:8300"' };
      },
      tcpExchange: async () => Buffer.alloc(0),
    };
    const vars = {
      inventory_hostname: 's1',
      groups: { all: ['s1', 's2'], servers: ['s1', 's2'] },
      hostvars: { s1: { bind_addr: '10.0.0.11' }, s2: { bind_addr: '10.0.0.12' } },
      consul_tls_enable: true,
      drover_tls_ca_pem: CA,
    };
    const agents = GateAgents.fromVars(vars, channel, 's1');
    for (const api of agents.serverApis()) await api.leader();
    assert.deepEqual(
      sent.map((r) => [r.host, r.port, r.tls?.servername]),
      [
        ['127.0.0.1', 8500, undefined],
        ['10.0.0.12', 8501, 'server.dc1.consul'],
      ],
    );
  });

  it('reaches verify: a route that says HTTPS is asked over HTTPS on its own port', async () => {
    const sent: HttpRequest[] = [];
    const channel: HostChannel = {
      host: 's1',
      http: async (req) => {
        sent.push(req);
        return { status: 500, headers: {}, body: 'stop here' };
      },
      tcpExchange: async () => Buffer.alloc(0),
    };
    const node = {
      host: 's2',
      nodeName: 's2',
      address: '10.0.0.12',
      role: 'server' as const,
      datacenter: 'dc1',
    };
    await observeCluster(
      [node],
      async (n) => ({
        channel,
        ...agentEndpoint({ ...n, here: false, httpPort: 8500 }, tls('loopback')),
      }),
      { httpPort: 8500 },
    );
    assert.ok(sent.length > 0);
    for (const r of sent)
      assert.deepEqual([r.host, r.port, r.tls?.servername], ['10.0.0.12', 8501, 'server.dc1.consul']);
  });
});

describe("the ACL token on an agent's endpoint", () => {
  const token = new Secret('6a1f0c6e-2b8d-4c59-9d3a-51c9b7e2f4a0');
  const target = {
    here: false,
    address: '10.0.0.2',
    role: 'server' as const,
    datacenter: 'dc1',
    httpPort: 8500,
  };

  it('comes from the session var, only as a Secret, and travels on plain and HTTPS endpoints alike', () => {
    assert.equal(aclTokenFromVars({ drover_acl_token: token }), token);
    assert.equal(
      aclTokenFromVars({ drover_acl_token: token.reveal() }),
      undefined,
      'a bare string is never used',
    );
    assert.equal(agentEndpoint(target, undefined, token).token, token);
    const https = agentEndpoint(target, { ca: 'PEM', domain: 'consul', httpsPort: 8501, http: 'off' }, token);
    assert.equal(https.port, 8501);
    assert.equal(https.token, token);
    assert.equal('token' in agentEndpoint(target, undefined), false);
  });

  it('reaches every gate call through GateAgents.fromVars', () => {
    const vars = {
      inventory_hostname: 's1',
      groups: { all: ['s1'], servers: ['s1'], clients: [] },
      hostvars: { s1: { bind_addr: '10.0.0.1' } },
      drover_acl_token: token,
    };
    const t = new RecordingTransport('s1');
    const agents = GateAgents.fromVars(vars, t, 's1');
    assert.equal(agents.api(agents.node('s1')).token, token);
  });
});
