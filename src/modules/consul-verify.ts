import { DEFAULT_HTTP_PORT, DEFAULT_HTTP_TIMEOUT_SECONDS } from '../consul/api.js';
import {
  expectedNodesFromVars,
  DEFAULT_CLIENTS_GROUP,
  DEFAULT_SERVERS_GROUP,
} from '../consul/expected-nodes.js';
import { observeCluster } from '../consul/verify-cluster.js';
import { formatVerifyReport } from '../consul/verify-report-format.js';
import { assessCluster, type VerifyReport } from '../consul/verify.js';
import { TaskFailedError } from '../errors.js';
import type { Change, Module, ModuleContext } from './module.js';

export interface ConsulVerifyArgs {
  servers_group?: string;
  clients_group?: string;
  /** Default: the `consul_http_port` var, else 8500. */
  http_port?: number;
  /** Seconds per HTTP request to an agent. */
  timeout?: number;
  /** Inventory hosts to leave out, e.g. those this run found unreachable (already reported). */
  skip_hosts?: string[];
}

/** The cluster failed verification; `report` is the full picture, `message` lists the problems. */
export class ClusterVerifyError extends TaskFailedError {
  constructor(
    readonly report: VerifyReport,
    readonly table: string,
  ) {
    super(
      `Consul cluster verification failed with ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}:\n` +
        `${report.problems.map((p) => `  - ${p}`).join('\n')}\n\n${table}`,
    );
  }
}

const argsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    servers_group: { type: 'string', minLength: 1, description: 'Inventory group of the Consul servers.' },
    clients_group: {
      type: 'string',
      minLength: 1,
      description: 'Inventory group of the Consul clients (may be absent).',
    },
    http_port: { type: 'integer', minimum: 1, maximum: 65535, description: 'HTTP port of every agent.' },
    timeout: { type: 'number', exclusiveMinimum: 0, maximum: 300, description: 'Seconds per HTTP request.' },
    skip_hosts: {
      type: 'array',
      items: { type: 'string' },
      description: 'Inventory hosts to leave out of the check, e.g. "{{drover_unreachable_hosts}}".',
    },
  },
} as const;

/**
 * consul_verify: reads the whole cluster from the host it runs on and fails unless exactly one
 * leader exists, every inventory server is a Raft voter, every inventory node is an alive member
 * and every agent's role matches the inventory. Read-only, so it also runs under `drover plan`.
 *
 * Why one host sees everything: the host's own agent answers on 127.0.0.1, and the other agents
 * answer on their bind_addr, reached through this host's SSH connection (http() forwards over
 * it). `groups`/`hostvars` cover the whole inventory even under --limit, so `run_once` on any
 * host verifies the whole cluster; run on several hosts it checks it from several vantage points
 * (a partition shows up as disagreement).
 */
export const consulVerifyModule: Module<ConsulVerifyArgs> = {
  name: 'consul_verify',
  argsSchema,
  async plan(args: ConsulVerifyArgs, ctx: ModuleContext): Promise<Change> {
    const skip = new Set(args.skip_hosts ?? []);
    const nodes = expectedNodesFromVars(ctx.vars, {
      serversGroup: args.servers_group ?? DEFAULT_SERVERS_GROUP,
      clientsGroup: args.clients_group ?? DEFAULT_CLIENTS_GROUP,
    }).filter((n) => !skip.has(n.host));
    const here =
      typeof ctx.vars['inventory_hostname'] === 'string' ? ctx.vars['inventory_hostname'] : ctx.host.name;
    const observations = await observeCluster(
      nodes,
      async (node) => ({ transport: ctx.transport, host: node.host === here ? '127.0.0.1' : node.address }),
      {
        httpPort: args.http_port ?? portVar(ctx.vars['consul_http_port']),
        timeoutSeconds: args.timeout ?? DEFAULT_HTTP_TIMEOUT_SECONDS,
      },
    );
    const report = assessCluster(nodes, observations);
    const table = formatVerifyReport(report);
    if (!report.ok) throw new ClusterVerifyError(report, table);
    const leader = report.leader?.host ?? report.leader?.address ?? '?';
    return {
      changed: false,
      readOnly: true,
      summary: `Consul cluster OK: leader ${leader}, ${report.counts.servers} servers, ${report.counts.clients} clients`,
      data: { report, table },
    };
  },
};

/** The deploy playbook's `consul_http_port`, when it is a usable port; otherwise Consul's default. */
function portVar(value: unknown): number {
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536
    ? port
    : DEFAULT_HTTP_PORT;
}
