import { dcName } from './gate-agents.js';
import { planLeaderLast, type OrderResult } from './restart-order.js';
import { GateError } from '../../errors.js';
import type { Vars } from '../../inventory/types.js';
import type { HostOrderer, OrdererContext } from '../../runner/orderers.js';

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * `order: consul_leader_last`: the current Consul leader goes last, everyone else keeps their
 * order (HashiCorp's upgrade guide: followers first, the leader last). Asked before every batch,
 * so with `serial: 1` the leader is looked up again before each server: leadership can move
 * while a server restarts. The lookup goes through the first usable host of the play that
 * connects (its own agent on 127.0.0.1 first, then every server at its bind_addr). The servers
 * and clients groups default to `servers`/`clients`; vars `consul_servers_group` and
 * `consul_clients_group` name others. With no Consul server answering, a GateError (exit 5):
 * nothing safe can be said about the order. With several datacenters in the inventory the
 * servers go datacenter by datacenter, each datacenter's own leader last (restart-order.ts).
 */
export const consulLeaderLast: HostOrderer = async (remaining, ctx) => {
  if (remaining.length === 0) return remaining;
  const errors: string[] = [];
  // Bounded: at most one connection attempt per host of the play.
  for (const via of ctx.playHosts.filter((h) => ctx.usable(h))) {
    let steps;
    try {
      steps = await ctx.connect(via);
    } catch (err) {
      errors.push(`${via}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const vars = ctx.vars(via);
    const serversGroup = text(vars['consul_servers_group']);
    const clientsGroup = text(vars['consul_clients_group']);
    let plan: OrderResult;
    try {
      plan = await planLeaderLast(remaining, {
        groups: vars['groups'] as Record<string, string[]>,
        hostvars: vars['hostvars'] as Record<string, Vars>,
        channel: steps.channel,
        via,
        ...(serversGroup ? { serversGroup } : {}),
        ...(clientsGroup ? { clientsGroup } : {}),
      });
    } catch (err) {
      // The host we asked through may itself be gone (a crashed server mid-roll, whose
      // connection is lost): ask through the next one before giving up.
      errors.push(`via ${via}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    ctx.note(describe(plan));
    return plan.order;
  }
  throw new GateError(
    `cannot order the roll leader-last through any host of play "${ctx.play.name}" (${errors.join('; ')})`,
  );
};

function describe(plan: OrderResult): string {
  const { order, leader, leaderHost } = plan;
  const order_ = `order ${order.join(', ')}`;
  if (plan.datacenters) {
    const leaders = plan.datacenters.map((d) => `${dcName(d.datacenter)} ${who(d.leader, d.leaderHost)}`);
    return `consul_leader_last: leaders ${leaders.length > 0 ? leaders.join(', ') : 'not needed'}; ${order_}`;
  }
  return `consul_leader_last: leader ${who(leader, leaderHost)}; ${order_}`;
}

const who = (leader: string | undefined, leaderHost: string | undefined): string =>
  leaderHost ? `${leaderHost} (${leader})` : leader ? `${leader}, not in this roll` : 'unknown';

/** The orderers drover's own playbooks use; the CLI passes them to the runner. */
export function builtinOrderers(): ReadonlyMap<string, HostOrderer> {
  return new Map<string, HostOrderer>([['consul_leader_last', consulLeaderLast]]);
}

export type { OrdererContext };
