import type { StepRunner } from '../../remote/step.js';
import { ConsulApi } from '../api/api.js';
import type { AgentEndpoint } from '../api/endpoint.js';
import type { ExpectedNode } from './cluster-model.js';
import { lookupA } from '../api/dns.js';
import { DEFAULT_DOMAIN } from '../../tls/consul-conventions.js';

/**
 * `drover verify --deep`: what `verify` does not look at. Per node, through its own SSH
 * connection: the HTTP API at its bind_addr (what other nodes and tools use, not just
 * 127.0.0.1; HTTPS with the cluster's CA when the agents serve it there), the UI on servers
 * that enable it, DNS on 8600 (`consul.service.<domain>` must answer exactly the servers),
 * gossip encryption on, and one Consul version everywhere.
 */
export interface DeepNodeResult {
  host: string;
  http: string;
  ui?: string;
  dns?: string;
  encrypted?: boolean;
  version?: string;
  problems: string[];
}

export interface DeepReport {
  ok: boolean;
  nodes: DeepNodeResult[];
  problems: string[];
}

export interface DeepNode extends ExpectedNode {
  /** The agent's API at its address, as other nodes reach it: plain HTTP or HTTPS, and the token. */
  api: AgentEndpoint;
  /** The UI should be served (servers with consul_ui not false). */
  ui: boolean;
  dnsPort: number;
}

export interface DeepOptions {
  expectEncrypted: boolean;
  timeoutSeconds?: number;
}

export async function deepVerify(
  nodes: readonly DeepNode[],
  stepsFor: (host: string) => Promise<StepRunner>,
  options: DeepOptions,
): Promise<DeepReport> {
  const servers = nodes
    .filter((n) => n.role === 'server')
    .map((n) => n.address)
    .sort();
  const results = await Promise.all(nodes.map((n) => checkNode(n, servers, stepsFor, options)));
  const problems = results.flatMap((r) => r.problems.map((p) => `${r.host}: ${p}`));
  const versions = new Set(results.map((r) => r.version).filter((v): v is string => v !== undefined));
  if (versions.size > 1) {
    problems.push(
      `Consul versions differ: ${[...versions]
        .map(
          (v) =>
            `${v} (${results
              .filter((r) => r.version === v)
              .map((r) => r.host)
              .join(', ')})`,
        )
        .join('; ')}`,
    );
  }
  return { ok: problems.length === 0, nodes: results, problems };
}

async function checkNode(
  node: DeepNode,
  servers: readonly string[],
  stepsFor: (host: string) => Promise<StepRunner>,
  options: DeepOptions,
): Promise<DeepNodeResult> {
  const r: DeepNodeResult = { host: node.host, http: 'unreachable', problems: [] };
  let t: StepRunner['channel'];
  try {
    t = (await stepsFor(node.host)).channel;
  } catch (err) {
    r.problems.push(`no SSH connection: ${err instanceof Error ? err.message : String(err)}`);
    return r;
  }
  const timeoutSeconds = options.timeoutSeconds ?? 5;
  const at = `${node.api.tls ? 'https://' : ''}${node.api.host}:${node.api.port}`;
  const api = new ConsulApi(t, { ...node.api, timeoutSeconds });
  try {
    const self = await api.self();
    r.http = `ok at ${at}`;
    if (self.version) r.version = self.version;
    const encrypted = self.stats?.bool('serf_lan', 'encrypted');
    if (encrypted !== undefined) r.encrypted = encrypted;
    if (options.expectEncrypted && encrypted !== true)
      r.problems.push('gossip encryption is not active (serf_lan.encrypted is not true)');
  } catch (err) {
    r.problems.push(`HTTP API at ${at}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (node.role === 'server' && node.ui) {
    try {
      const res = await t.http({ method: 'GET', ...node.api, path: '/ui/', timeoutSeconds });
      r.ui = `HTTP ${res.status}`;
      if (res.status !== 200) r.problems.push(`UI: GET /ui/ answered HTTP ${res.status}`);
    } catch (err) {
      r.ui = 'no answer';
      r.problems.push(`UI: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // DNS over TCP through the SSH connection (src/consul/api/dns.ts): nothing needed on the host.
  const query = `consul.service.${node.domain ?? DEFAULT_DOMAIN}`;
  try {
    const answer = await lookupA(
      { channel: t, host: '127.0.0.1', port: node.dnsPort, timeoutSeconds },
      query,
    );
    const ips = [...answer.addresses].sort();
    r.dns = ips.join(' ') || 'no answer';
    if (ips.join(',') !== servers.join(',')) {
      r.problems.push(`DNS: ${query} answered ${r.dns}, expected the servers ${servers.join(' ')}`);
    }
  } catch (err) {
    r.dns = 'no answer';
    r.problems.push(`DNS: ${err instanceof Error ? err.message : String(err)}`);
  }
  return r;
}

export function formatDeepReport(r: DeepReport): string {
  const lines = ['deep checks:'];
  for (const n of r.nodes) {
    const parts = [
      `http ${n.http}`,
      ...(n.ui !== undefined ? [`ui ${n.ui}`] : []),
      `dns ${n.dns ?? '-'}`,
      `encrypted ${n.encrypted === undefined ? '?' : String(n.encrypted)}`,
      `version ${n.version ?? '?'}`,
    ];
    lines.push(`  ${n.problems.length ? 'FAIL' : 'ok  '} ${n.host}: ${parts.join(', ')}`);
  }
  lines.push(r.ok ? 'deep checks passed' : `deep checks failed:\n  - ${r.problems.join('\n  - ')}`);
  return lines.join('\n');
}
