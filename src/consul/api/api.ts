import type { HostChannel } from '../../remote/step.js';
import type { Secret } from '../../shell/secret.js';
import type { HttpResponse, HttpTls } from '../../ssh/transport.js';
import type { ClusterTls } from './endpoint.js';
import {
  ENDPOINTS,
  parseAgentMembers,
  parseAgentSelf,
  parseAclReplication,
  parseAutopilotHealth,
  parseRaftConfiguration,
  parseConnectCaRoots,
  parseStatusLeader,
  parseStatusPeers,
  type AgentMember,
  type AgentSelf,
  type AclReplication,
  type AutopilotHealth,
  type RaftConfiguration,
} from './api-responses.js';
import { parseCatalogService, type CatalogServiceInstance } from './catalog-responses.js';
import { ConsulOutputError } from './output-error.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { withDeadline } from '../../util/deadline.js';

export const DEFAULT_HTTP_PORT = 8500;
export const DEFAULT_HTTP_TIMEOUT_SECONDS = 5;

export interface ConsulApiOptions {
  /** Address of the agent's HTTP listener as reached from the transport's host. */
  host?: string;
  port?: number;
  /** HTTPS with the cluster's CA (see endpoint.ts); absent: plain HTTP. */
  tls?: HttpTls;
  /** The ACL token every request carries (X-Consul-Token); absent: none. */
  token?: Secret;
  /** Upper bound for each request, in seconds. */
  timeoutSeconds?: number;
  /** What times the bound; tests pass a fake clock. */
  clock?: Clock;
}

/** A request that got no HTTP answer at all (refused, timed out, SSH channel failed). */
export class ConsulUnreachableError extends ConsulOutputError {}

/**
 * A small client for the Consul endpoints drover reads, over a host's `http()` (a Transport, or
 * a module's step channel), so the request leaves from the host whose SSH connection is used (its 127.0.0.1, or a peer's bind_addr).
 * Every call is bounded: the timeout goes to the transport and is enforced here as well, so a
 * transport that ignores it cannot hang a health gate.
 */
export class ConsulApi {
  readonly host: string;
  readonly port: number;
  readonly tls: HttpTls | undefined;
  readonly token: Secret | undefined;
  readonly timeoutSeconds: number;
  readonly clock: Clock;

  constructor(
    readonly channel: HostChannel,
    options: ConsulApiOptions = {},
  ) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? DEFAULT_HTTP_PORT;
    this.tls = options.tls;
    this.token = options.token;
    this.timeoutSeconds = options.timeoutSeconds ?? DEFAULT_HTTP_TIMEOUT_SECONDS;
    this.clock = options.clock ?? systemClock;
  }

  /** `via` for messages: which agent, reached through which host's connection. */
  get where(): string {
    return `${this.tls ? 'https://' : ''}${this.host}:${this.port} via ${this.channel.host}`;
  }

  /** The leader's `ip:port`, or `""` when this agent knows of no leader. */
  async leader(): Promise<string> {
    return parseStatusLeader(await this.#getOk(ENDPOINTS.leader));
  }

  async peers(): Promise<string[]> {
    return parseStatusPeers(await this.#getOk(ENDPOINTS.peers));
  }

  async self(): Promise<AgentSelf> {
    return parseAgentSelf(await this.#getOk(ENDPOINTS.agentSelf));
  }

  /** The Connect CA's roots (PEM), which sign the clients' auto_encrypt certificates. */
  async connectCaRoots(): Promise<string[]> {
    return parseConnectCaRoots(await this.#getOk(ENDPOINTS.connectCaRoots));
  }

  async members(): Promise<AgentMember[]> {
    return parseAgentMembers(await this.#getOk(ENDPOINTS.agentMembers));
  }

  /** Servers only: the WAN pool (`consul members -wan`), members named `node.datacenter`. */
  async wanMembers(): Promise<AgentMember[]> {
    return parseAgentMembers(await this.#getOk(`${ENDPOINTS.agentMembers}?wan=1`));
  }

  /** The catalog's instances of a service; `dc` reads another datacenter (forwarded over the WAN). */
  async catalogService(name: string, options: { dc?: string } = {}): Promise<CatalogServiceInstance[]> {
    const query = options.dc ? `?dc=${encodeURIComponent(options.dc)}` : '';
    const path = `/v1/catalog/service/${encodeURIComponent(name)}`;
    return parseCatalogService(await this.#getOk(`${path}${query}`, path), path);
  }

  /** How this datacenter replicates ACLs from the primary; undefined without ACLs. */
  async aclReplication(): Promise<AclReplication | undefined> {
    const res = await this.#get(ENDPOINTS.aclReplication);
    return parseAclReplication(res.status, res.body);
  }

  /** 200 and 429 are both answers here (healthy / unhealthy); `dc` asks another datacenter's leader. */
  async autopilotHealth(options: { dc?: string } = {}): Promise<AutopilotHealth> {
    const query = options.dc ? `?dc=${encodeURIComponent(options.dc)}` : '';
    const res = await this.#get(`${ENDPOINTS.autopilotHealth}${query}`, ENDPOINTS.autopilotHealth);
    return parseAutopilotHealth(res.status, res.body);
  }

  /**
   * Raft configuration with Voter flags. `stale` lets any server answer from its own copy, so this
   * works without a leader and shows what that server believes.
   */
  async raftConfiguration(options: { stale?: boolean } = {}): Promise<RaftConfiguration> {
    const path = options.stale ? `${ENDPOINTS.raftConfiguration}?stale` : ENDPOINTS.raftConfiguration;
    return parseRaftConfiguration(await this.#getOk(path, ENDPOINTS.raftConfiguration));
  }

  async #getOk(path: string, name: string = path): Promise<string> {
    const res = await this.#get(path, name);
    if (res.status !== 200) {
      const hint =
        res.status !== 403
          ? ''
          : this.token
            ? " (drover's ACL token lacks the right; see docs/security.md)"
            : ' (the agent wants an ACL token: set consul_acl_management_token or DROVER_ACL_TOKEN)';
      throw new ConsulOutputError(
        `GET ${name}`,
        `HTTP ${res.status} from ${this.where}${hint}: ${res.body.trim().slice(0, 200)}`,
      );
    }
    return res.body;
  }

  async #get(path: string, name: string = path): Promise<HttpResponse> {
    const seconds = this.timeoutSeconds;
    try {
      const request = this.channel.http({
        method: 'GET',
        host: this.host,
        port: this.port,
        path,
        timeoutSeconds: seconds,
        ...(this.tls && { tls: this.tls }),
        ...(this.token && { token: this.token }),
      });
      return await withDeadline(
        request,
        seconds * 1000,
        () => new ConsulUnreachableError(`GET ${name}`, `no answer from ${this.where} within ${seconds}s`),
        this.clock,
      );
    } catch (err) {
      if (err instanceof ConsulOutputError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new ConsulUnreachableError(`GET ${name}`, `no answer from ${this.where}: ${reason}`, {
        cause: err,
      });
    }
  }
}

/**
 * The cluster's TLS for HTTPS to clients: their certificates come from auto_encrypt, signed by
 * the Connect CA, so the Connect CA's roots (asked of `via`, an agent that reaches the servers)
 * are trusted besides the agent CA. Unchanged when the roots cannot be read.
 */
export async function withConnectRoots(
  tls: ClusterTls,
  channel: HostChannel,
  via: ConsulApiOptions,
): Promise<ClusterTls> {
  const roots = await new ConsulApi(channel, via).connectCaRoots().catch(() => []);
  return roots.length === 0 ? tls : { ...tls, ca: [tls.ca, ...roots].join('\n') };
}
