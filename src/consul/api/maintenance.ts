import { asObject, parseJsonBody } from './json-shape.js';

/**
 * Node maintenance as the agent API has it (agent_endpoint.go AgentNodeMaintenance): `PUT
 * /v1/agent/maintenance?enable=true&reason=...` registers the critical `_node_maintenance`
 * check, which takes every service of the node out of `?passing` and DNS; Consul persists it, so
 * it outlives a restart until `enable=false`. It needs node:write on the agent's node.
 */
export const MAINTENANCE_PATH = '/v1/agent/maintenance';
export const AGENT_SERVICES_PATH = '/v1/agent/services';
export const AGENT_CHECKS_PATH = '/v1/agent/checks';
export const NODE_MAINTENANCE_CHECK = '_node_maintenance';

/** drover's reasons start with this, so it never takes a node out of a maintenance it did not set. */
export const DROVER_REASON_PREFIX = 'drover: ';

export const maintenancePath = (enable: boolean, reason = ''): string =>
  `${MAINTENANCE_PATH}?enable=${enable}${enable && reason ? `&reason=${encodeURIComponent(reason)}` : ''}`;

/** The service names of `GET /v1/agent/services`, an object by service ID. */
export function parseAgentServiceNames(body: string): string[] {
  const source = `GET ${AGENT_SERVICES_PATH}`;
  const o = asObject(parseJsonBody(body, source), source, '');
  const names = Object.values(o).flatMap((s) => {
    const svc = s !== null && typeof s === 'object' ? (s as Record<string, unknown>)['Service'] : undefined;
    return typeof svc === 'string' ? [svc] : [];
  });
  return [...new Set(names)].sort();
}

/** The node's maintenance, from `GET /v1/agent/checks`: its reason, or undefined when not in it. */
export function parseNodeMaintenance(body: string): { reason: string } | undefined {
  const source = `GET ${AGENT_CHECKS_PATH}`;
  const o = asObject(parseJsonBody(body, source), source, '');
  const check = o[NODE_MAINTENANCE_CHECK];
  if (check === null || typeof check !== 'object') return undefined;
  const notes = (check as Record<string, unknown>)['Notes'];
  return { reason: typeof notes === 'string' ? notes : '' };
}
