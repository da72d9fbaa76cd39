import { portVar } from '../../consul/gates/gate-agents.js';
import {
  deepVerify,
  formatDeepReport,
  type DeepNode,
  type DeepReport,
} from '../../consul/verify/deep-verify.js';
import { expectedNodesFromInventory } from '../../consul/verify/expected-nodes.js';
import { TaskFailedError } from '../../errors.js';
import { Connections } from '../connections.js';
import { connectionDefaults, loadCheckedInventory, type CommonOptions } from '../context.js';
import type { Output } from '../output.js';

/**
 * `drover verify --deep`, after the cluster checks passed: HTTP API at every node's bind_addr,
 * the UI on servers with consul_ui (default true), DNS on 8600, gossip encryption on every member
 * (unless consul_gossip_encryption: false), one Consul version everywhere.
 */
export async function deepVerifyCommand(o: CommonOptions, out: Output, json: boolean): Promise<DeepReport> {
  const inventory = await loadCheckedInventory(o, { consul: true, warn: () => undefined });
  const connections = new Connections(inventory, connectionDefaults(o));
  try {
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
    const report = await deepVerify(nodes, (h) => connections.get(h), { expectEncrypted });
    out.result.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDeepReport(report)}\n`);
    if (!report.ok)
      throw new TaskFailedError(`deep verification failed: ${report.problems.length} problem(s)`);
    return report;
  } finally {
    await connections.closeAll();
  }
}
