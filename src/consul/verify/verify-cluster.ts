import { agentMarks } from '../../facts/agent-marks.js';
import { factStep } from '../../facts/fact.js';
import type { Inventory } from '../../inventory/types.js';
import { aclTokenOption } from '../api/endpoint.js';
import type { StepRunner } from '../../remote/step.js';
import { owedWork } from '../agent/agent-owed.js';
import { DEFAULT_HTTP_TIMEOUT_SECONDS } from '../api/api.js';
import { agentContainerName } from '../agent/container-name.js';
import type { ExpectedNode } from './cluster-model.js';
import { expectedNodesFromInventory, type ClusterGroups } from './expected-nodes.js';
import { observeCluster, type ObserveOptions } from './observe-cluster.js';
import { expectedServices } from './expected-services.js';
import { verifyDeployment, type DeploymentOptions, type DeploymentReport } from './verify-deployment.js';
import { assessCluster, type VerifyReport } from './verify.js';

export interface VerifyClusterOptions extends ObserveOptions, ClusterGroups {}

export interface VerifyDeploymentOptions extends DeploymentOptions, ClusterGroups {}

/**
 * `drover verify` for a whole deployment: like verifyCluster (each node asked through its own
 * connection on 127.0.0.1), per datacenter when the inventory has several, plus the WAN and the
 * services the inventory declares (catalog and DNS, across datacenters too).
 */
export async function verifyInventoryDeployment(
  inventory: Inventory,
  stepsFor: (host: string) => Promise<StepRunner>,
  options: VerifyDeploymentOptions = {},
): Promise<DeploymentReport> {
  const nodes = expectedNodesFromInventory(inventory, options);
  const services = expectedServices(nodes, (h) => inventory.hosts.get(h)?.vars);
  const report = await verifyDeployment(
    nodes,
    services,
    async (node) => ({
      channel: (await stepsFor(node.host)).channel,
      host: '127.0.0.1',
      ...aclTokenOption(inventory.hosts.get(node.host)?.vars),
    }),
    options,
  );
  const owed = await owedByAgents(nodes, stepsFor, (h) => agentContainerName(inventory.hosts.get(h)?.vars));
  if (owed.length > 0) {
    report.owed = owed;
    report.problems.push(...owed);
    report.ok = false;
  }
  return report;
}

/**
 * A running agent whose files on disk changed since it last read them (an interrupted or
 * refused run wrote them): one problem per such node. Unreachable nodes are already reported.
 */
async function owedByAgents(
  nodes: readonly ExpectedNode[],
  stepsFor: (host: string) => Promise<StepRunner>,
  containerOf: (host: string) => string,
): Promise<string[]> {
  const answers = await Promise.all(
    nodes.map(async (node) => {
      try {
        const steps = await stepsFor(node.host);
        const facts = await steps.run(
          factStep(agentMarks(containerOf(node.host)), { timeoutSeconds: DEFAULT_HTTP_TIMEOUT_SECONDS }),
        );
        return owedWork(facts).reasons.map((why) => `${node.host}: ${why} (drover deploy finishes it)`);
      } catch {
        return [];
      }
    }),
  );
  return answers.flat();
}

/**
 * `drover verify`: each node's agent is asked through that node's own SSH connection on
 * 127.0.0.1 (which the templates always put in client_addr), so a node is judged by its own
 * view, and an SSH failure shows as that node being unreachable rather than aborting the check.
 * Returns the report; the caller prints `formatVerifyReport(report)` and fails unless `report.ok`.
 */
export async function verifyCluster(
  inventory: Inventory,
  stepsFor: (host: string) => Promise<StepRunner>,
  options: VerifyClusterOptions = {},
): Promise<VerifyReport> {
  const nodes = expectedNodesFromInventory(inventory, options);
  const observations = await observeCluster(
    nodes,
    async (node) => ({
      channel: (await stepsFor(node.host)).channel,
      host: '127.0.0.1',
      ...aclTokenOption(inventory.hosts.get(node.host)?.vars),
    }),
    options,
  );
  return assessCluster(nodes, observations);
}
