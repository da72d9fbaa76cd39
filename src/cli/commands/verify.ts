import { TaskFailedError } from '../../errors.js';
import { verifyInventoryDeployment } from '../../consul/verify/verify-cluster.js';
import { formatDeploymentReport } from '../../consul/verify/verify-deployment-format.js';
import type { DeploymentReport } from '../../consul/verify/verify-deployment.js';
import { Connections } from '../connections.js';
import { connectionDefaults, loadCheckedInventory, type CommonOptions } from '../context.js';
import type { Output } from '../output.js';

/**
 * `drover verify`: asks every node's agent (through that node's own SSH connection) and fails
 * unless, in every datacenter, exactly one leader exists, every server is a raft peer, every
 * inventory node is an alive member and every role matches the inventory; with several
 * datacenters every server must be an alive WAN member; every service the inventory declares
 * must be in the catalog and answered by DNS (`NAME.service.consul`, and
 * `NAME.service.DC.consul` from the other datacenters).
 */
export async function verifyCommand(o: CommonOptions, out: Output, json: boolean): Promise<DeploymentReport> {
  const inventory = await loadCheckedInventory(o, { consul: true, warn: out.warn });
  const connections = new Connections(inventory, connectionDefaults(o));
  try {
    const report = await verifyInventoryDeployment(inventory, (host) => connections.get(host));
    if (json) out.result.write(`${JSON.stringify(report, null, 2)}\n`);
    else out.result.write(`${formatDeploymentReport(report)}\n`);
    if (!report.ok)
      throw new TaskFailedError(`cluster verification failed: ${report.problems.length} problem(s)`);
    return report;
  } finally {
    await connections.closeAll();
  }
}
