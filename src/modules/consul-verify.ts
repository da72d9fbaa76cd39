import { DEFAULT_HTTP_PORT, DEFAULT_HTTP_TIMEOUT_SECONDS, withConnectRoots } from '../consul/api/api.js';
import {
  expectedNodesFromVars,
  hostvarsOf,
  DEFAULT_CLIENTS_GROUP,
  DEFAULT_SERVERS_GROUP,
} from '../consul/verify/expected-nodes.js';
import { DEFAULT_DNS_PORT } from '../consul/api/dns.js';
import {
  aclTokenFromVars,
  agentEndpoint,
  clusterTlsFromVars,
  type ClusterTls,
} from '../consul/api/endpoint.js';
import { portVar } from '../consul/gates/gate-agents.js';
import { expectedServices } from '../consul/verify/expected-services.js';
import { clientTrustByDatacenter } from '../consul/verify/client-trust.js';
import { formatDeploymentReport } from '../consul/verify/verify-deployment-format.js';
import { verifyDeployment, type DeploymentReport } from '../consul/verify/verify-deployment.js';
import type { VerifyReport } from '../consul/verify/verify.js';
import type { ExpectedNode } from '../consul/verify/cluster-model.js';
import { TaskFailedError } from '../errors.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';
import { secondsSchema } from './schema-parts.js';

export interface ConsulVerifyArgs {
  servers_group?: string;
  clients_group?: string;
  /** Default: the `consul_http_port` var, else 8500. */
  http_port?: number;
  /** Seconds per HTTP request to an agent. */
  timeout?: number;
  /** Inventory hosts to leave out, e.g. those this run found unreachable (already reported). */
  skip_hosts?: string[];
  /** Check the services hosts declare in `consul_services` (catalog and DNS); default true. */
  services?: boolean;
  /** Default: the `consul_dns_port` var, else 8600. */
  dns_port?: number;
}

/** The cluster failed verification; `report` is the full picture, `message` lists the problems. */
export class ClusterVerifyError extends TaskFailedError {
  constructor(
    readonly report: DeploymentReport,
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
    timeout: secondsSchema('Seconds per HTTP request.', 300),
    skip_hosts: {
      type: 'array',
      items: { type: 'string' },
      description: 'Inventory hosts to leave out of the check, e.g. "{{drover_unreachable_hosts}}".',
    },
    services: {
      type: 'boolean',
      description:
        "Check every service in the hosts' consul_services: in the catalog, and in DNS (default true).",
    },
    dns_port: { type: 'integer', minimum: 1, maximum: 65535, description: 'DNS port of every agent.' },
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
export const consulVerifyModule: ConversationModule<ConsulVerifyArgs> = {
  kind: 'conversation',
  name: 'consul_verify',
  argsSchema,
  async run(args: ConsulVerifyArgs, ctx: ConversationContext): Promise<Outcome> {
    const skip = new Set(args.skip_hosts ?? []);
    const nodes = expectedNodesFromVars(ctx.vars, {
      serversGroup: args.servers_group ?? DEFAULT_SERVERS_GROUP,
      clientsGroup: args.clients_group ?? DEFAULT_CLIENTS_GROUP,
    }).filter((n) => !skip.has(n.host));
    const here =
      typeof ctx.vars['inventory_hostname'] === 'string' ? ctx.vars['inventory_hostname'] : ctx.host.name;
    const hostvars = hostvarsOf(ctx.vars);
    const services = args.services === false ? [] : expectedServices(nodes, (h) => hostvars[h]);
    const httpPort = args.http_port ?? portVar(ctx.vars['consul_http_port'], DEFAULT_HTTP_PORT);
    const tls = clusterTlsFromVars(ctx.vars);
    const endpointOf = (node: ExpectedNode, nodeTls: ClusterTls | undefined) =>
      agentEndpoint(
        {
          here: node.host === here,
          address: node.address,
          role: node.role,
          datacenter: node.datacenter,
          httpPort,
        },
        nodeTls,
        aclTokenFromVars(ctx.vars),
      );
    // The Connect CA's roots are asked of a server (this host's agent when it is one), which the
    // agent CA vouches for: a client's own HTTPS certificate is the one that needs those roots.
    const clientTlsOf = clientTrustByDatacenter(
      nodes,
      () => tls,
      (server, agentCa) => withConnectRoots(agentCa, ctx.steps.channel, endpointOf(server, agentCa)),
      nodes.find((n) => n.host === here),
    );
    const report = await verifyDeployment(
      nodes,
      services,
      async (node) => ({
        channel: ctx.steps.channel,
        ...endpointOf(node, node.role === 'client' ? await clientTlsOf(node) : tls),
      }),
      {
        httpPort,
        timeoutSeconds: args.timeout ?? DEFAULT_HTTP_TIMEOUT_SECONDS,
        dnsPort: args.dns_port ?? portVar(ctx.vars['consul_dns_port'], DEFAULT_DNS_PORT),
      },
    );
    const table = formatDeploymentReport(report);
    if (!report.ok) throw new ClusterVerifyError(report, table);
    return { changed: false, summary: summarize(report), data: { report, table } };
  },
};

/** One line: the leader (per datacenter when there are several), sizes, WAN and services. */
function summarize(report: DeploymentReport): string {
  const leaderOf = (r: VerifyReport) => r.leader?.host ?? r.leader?.address ?? '?';
  const parts = report.datacenters
    ? [
        `${report.datacenters.length} datacenters (${report.datacenters.map((d) => `${d.name}: leader ${leaderOf(d.report)}`).join(', ')})`,
        `${report.counts.servers} servers, ${report.counts.clients} clients`,
        'WAN joined',
      ]
    : [`leader ${leaderOf(report)}`, `${report.counts.servers} servers`, `${report.counts.clients} clients`];
  if (report.services && report.services.length > 0) {
    const names = [...new Set(report.services.map((s) => s.name))];
    parts.push(`${names.length} service${names.length === 1 ? '' : 's'} in catalog and DNS`);
  }
  return `Consul cluster OK: ${parts.join(', ')}`;
}
