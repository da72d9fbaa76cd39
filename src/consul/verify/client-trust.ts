import type { ClusterTls } from '../api/endpoint.js';
import type { ExpectedNode } from './cluster-model.js';

/**
 * How HTTPS to each client is checked. A client's certificate comes from auto_encrypt, signed
 * by its datacenter's Connect CA (each datacenter has one of its own), which the agent CA does
 * not vouch for: a client is checked with the agent CA plus those roots, asked once per
 * datacenter of one of its servers (`prefer` when it is a server there). `rootsVia` asks that
 * server and must not fail (withConnectRoots keeps the agent CA alone when the roots cannot be
 * read); a datacenter with no server in `nodes` keeps the agent CA alone too.
 */
export function clientTrustByDatacenter(
  nodes: readonly ExpectedNode[],
  tlsOf: (client: ExpectedNode) => ClusterTls | undefined,
  rootsVia: (server: ExpectedNode, tls: ClusterTls) => Promise<ClusterTls>,
  prefer?: ExpectedNode,
): (client: ExpectedNode) => Promise<ClusterTls | undefined> {
  const byDatacenter = new Map<string | undefined, Promise<ClusterTls | undefined>>();
  return (client) => {
    const tls = tlsOf(client);
    if (!tls) return Promise.resolve(undefined);
    const dc = client.datacenter;
    let trust = byDatacenter.get(dc);
    if (!trust) {
      const server =
        prefer?.role === 'server' && prefer.datacenter === dc
          ? prefer
          : nodes.find((n) => n.role === 'server' && n.datacenter === dc);
      trust = server ? rootsVia(server, tls) : Promise.resolve(tls);
      byDatacenter.set(dc, trust);
    }
    return trust;
  };
}
