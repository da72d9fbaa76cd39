import type { HostChannel } from '../../remote/step.js';
import type { Secret } from '../../shell/secret.js';
import type { HttpTls } from '../../ssh/transport.js';
import { mapLimit } from '../../util/limit.js';
import { ConsulApi, DEFAULT_HTTP_PORT, DEFAULT_HTTP_TIMEOUT_SECONDS } from '../api/api.js';
import { observeNode } from '../gates/observe-node.js';
import type { ExpectedNode, NodeObservation, Observations } from './cluster-model.js';

/** Which connection reaches a node's agent, and at which address as seen from that connection's host. */
export interface AgentRoute {
  channel: HostChannel;
  host: string;
  /** The agent's HTTPS port and CA when the route is HTTPS (endpoint.ts agentEndpoint); absent: plain HTTP on ObserveOptions.httpPort. */
  port?: number;
  tls?: HttpTls;
  /** The ACL token the requests carry. */
  token?: Secret;
}

/** The ConsulApi options of a route: its own port and TLS when it has them, else plain `httpPort`. */
export const routeEndpoint = (
  target: AgentRoute,
  httpPort: number,
): { host: string; port: number; tls?: HttpTls; token?: Secret } => ({
  host: target.host,
  port: target.port ?? httpPort,
  ...(target.tls && { tls: target.tls }),
  ...(target.token && { token: target.token }),
});
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
  const results = await mapLimit(nodes, options.concurrency ?? 10, (node) =>
    observeOne(node, route, options),
  );
  // Inventory order, whatever order the answers came in.
  return Object.fromEntries(nodes.map((n, i) => [n.host, results[i] as NodeObservation]));
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
  const api = new ConsulApi(target.channel, {
    ...routeEndpoint(target, options.httpPort ?? DEFAULT_HTTP_PORT),
    timeoutSeconds: options.timeoutSeconds ?? DEFAULT_HTTP_TIMEOUT_SECONDS,
  });
  return observeNode(api);
}
