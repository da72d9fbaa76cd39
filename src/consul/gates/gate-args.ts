import type { Vars } from '../../inventory/types.js';
import type { ClusterGroups } from '../verify/expected-nodes.js';

/**
 * Args every Consul gate module shares (consul_preflight, consul_gate): where the cluster is in
 * the inventory and how its agents answer. Kept in one place so the two modules cannot drift.
 */
export interface GateConnectionArgs {
  servers_group?: string;
  clients_group?: string;
  /** Default: the `consul_http_port` var, else 8500. */
  http_port?: number;
  /** Seconds per HTTP request to an agent; default 5. */
  request_timeout?: number;
}

export const gateConnectionSchema = {
  servers_group: { type: 'string', minLength: 1, description: 'Inventory group of the Consul servers.' },
  clients_group: { type: 'string', minLength: 1, description: 'Inventory group of the Consul clients.' },
  http_port: { type: 'integer', minimum: 1, maximum: 65535, description: 'HTTP port of every agent.' },
  request_timeout: {
    type: 'number',
    exclusiveMinimum: 0,
    maximum: 300,
    description: 'Seconds per HTTP request; default 5.',
  },
} as const;

export function gateOptions(
  args: GateConnectionArgs,
): ClusterGroups & { httpPort?: number; requestTimeout?: number } {
  return {
    ...(args.servers_group !== undefined ? { serversGroup: args.servers_group } : {}),
    ...(args.clients_group !== undefined ? { clientsGroup: args.clients_group } : {}),
    ...(args.http_port !== undefined ? { httpPort: args.http_port } : {}),
    ...(args.request_timeout !== undefined ? { requestTimeout: args.request_timeout } : {}),
  };
}

/** The inventory name of the host a task runs on (its agent answers on 127.0.0.1). */
export function hereOf(vars: Vars, hostName: string): string {
  return typeof vars['inventory_hostname'] === 'string' ? vars['inventory_hostname'] : hostName;
}

/**
 * A count arg that may arrive as a templated string: `"{{consul_preflight_result.failure_tolerance}}"`
 * renders to `"1"`. The schema admits integers and digit strings only; `""` (a baseline the
 * pre-flight could not record, under force) means "not given".
 */
export function countArg(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const t = value.trim();
  return t === '' ? undefined : Number(t);
}

/** JSON Schema of such a count: an integer >= 0, or its digits as a string (or empty). */
export const countSchema = (description: string) =>
  ({ type: ['integer', 'string'], minimum: 0, pattern: '^\\s*[0-9]*\\s*$', description }) as const;
