import {
  aclTokenFromVars,
  agentEndpoint,
  clusterTlsFromVars,
  type AgentEndpoint,
  type ClusterTls,
} from '../api/endpoint.js';
import type { Secret } from '../../shell/secret.js';
import { ConfigError } from '../../errors.js';
import type { Vars } from '../../inventory/types.js';
import type { HostChannel } from '../../remote/step.js';
import { ConsulApi, DEFAULT_HTTP_PORT, DEFAULT_HTTP_TIMEOUT_SECONDS } from '../api/api.js';
import type { ExpectedNode } from '../verify/cluster-model.js';
import { expectedNodesFromVars, type ClusterGroups } from '../verify/expected-nodes.js';

/**
 * How a gate reaches every agent through one host's SSH connection (as consul_verify does): the
 * host's own agent on 127.0.0.1, every other agent at its bind_addr. The node list comes from
 * `groups`/`hostvars`, which cover the whole inventory even under --limit.
 */
export class GateAgents {
  readonly servers: ExpectedNode[];
  readonly clients: ExpectedNode[];
  /** Set when narrowed out of an inventory with several datacenters: which one this is. */
  datacenter?: string;

  constructor(
    readonly channel: HostChannel,
    /** The inventory host the channel reaches. */
    readonly here: string,
    nodes: readonly ExpectedNode[],
    readonly httpPort: number = DEFAULT_HTTP_PORT,
    /** Upper bound per HTTP request, in seconds. */
    readonly requestTimeout: number = DEFAULT_HTTP_TIMEOUT_SECONDS,
    /** The cluster's TLS: which agents are asked over HTTPS, with which CA (endpoint.ts). */
    readonly tls?: ClusterTls,
    /** The ACL token every request carries, when the cluster has ACLs. */
    readonly token?: Secret,
  ) {
    this.servers = nodes.filter((n) => n.role === 'server');
    this.clients = nodes.filter((n) => n.role === 'client');
  }

  static fromVars(
    vars: Vars,
    channel: HostChannel,
    here: string,
    options: ClusterGroups & { httpPort?: number; requestTimeout?: number } = {},
  ): GateAgents {
    return new GateAgents(
      channel,
      here,
      expectedNodesFromVars(vars, options),
      options.httpPort ?? portVar(vars['consul_http_port']),
      options.requestTimeout,
      clusterTlsFromVars(vars),
      aclTokenFromVars(vars),
    );
  }

  /** The inventory node called `host`; a gate on a host that is not a Consul node is a config error. */
  node(host: string): ExpectedNode {
    const node = this.find(host);
    if (!node) {
      throw new ConfigError([
        { file: 'inventory', message: `"${host}" is in neither the Consul servers nor the clients group` },
      ]);
    }
    return node;
  }

  find(host: string): ExpectedNode | undefined {
    return [...this.servers, ...this.clients].find((n) => n.host === host);
  }

  /**
   * The datacenters of the servers, in the order their first server appears in the inventory,
   * by `consul_datacenter`; hosts that set none share one datacenter, `""`.
   */
  datacenters(): string[] {
    return [...new Set(this.servers.map(datacenterKey))];
  }

  /**
   * The same agents narrowed to one datacenter: its servers and clients only. Raft, autopilot and
   * the LAN members are per datacenter in Consul, so every gate judges a node against its own
   * datacenter. With a single datacenter this is the whole cluster, unchanged.
   */
  inDatacenter(datacenter: string): GateAgents {
    if (this.datacenters().length <= 1) return this;
    const nodes = [...this.servers, ...this.clients].filter((n) => datacenterKey(n) === datacenter);
    if (!nodes.some((n) => n.role === 'server')) {
      throw new ConfigError([
        {
          file: 'inventory',
          message: `datacenter "${datacenter}" has no Consul server (datacenters: ${this.datacenters().map(dcName).join(', ')})`,
        },
      ]);
    }
    const narrowed = new GateAgents(
      this.channel,
      this.here,
      nodes,
      this.httpPort,
      this.requestTimeout,
      this.tls,
      this.token,
    );
    narrowed.datacenter = datacenter;
    return narrowed;
  }

  /** {@link inDatacenter} of `host`'s datacenter. */
  inDatacenterOf(host: string): GateAgents {
    return this.inDatacenter(datacenterKey(this.node(host)));
  }

  /** A client for `node`'s agent; `secondsLeft` caps each request so a poll cannot overrun its budget. */
  api(node: ExpectedNode, secondsLeft?: number): ConsulApi {
    const timeoutSeconds = Math.min(this.requestTimeout, secondsLeft ?? this.requestTimeout);
    return new ConsulApi(this.channel, { ...this.endpoint(node), timeoutSeconds });
  }

  /** Where `node`'s agent answers from this host, and with what (TLS, token): endpoint.ts's rule. */
  endpoint(node: ExpectedNode): AgentEndpoint {
    return agentEndpoint(
      {
        here: node.host === this.here,
        address: node.address,
        role: node.role,
        datacenter: node.datacenter,
        httpPort: this.httpPort,
      },
      this.tls,
      this.token,
    );
  }

  /**
   * Server agents to ask for the cluster view, in inventory order, except: this host's own agent
   * first with `preferHere`, and `last` (a restarted server, whose view is the least settled) last.
   */
  serverApis(options: { preferHere?: boolean; last?: string; secondsLeft?: number } = {}): ConsulApi[] {
    let order = [...this.servers];
    if (options.preferHere)
      order = [...order.filter((s) => s.host === this.here), ...order.filter((s) => s.host !== this.here)];
    if (options.last !== undefined) {
      order = [
        ...order.filter((s) => s.host !== options.last),
        ...order.filter((s) => s.host === options.last),
      ];
    }
    return order.map((s) => this.api(s, options.secondsLeft));
  }
}

/** The datacenter a node belongs to: its `consul_datacenter`, or `""` when it sets none. */
export function datacenterKey(node: ExpectedNode): string {
  return node.datacenter ?? '';
}

/** The datacenter Consul runs a datacenter key in: what it names, or its own default, dc1. */
export const consulDatacenter = (key: string): string => (key === '' ? 'dc1' : key);

/** A datacenter key for messages. */
export const dcName = (key: string): string => (key === '' ? '(default)' : key);

/**
 * A port var of the deploy playbook (`consul_http_port`, `consul_dns_port`) when it is a usable
 * port (templated vars may be strings); else `fallback`, Consul's default HTTP port unless said.
 */
export function portVar(value: unknown, fallback: number = DEFAULT_HTTP_PORT): number {
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : fallback;
}
