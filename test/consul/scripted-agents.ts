import type { RecordingTransport } from '../../src/ssh/recording-transport.js';

/**
 * Scripts a RecordingTransport with the HTTP answers Consul agents give (shapes from Consul's API
 * docs), for a small cluster described as data. Test helper only.
 */
export interface FakeNode {
  name: string;
  ip: string;
  server: boolean;
  /** Serf status number as /v1/agent/members sends it (1 alive, 4 failed). */
  status?: number;
}

export interface FakeCluster {
  nodes: FakeNode[];
  leader: string;
  datacenter?: string;
}

const member = (n: FakeNode, dc: string) => ({
  Name: n.name,
  Addr: n.ip,
  Port: 8301,
  Tags: { role: n.server ? 'consul' : 'node', dc, port: '8300', vsn: '2' },
  Status: n.status ?? 1,
  ProtocolMin: 1,
  ProtocolMax: 5,
  ProtocolCur: 2,
  DelegateMin: 2,
  DelegateMax: 5,
  DelegateCur: 4,
});

/** Makes `node`'s agent answer on `listen:port` through transport `t`. */
export function scriptAgent(
  t: RecordingTransport,
  listen: string,
  node: FakeNode,
  cluster: FakeCluster,
  port = 8500,
): void {
  const dc = cluster.datacenter ?? 'dc1';
  const at = `GET ${listen}:${port}`;
  t.onHttp(`${at}/v1/agent/self`, {
    body: JSON.stringify({
      Config: {
        Datacenter: dc,
        NodeName: node.name,
        NodeID: `id-${node.name}`,
        Server: node.server,
        Revision: 'abc',
        Version: '1.20.1',
      },
      Member: member(node, dc),
      Stats: { consul: { server: String(node.server) } },
    }),
  });
  t.onHttp(`${at}/v1/status/leader`, { body: JSON.stringify(cluster.leader) });
  t.onHttp(`${at}/v1/agent/members`, { body: JSON.stringify(cluster.nodes.map((n) => member(n, dc))) });
  const servers = cluster.nodes.filter((n) => n.server);
  t.onHttp(`${at}/v1/operator/raft/configuration?stale`, {
    body: JSON.stringify({
      Servers: servers.map((s) => ({
        ID: `id-${s.name}`,
        Node: s.name,
        Address: `${s.ip}:8300`,
        Leader: `${s.ip}:8300` === cluster.leader,
        Voter: true,
        ProtocolVersion: '3',
      })),
      Index: 10,
    }),
  });
  if (!node.server) return;
  // Autopilot's view, forwarded from the leader: a server is healthy while Serf has it alive.
  const health = servers.map((s) => ({
    ID: `id-${s.name}`,
    Name: s.name,
    Address: `${s.ip}:8300`,
    SerfStatus: (s.status ?? 1) === 1 ? 'alive' : 'failed',
    Version: '1.20.1',
    Leader: `${s.ip}:8300` === cluster.leader,
    LastContact: '0s',
    LastTerm: 2,
    LastIndex: 120,
    Healthy: (s.status ?? 1) === 1,
    Voter: true,
    StableSince: '2026-12-07T08:00:00Z',
  }));
  const healthy = health.every((s) => s.Healthy);
  t.onHttp(`${at}/v1/operator/autopilot/health`, {
    status: healthy ? 200 : 429,
    body: JSON.stringify({
      Healthy: healthy,
      FailureTolerance: Math.max(
        0,
        health.filter((s) => s.Healthy).length - (Math.floor(servers.length / 2) + 1),
      ),
      Servers: health,
    }),
  });
}
