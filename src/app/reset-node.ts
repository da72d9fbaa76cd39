import { expectedNodesFromInventory } from '../consul/verify/expected-nodes.js';
import { UsageError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';

/**
 * `reset-node HOST`: the node to reset and the question to confirm first. Only a Consul server
 * or client of the inventory, and only that one host.
 */
export function resetNodeTarget(
  inventory: Inventory,
  host: string,
  o: { limit?: string | undefined; inventoryFile: string },
): { question: string } {
  const node = expectedNodesFromInventory(inventory).find((n) => n.host === host);
  if (!node)
    throw new UsageError(`reset-node: "${host}" is not a Consul server or client in ${o.inventoryFile}`);
  if (o.limit) throw new UsageError('reset-node takes one HOST, not --limit');
  const dataDir = String(inventory.hosts.get(host)?.vars['consul_data_dir'] ?? '/opt/consul/data');
  return {
    question:
      `reset ${node.role} ${host}: stop its agent, move ${dataDir} aside (kept), ` +
      `force-leave ${node.nodeName}, start it again?`,
  };
}
