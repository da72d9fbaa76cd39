import { ConsulApi, DEFAULT_HTTP_PORT, DEFAULT_HTTP_TIMEOUT_SECONDS } from '../api/api.js';
import type { ExpectedNode, Observations } from './cluster-model.js';
import { DEFAULT_DOMAIN } from '../../tls/consul-conventions.js';
import { DEFAULT_DNS_PORT, lookupA, RCODE_NAMES } from '../api/dns.js';
import type { ExpectedService } from './expected-services.js';
import {
  observeCluster,
  routeEndpoint,
  type AgentRoute,
  type ObserveOptions,
  type RouteToAgent,
} from './observe-cluster.js';
import { assessCluster, type VerifyReport } from './verify.js';

/**
 * Verification of a whole deployment: every datacenter's cluster (one leader, voters, alive
 * members; judged per datacenter), the WAN federation between datacenters, and the services
 * the inventory declares (in the catalog, and answered by DNS, also from other datacenters).
 */
export interface DeploymentOptions extends ObserveOptions {
  dnsPort?: number;
  /** Seconds per DNS lookup. */
  dnsTimeoutSeconds?: number;
}

export interface DatacenterReport {
  name: string;
  report: VerifyReport;
}

export interface WanReport {
  ok: boolean;
  /** Inventory servers whose `consul members -wan` view was read. */
  checkedFrom: string[];
  problems: string[];
}

export interface DnsCheck {
  /** Inventory host whose agent was asked. */
  from: string;
  query: string;
  rcode: string;
  addresses: string[];
  ok: boolean;
}

export interface ServiceReport {
  name: string;
  /** Datacenter the instances are declared in (as its agents report it). */
  datacenter: string;
  instances: { host: string; address: string; port?: number }[];
  /** Inventory host whose agent's catalog was read; absent when no agent of the datacenter answered. */
  catalogFrom?: string;
  dns: DnsCheck[];
  problems: string[];
}

export interface DeploymentReport extends VerifyReport {
  /** One entry per datacenter, when the inventory describes more than one. */
  datacenters?: DatacenterReport[];
  wan?: WanReport;
  services?: ServiceReport[];
  /** Running agents that still owe a restart or reload for the files on their host. */
  owed?: string[];
}

/** Datacenter of a node: what the inventory says, else what its agent reports. */
function datacenterOf(node: ExpectedNode, observations: Observations): string {
  const obs = observations[node.host];
  return node.datacenter ?? (obs?.reachable ? obs.self.datacenter : '') ?? '';
}

export async function verifyDeployment(
  nodes: readonly ExpectedNode[],
  services: readonly ExpectedService[],
  route: RouteToAgent,
  options: DeploymentOptions = {},
): Promise<DeploymentReport> {
  const observations = await observeCluster(nodes, route, options);
  const byDc = new Map<string, ExpectedNode[]>();
  for (const node of nodes) {
    const dc = node.datacenter ?? '';
    byDc.set(dc, [...(byDc.get(dc) ?? []), node]);
  }
  const report: DeploymentReport =
    byDc.size <= 1 ? assessCluster(nodes, observations) : mergeDatacenters(byDc, observations);

  const api = async (node: ExpectedNode): Promise<{ api: ConsulApi; target: AgentRoute }> => {
    const target = await route(node);
    return {
      target,
      api: new ConsulApi(target.channel, {
        ...routeEndpoint(target, options.httpPort ?? DEFAULT_HTTP_PORT),
        timeoutSeconds: options.timeoutSeconds ?? DEFAULT_HTTP_TIMEOUT_SECONDS,
      }),
    };
  };

  if (byDc.size > 1) {
    report.wan = await checkWan(nodes, observations, api);
    report.problems.push(...report.wan.problems);
  }
  if (services.length > 0) {
    report.services = await checkServices(nodes, services, observations, api, route, options);
    for (const s of report.services) report.problems.push(...s.problems);
  }
  report.ok = report.problems.length === 0;
  return report;
}

function mergeDatacenters(byDc: Map<string, ExpectedNode[]>, observations: Observations): DeploymentReport {
  const datacenters: DatacenterReport[] = [];
  for (const [name, dcNodes] of byDc) {
    const own = Object.fromEntries(dcNodes.map((n) => [n.host, observations[n.host]]));
    datacenters.push({ name: name || '(unnamed)', report: assessCluster(dcNodes, own as Observations) });
  }
  const tag = (dc: string) => (s: string) => `datacenter ${dc}: ${s}`;
  return {
    ok: datacenters.every((d) => d.report.ok),
    nodes: datacenters.flatMap((d) => d.report.nodes),
    problems: datacenters.flatMap((d) => d.report.problems.map(tag(d.name))),
    warnings: datacenters.flatMap((d) => d.report.warnings.map(tag(d.name))),
    counts: {
      servers: datacenters.reduce((n, d) => n + d.report.counts.servers, 0),
      clients: datacenters.reduce((n, d) => n + d.report.counts.clients, 0),
    },
    datacenters,
  };
}

type ApiFor = (node: ExpectedNode) => Promise<{ api: ConsulApi; target: AgentRoute }>;

/** Every server that answered must list every inventory server, of every datacenter, as alive in its WAN pool. */
async function checkWan(
  nodes: readonly ExpectedNode[],
  observations: Observations,
  apiFor: ApiFor,
): Promise<WanReport> {
  const servers = nodes.filter((n) => n.role === 'server');
  const expected = servers.map((s) => ({
    host: s.host,
    name: `${s.nodeName}.${datacenterOf(s, observations)}`,
  }));
  const checkedFrom: string[] = [];
  const problems: string[] = [];
  for (const viewer of servers) {
    const obs = observations[viewer.host];
    if (!obs?.reachable || obs.self.role !== 'server') continue;
    let members;
    try {
      members = await (await apiFor(viewer)).api.wanMembers();
    } catch (err) {
      problems.push(
        `${viewer.host}: could not read its WAN members: ${err instanceof Error ? err.message : String(err)}`,
      );
      continue;
    }
    checkedFrom.push(viewer.host);
    const missing = expected.filter((e) => !members.some((m) => m.name === e.name && m.status === 'alive'));
    if (missing.length > 0) {
      problems.push(
        `${viewer.host}: \`consul members -wan\` does not list ${missing.map((m) => m.name).join(', ')} as alive ` +
          `(are retry_join_wan and port 8302 open between the datacenters?)`,
      );
    }
  }
  if (checkedFrom.length === 0 && problems.length === 0)
    problems.push('no server answered, so the WAN is unverified');
  return { ok: problems.length === 0, checkedFrom, problems };
}

async function checkServices(
  nodes: readonly ExpectedNode[],
  services: readonly ExpectedService[],
  observations: Observations,
  apiFor: ApiFor,
  route: RouteToAgent,
  options: DeploymentOptions,
): Promise<ServiceReport[]> {
  // One answering agent per datacenter reads the catalog and resolves names; clients first,
  // since that is where applications ask.
  const askers = new Map<string, ExpectedNode>();
  for (const node of [...nodes].sort((a, b) => (a.role === b.role ? 0 : a.role === 'client' ? -1 : 1))) {
    const dc = datacenterOf(node, observations);
    if (observations[node.host]?.reachable && !askers.has(dc)) askers.set(dc, node);
  }
  const byKey = new Map<string, { name: string; dc: string; instances: ExpectedService[] }>();
  for (const s of services) {
    const node = nodes.find((n) => n.host === s.host);
    const dc = node ? datacenterOf(node, observations) : (s.datacenter ?? '');
    const key = `${dc}\u0000${s.name}`;
    const entry = byKey.get(key) ?? { name: s.name, dc, instances: [] };
    entry.instances.push(s);
    byKey.set(key, entry);
  }
  const lookup = async (from: ExpectedNode, query: string, want: readonly string[]): Promise<DnsCheck> => {
    const target = await route(from);
    const answer = await lookupA(
      {
        channel: target.channel,
        host: target.host,
        port: options.dnsPort ?? DEFAULT_DNS_PORT,
        timeoutSeconds: options.dnsTimeoutSeconds ?? 5,
      },
      query,
    );
    const got = [...new Set(answer.addresses)].sort();
    const ok = answer.rcode === 0 && got.length === want.length && want.every((a) => got.includes(a));
    return {
      from: from.host,
      query,
      rcode: RCODE_NAMES[answer.rcode] ?? String(answer.rcode),
      addresses: got,
      ok,
    };
  };

  const reports: ServiceReport[] = [];
  for (const { name, dc, instances } of byKey.values()) {
    const report: ServiceReport = {
      name,
      datacenter: dc,
      instances: instances.map((i) => ({
        host: i.host,
        address: i.address,
        ...(i.port !== undefined && { port: i.port }),
      })),
      dns: [],
      problems: [],
    };
    reports.push(report);
    const label = `service "${name}"${dc ? ` (datacenter ${dc})` : ''}`;
    const asker = askers.get(dc);
    if (!asker) {
      report.problems.push(`${label}: no agent of its datacenter answered, so it is unverified`);
      continue;
    }
    report.catalogFrom = asker.host;
    try {
      const rows = await (await apiFor(asker)).api.catalogService(name);
      for (const i of instances) {
        const row = rows.find((r) => r.node === i.nodeName && r.serviceId === i.id);
        if (!row) report.problems.push(`${label}: ${i.host} is not in the catalog (per ${asker.host})`);
        else if (i.port !== undefined && row.servicePort !== i.port) {
          report.problems.push(
            `${label}: ${i.host} is in the catalog with port ${row.servicePort}, expected ${i.port}`,
          );
        }
      }
    } catch (err) {
      report.problems.push(
        `${label}: could not read the catalog: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const want = [...new Set(instances.map((i) => i.address))].sort();
    const domain = asker.domain ?? DEFAULT_DOMAIN;
    const queries: [ExpectedNode, string][] = [[asker, `${name}.service.${domain}`]];
    for (const [otherDc, other] of askers)
      if (otherDc !== dc && dc) queries.push([other, `${name}.service.${dc}.${domain}`]);
    for (const [from, query] of queries) {
      try {
        const check = await lookup(from, query, want);
        report.dns.push(check);
        if (!check.ok) {
          const got = check.rcode === 'NOERROR' ? check.addresses.join(', ') || 'no address' : check.rcode;
          report.problems.push(
            `${label}: DNS ${query} from ${from.host} answers ${got}, expected ${want.join(', ')} ` +
              `(an instance whose health check fails is left out of DNS)`,
          );
        }
      } catch (err) {
        report.problems.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  return reports;
}
