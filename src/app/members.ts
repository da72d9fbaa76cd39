import { ConsulApi } from '../consul/api/api.js';
import { aclTokenOption } from '../consul/api/endpoint.js';
import { portVar } from '../consul/gates/gate-agents.js';
import { expectedNodesFromInventory } from '../consul/verify/expected-nodes.js';
import { reconcileMembers, type MembershipReport } from '../consul/verify/membership.js';
import { InterruptedError, UnreachableError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import { consulCliOptions } from '../modules/consul-cli.js';
import { callOptions, forceLeave } from '../remote/consul.js';
import { checkedStep } from '../remote/step.js';
import { poll } from '../util/poll.js';
import type { Session } from './session.js';

export interface Membership {
  report: MembershipReport;
  /** The server whose agent answered. */
  server: string;
}

/** The member list from the first server whose agent answers, through its own SSH connection. */
export async function observeMembers(session: Session, inventory: Inventory): Promise<Membership> {
  const nodes = expectedNodesFromInventory(inventory);
  const errors: string[] = [];
  for (const s of nodes.filter((n) => n.role === 'server')) {
    try {
      const steps = await session.reader(s.host);
      const vars = inventory.hosts.get(s.host)?.vars ?? {};
      const api = new ConsulApi(steps.channel, {
        port: portVar(vars['consul_http_port']),
        ...aclTokenOption(vars),
      });
      const members = await api.members();
      const entries = members.map((m) => ({ name: m.name, address: m.addr, status: m.status, role: m.role }));
      return { report: reconcileMembers(nodes, entries, `${s.host}'s agent`), server: s.host };
    } catch (err) {
      errors.push(`${s.host}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new UnreachableError('servers', `no server agent answered:\n  ${errors.join('\n  ')}`);
}

/**
 * `consul force-leave -prune` of the prunable ghosts on the server that reported them, under the
 * deploy lock, with an audit line on that server; then the member list again until the ghosts
 * are gone (Serf spreads the prune by gossip; bounded).
 */
export async function pruneGhosts(
  session: Session,
  inventory: Inventory,
  seen: Membership,
  onPruned: (line: string) => void,
): Promise<Membership> {
  const prunable = seen.report.ghosts.filter((g) => g.prunable);
  const { server } = seen;
  await session.mutate(async (m) => {
    const steps = await m.steps(server);
    // The server's token (on stdin) and HTTPS when it serves no plain HTTP, as its vars say.
    const cli = consulCliOptions(inventory.hosts.get(server)?.vars);
    for (const g of prunable) {
      const call = forceLeave(g.name, { prune: true }, cli);
      await steps.run(checkedStep('write', call.cmd, callOptions(call, { timeoutSeconds: 30 })));
      m.changed(server, `force-leave -prune ${g.name}`);
      onPruned(`pruned ${g.name} (${g.address}) via ${server}`);
    }
  });
  const gone = new Set(prunable.map((g) => g.name));
  // Consul drops a pruned member from its list within a gossip round or two: wait up to 10 s for it.
  const settled = await poll(
    () => observeMembers(session, inventory),
    (now) => (now.report.ghosts.some((g) => gone.has(g.name)) ? 'again' : 'done'),
    {
      timeoutSeconds: 10,
      intervalSeconds: 0.5,
      clock: session.clock,
      signal: session.signal,
      interrupted: () => new InterruptedError('interrupted while waiting for the pruned members to go'),
    },
  );
  return settled.last;
}
