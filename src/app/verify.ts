import { withConnectRoots } from '../consul/api/api.js';
import {
  aclTokenFromVars,
  agentEndpoint,
  clusterTlsFromVars,
  type ClusterTls,
} from '../consul/api/endpoint.js';
import type { ExpectedNode } from '../consul/verify/cluster-model.js';
import { clientTrustByDatacenter } from '../consul/verify/client-trust.js';
import type { Vars } from '../inventory/types.js';
import { portVar } from '../consul/gates/gate-agents.js';
import { deepVerify, type DeepNode, type DeepReport } from '../consul/verify/deep-verify.js';
import { expectedNodesFromInventory } from '../consul/verify/expected-nodes.js';
import { verifyInventoryDeployment } from '../consul/verify/verify-cluster.js';
import type { DeploymentReport } from '../consul/verify/verify-deployment.js';
import type { Session } from './session.js';

/**
 * Asks every node's agent (through that node's own SSH connection): in every datacenter
 * exactly one leader, every server a raft peer, every inventory node an alive member, every
 * role as the inventory says; with several datacenters every server an alive WAN member; every
 * declared service in the catalog and answered by DNS.
 */
export async function verifyCluster(session: Session): Promise<DeploymentReport> {
  const inventory = await session.load({ consul: true });
  return verifyInventoryDeployment(inventory, (host) => session.reader(host));
}

/**
 * `verify --deep`, after the cluster checks: HTTP API at every node's bind_addr, the UI on
 * servers with consul_ui (default true), DNS on 8600, gossip encryption on every member (unless
 * consul_gossip_encryption: false), one Consul version everywhere.
 */
export async function deepVerifyCluster(session: Session): Promise<DeepReport> {
  const inventory = await session.load({ consul: true });
  const expected = expectedNodesFromInventory(inventory);
  const varsOf = (host: string) => inventory.hosts.get(host)?.vars ?? {};
  const clientTls = await clientTlsOf(session, expected, varsOf);
  const nodes: DeepNode[] = expected.map((n) => {
    const v = varsOf(n.host);
    // At its address (here: false), as another node reaches it: HTTPS there on a TLS cluster.
    const target = {
      here: false,
      address: n.address,
      role: n.role,
      datacenter: n.datacenter,
      httpPort: portVar(v['consul_http_port']),
    };
    const tls = n.role === 'client' ? clientTls.get(n.host) : clusterTlsFromVars(v);
    return {
      ...n,
      api: agentEndpoint(target, tls, aclTokenFromVars(v)),
      dnsPort: portVar(v['consul_dns_port'] ?? 8600),
      ui: v['consul_ui'] !== false && v['consul_ui'] !== 'false',
    };
  });
  const expectEncrypted = ![...inventory.hosts.values()].some(
    (h) => h.vars['consul_gossip_encryption'] === false,
  );
  return deepVerify(nodes, (h) => session.reader(h), { expectEncrypted });
}

/**
 * Each TLS client's trust (clientTrustByDatacenter), the Connect CA's roots asked of a server's
 * own agent through that server's connection.
 */
async function clientTlsOf(
  session: Session,
  nodes: readonly ExpectedNode[],
  varsOf: (host: string) => Vars,
): Promise<Map<string, ClusterTls | undefined>> {
  const trustOf = clientTrustByDatacenter(
    nodes,
    (client) => clusterTlsFromVars(varsOf(client.host)),
    (server, tls) => {
      const v = varsOf(server.host);
      const own = {
        here: true,
        address: server.address,
        role: 'server',
        httpPort: portVar(v['consul_http_port']),
      } as const;
      const via = agentEndpoint(own, clusterTlsFromVars(v), aclTokenFromVars(v));
      return session.reader(server.host).then(
        (steps) => withConnectRoots(tls, steps.channel, via),
        () => tls,
      );
    },
  );
  const out = new Map<string, ClusterTls | undefined>();
  for (const client of nodes.filter((n) => n.role === 'client')) out.set(client.host, await trustOf(client));
  return out;
}
