import { accessVarsOf } from '../api/endpoint.js';
import { GateError } from '../../errors.js';
import type { Vars } from '../../inventory/types.js';
import type { HostChannel } from '../../remote/step.js';
import type { ConsulApi } from '../api/api.js';
import { hostOf } from '../verify/cluster-model.js';
import type { ClusterGroups } from '../verify/expected-nodes.js';
import { dcName, GateAgents, portVar } from './gate-agents.js';

/**
 * Quorum-safe restart order (HashiCorp's upgrade guide): followers one by one in inventory
 * order, the leader last. The leader goes last because every restart of the leader costs an
 * election, and because older followers can panic on log entries from a newer leader
 * (hashicorp/consul#2889). Leadership can move between steps, so the order is decided afresh
 * before each step from a freshly looked-up leader: `nextToRestart`, or `orderLeaderLast` for the
 * runner's host-ordering hook.
 */

export interface RestartServer {
  /** Inventory host name. */
  host: string;
  /** bind_addr; the leader's `ip:8300` is matched against it. */
  address: string;
}

/** Whether `server` is the one `leader` (`ip:port` as /v1/status/leader sends it) names. */
export function isLeader(server: RestartServer, leader: string | undefined): boolean {
  return !!leader && hostOf(leader) === server.address;
}

/**
 * The order to restart `servers`: everyone but the leader in the order given (inventory order),
 * then the leader. With no leader known, or a leader outside the list, the order is unchanged.
 */
export function restartOrder<T extends RestartServer>(
  servers: readonly T[],
  leader: string | undefined,
): T[] {
  return [...servers.filter((s) => !isLeader(s, leader)), ...servers.filter((s) => isLeader(s, leader))];
}

/**
 * The next server to restart, given the hosts already done and the leader as it is now: the
 * first follower not yet done, and the leader only when it is the last one left. Undefined when
 * every server is done.
 */
export function nextToRestart<T extends RestartServer>(
  servers: readonly T[],
  done: readonly string[],
  leader: string | undefined,
): T | undefined {
  return restartOrder(
    servers.filter((s) => !done.includes(s.host)),
    leader,
  )[0];
}

export interface LeaderLookup {
  /** The leader's `ip:port`; `""` when the agents that answered know none; absent when none answered. */
  leader?: string;
  /** Which agent said so. */
  via?: string;
  /** Why agents did not answer. */
  errors: string[];
}

/**
 * Asks the agents in order for the leader and stops at the first that names one. An agent that
 * knows no leader (a server that just restarted) does not end the search, so one lagging node
 * cannot hide the leader the others agree on.
 */
export async function lookUpLeader(apis: readonly ConsulApi[]): Promise<LeaderLookup> {
  const errors: string[] = [];
  let answered: LeaderLookup | undefined;
  for (const api of apis) {
    try {
      const leader = await api.leader();
      if (leader !== '') return { leader, via: api.where, errors };
      answered ??= { leader, via: api.where, errors };
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  return answered ?? { errors };
}

export interface OrderContext extends ClusterGroups {
  /** `groups` of the whole inventory, as tasks see them. */
  groups: Readonly<Record<string, readonly string[]>>;
  /** `hostvars` of the whole inventory (bind_addr or address per host). */
  hostvars: Readonly<Record<string, Vars>>;
  /** A connection to any inventory host; its own agent is asked on 127.0.0.1, the others at bind_addr. */
  channel: HostChannel;
  /** The inventory host `channel` reaches. */
  via: string;
  /** Default: the `consul_http_port` var of `via`, else 8500. */
  httpPort?: number;
  /** Seconds per HTTP request. */
  timeoutSeconds?: number;
}

export interface OrderResult {
  order: string[];
  leader?: string;
  /** The inventory host that leads, when one does. */
  leaderHost?: string;
  /**
   * With several datacenters in the inventory: the leader of each datacenter that still has
   * servers to restart, in the order they go.
   */
  datacenters?: DatacenterLeader[];
}

export interface DatacenterLeader {
  /** `consul_datacenter`; `""` for hosts that set none. */
  datacenter: string;
  leader: string;
  leaderHost?: string;
}

/**
 * For the runner's host-ordering hook (before each `serial` batch): the remaining hosts with
 * the current leader moved to the end, everyone else in the order given. Hosts that are not
 * Consul servers keep their places. Throws GateError when no server agent answers at all, since
 * then nothing safe can be said about the order; a cluster with no leader keeps the order given
 * (the `consul_gate wait: ready` step refuses to stop anything then).
 *
 * With several datacenters (`consul_datacenter` per host), each datacenter has its own Raft
 * leader: the servers go one datacenter after another (in inventory order), followers first and
 * that datacenter's leader last, each leader looked up through its own datacenter's servers.
 */
export async function orderLeaderLast(remaining: readonly string[], ctx: OrderContext): Promise<string[]> {
  return (await planLeaderLast(remaining, ctx)).order;
}

export async function planLeaderLast(remaining: readonly string[], ctx: OrderContext): Promise<OrderResult> {
  // The cluster's TLS as the connecting host sees it: peers are asked over HTTPS when it is on.
  const vars: Vars = {
    ...accessVarsOf(ctx.hostvars[ctx.via] ?? {}),
    groups: ctx.groups,
    hostvars: ctx.hostvars,
  };
  const all = GateAgents.fromVars(vars, ctx.channel, ctx.via, {
    ...(ctx.serversGroup !== undefined ? { serversGroup: ctx.serversGroup } : {}),
    ...(ctx.clientsGroup !== undefined ? { clientsGroup: ctx.clientsGroup } : {}),
    httpPort: ctx.httpPort ?? portVar(ctx.hostvars[ctx.via]?.['consul_http_port']),
    ...(ctx.timeoutSeconds !== undefined ? { requestTimeout: ctx.timeoutSeconds } : {}),
  });
  const datacenters = all.datacenters();
  if (datacenters.length <= 1) {
    const { leader, leaderHost } = await leaderIn(all);
    return {
      order: leaderToEnd(remaining, leaderHost),
      leader,
      ...(leaderHost !== undefined ? { leaderHost } : {}),
    };
  }

  // Several datacenters: one after another, each with its own leader last.
  const isServer = new Set(all.servers.map((s) => s.host));
  const serversOrder: string[] = [];
  const leaders: DatacenterLeader[] = [];
  for (const dc of datacenters) {
    const agents = all.inDatacenter(dc);
    const mine = remaining.filter((h) => agents.servers.some((s) => s.host === h));
    if (mine.length === 0) continue;
    const { leader, leaderHost } = await leaderIn(agents, dc);
    serversOrder.push(...leaderToEnd(mine, leaderHost));
    leaders.push({ datacenter: dc, leader, ...(leaderHost !== undefined ? { leaderHost } : {}) });
  }
  if (leaders.length === 0) {
    // No server left to order (a clients-only play): the order stands, once a server answered.
    const { leader } = await leaderIn(all.inDatacenter(datacenters[0] as string));
    return { order: [...remaining], leader, datacenters: [] };
  }
  let next = 0;
  // Servers fill the servers' places in the new order; everyone else keeps their place.
  const order = remaining.map((h) => (isServer.has(h) ? (serversOrder[next++] as string) : h));
  const first = leaders[0] as DatacenterLeader;
  return {
    order,
    leader: first.leader,
    ...(first.leaderHost !== undefined ? { leaderHost: first.leaderHost } : {}),
    datacenters: leaders,
  };
}

/** `hosts` with `leaderHost` moved to the end. */
function leaderToEnd(hosts: readonly string[], leaderHost: string | undefined): string[] {
  return [...hosts.filter((h) => h !== leaderHost), ...hosts.filter((h) => h === leaderHost)];
}

/** The leader as `agents`' servers see it; GateError when none of them answers. */
async function leaderIn(
  agents: GateAgents,
  datacenter?: string,
): Promise<{ leader: string; leaderHost?: string }> {
  const lookup = await lookUpLeader(agents.serverApis({ preferHere: true }));
  if (lookup.leader === undefined) {
    const of = datacenter !== undefined ? ` of datacenter ${dcName(datacenter)}` : '';
    throw new GateError(
      `cannot order the restart leader-last: no Consul server${of} answered (${lookup.errors.join('; ')})`,
    );
  }
  const leaderHost = agents.servers.find((s) => isLeader(s, lookup.leader))?.host;
  return { leader: lookup.leader, ...(leaderHost !== undefined ? { leaderHost } : {}) };
}
