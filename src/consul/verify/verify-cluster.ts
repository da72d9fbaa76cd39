import { agentMarks } from '../../facts/agent-marks.js';
import { gather } from '../../facts/fact.js';
import type { Inventory } from '../../inventory/types.js';
import type { Transport } from '../../ssh/transport.js';
import { owedWork } from '../agent/agent-owed.js';
import { ConsulApi, DEFAULT_HTTP_PORT, DEFAULT_HTTP_TIMEOUT_SECONDS } from '../api/api.js';
import type { ExpectedNode, NodeObservation, Observations } from './cluster-model.js';
import { expectedNodesFromInventory, type ClusterGroups } from './expected-nodes.js';
import { observeNode } from '../gates/observe-node.js';
import { expectedServices } from './expected-services.js';
import { verifyDeployment, type DeploymentOptions, type DeploymentReport } from './verify-deployment.js';
import { assessCluster, type VerifyReport } from './verify.js';

/** Which connection reaches a node's agent, and at which address as seen from that connection's host. */
export interface AgentRoute {
  transport: Transport;
  host: string;
}
export type RouteToAgent = (node: ExpectedNode) => Promise<AgentRoute>;

export interface ObserveOptions {
  httpPort?: number;
  /** Per HTTP request, in seconds. */
  timeoutSeconds?: number;
  /** Agents asked at once; the total time is bounded by nodes / concurrency × requests × timeout. */
  concurrency?: number;
}

/** Asks every node's agent what it sees. A node whose route fails (SSH down) is unreachable. */
export async function observeCluster(
  nodes: readonly ExpectedNode[],
  route: RouteToAgent,
  options: ObserveOptions = {},
): Promise<Observations> {
  const results = new Map<string, NodeObservation>();
  const queue = [...nodes];
  const worker = async (): Promise<void> => {
    for (let node = queue.shift(); node; node = queue.shift()) {
      results.set(node.host, await observeOne(node, route, options));
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 10, nodes.length));
  await Promise.all(Array.from({ length: workers }, worker));
  // Inventory order, whatever order the answers came in.
  return Object.fromEntries(nodes.map((n) => [n.host, results.get(n.host) as NodeObservation]));
}

async function observeOne(
  node: ExpectedNode,
  route: RouteToAgent,
  options: ObserveOptions,
): Promise<NodeObservation> {
  let target: AgentRoute;
  try {
    target = await route(node);
  } catch (err) {
    return { reachable: false, error: err instanceof Error ? err.message : String(err) };
  }
  const api = new ConsulApi(target.transport, {
    host: target.host,
    port: options.httpPort ?? DEFAULT_HTTP_PORT,
    timeoutSeconds: options.timeoutSeconds ?? DEFAULT_HTTP_TIMEOUT_SECONDS,
  });
  return observeNode(api);
}

export interface VerifyClusterOptions extends ObserveOptions, ClusterGroups {}

export interface VerifyDeploymentOptions extends DeploymentOptions, ClusterGroups {}

/**
 * `drover verify` for a whole deployment: like verifyCluster (each node asked through its own
 * connection on 127.0.0.1), per datacenter when the inventory has several, plus the WAN and the
 * services the inventory declares (catalog and DNS, across datacenters too).
 */
export async function verifyInventoryDeployment(
  inventory: Inventory,
  transportFor: (host: string) => Promise<Transport>,
  options: VerifyDeploymentOptions = {},
): Promise<DeploymentReport> {
  const nodes = expectedNodesFromInventory(inventory, options);
  const services = expectedServices(nodes, (h) => inventory.hosts.get(h)?.vars);
  const report = await verifyDeployment(
    nodes,
    services,
    async (node) => ({ transport: await transportFor(node.host), host: '127.0.0.1' }),
    options,
  );
  const owed = await owedByAgents(nodes, transportFor, (h) => {
    const name = inventory.hosts.get(h)?.vars['consul_container_name'];
    return typeof name === 'string' && name !== '' ? name : 'consul';
  });
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
  transportFor: (host: string) => Promise<Transport>,
  containerOf: (host: string) => string,
): Promise<string[]> {
  const answers = await Promise.all(
    nodes.map(async (node) => {
      try {
        const facts = await gather(await transportFor(node.host), agentMarks(containerOf(node.host)), {
          timeoutSeconds: DEFAULT_HTTP_TIMEOUT_SECONDS,
        });
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
  transportFor: (host: string) => Promise<Transport>,
  options: VerifyClusterOptions = {},
): Promise<VerifyReport> {
  const nodes = expectedNodesFromInventory(inventory, options);
  const observations = await observeCluster(
    nodes,
    async (node) => ({ transport: await transportFor(node.host), host: '127.0.0.1' }),
    options,
  );
  return assessCluster(nodes, observations);
}
