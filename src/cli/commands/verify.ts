import { TaskFailedError } from '../../errors.js';
import { verifyCluster } from '../../consul/verify-cluster.js';
import { formatVerifyReport } from '../../consul/verify-report-format.js';
import type { VerifyReport } from '../../consul/verify.js';
import { Connections } from '../connections.js';
import { connectionDefaults, loadCheckedInventory, type CommonOptions } from '../context.js';
import type { Output } from '../output.js';

/**
 * `drover verify`: asks every node's agent (through that node's own SSH connection) and fails
 * unless exactly one leader exists, every server is a raft peer, every inventory node is an
 * alive member and every role matches the inventory.
 */
export async function verifyCommand(o: CommonOptions, out: Output, json: boolean): Promise<VerifyReport> {
  const inventory = await loadCheckedInventory(o, { consul: true, warn: out.warn });
  const connections = new Connections(inventory, connectionDefaults(o));
  try {
    const report = await verifyCluster(inventory, (host) => connections.get(host));
    if (json) out.result.write(`${JSON.stringify(report, null, 2)}\n`);
    else out.result.write(`${formatVerifyReport(report)}\n`);
    if (!report.ok) throw new TaskFailedError(`cluster verification failed: ${report.problems.length} problem(s)`);
    return report;
  } finally {
    await connections.closeAll();
  }
}
