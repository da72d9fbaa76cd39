import { aclTokenFromVars } from '../consul/api/endpoint.js';
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
  const nodes: DeepNode[] = expectedNodesFromInventory(inventory).map((n) => {
    const v = inventory.hosts.get(n.host)?.vars ?? {};
    return {
      ...n,
      httpPort: portVar(v['consul_http_port']),
      dnsPort: portVar(v['consul_dns_port'] ?? 8600),
      ui: v['consul_ui'] !== false && v['consul_ui'] !== 'false',
    };
  });
  const expectEncrypted = ![...inventory.hosts.values()].some(
    (h) => h.vars['consul_gossip_encryption'] === false,
  );
  const token = [...inventory.hosts.values()].map((h) => aclTokenFromVars(h.vars)).find(Boolean);
  return deepVerify(nodes, (h) => session.reader(h), { expectEncrypted, ...(token && { token }) });
}
