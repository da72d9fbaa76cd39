import {
  gateConnectionSchema,
  gateOptions,
  hereOf,
  type GateConnectionArgs,
} from '../consul/gates/gate-args.js';
import { GateAgents } from '../consul/gates/gate-agents.js';
import { leaderOf } from '../consul/gates/gates.js';
import { isLeader } from '../consul/gates/restart-order.js';
import { InterruptedError } from '../errors.js';
import { httpStep } from '../remote/step.js';
import { poll } from '../util/poll.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';
import { secondsSchema } from './schema-parts.js';

export interface ConsulLeaderTransferArgs extends GateConnectionArgs {
  /** Seconds to wait for another server to be named leader after the transfer; default 30. */
  timeout?: number;
}

/** Consul 1.15+ (operator raft transfer-leader): the leader hands over to a caught-up voter. */
export const TRANSFER_LEADER_PATH = '/v1/operator/raft/transfer-leader';

/**
 * consul_leader_transfer: before a server's agent is stopped, moves the leadership away from it
 * if it leads. Stopping a leader costs the cluster a heartbeat timeout and an election with no
 * leader (seconds; writes and consistent reads wait or fail meanwhile); a transfer hands over
 * in one round of votes, to the voter raft finds most caught up. Nothing happens on a server
 * that does not lead, and in check mode only the plan is told.
 *
 * A cluster that cannot transfer (Consul before 1.15 answers 404, a token without operator:write
 * 403) is restarted as before: the outcome says so and the task passes, since the restart is
 * still safe, only slower to elect.
 */
export const consulLeaderTransferModule: ConversationModule<ConsulLeaderTransferArgs> = {
  kind: 'conversation',
  name: 'consul_leader_transfer',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...gateConnectionSchema,
      timeout: secondsSchema('Seconds to wait for a new leader after the transfer; default 30.', 600),
    },
  },
  async run(args: ConsulLeaderTransferArgs, ctx: ConversationContext): Promise<Outcome> {
    const here = hereOf(ctx.vars, ctx.host.name);
    const agents = GateAgents.fromVars(ctx.vars, ctx.steps.channel, here, gateOptions(args));
    const me = agents.node(here);
    if (me.role !== 'server') return { changed: false, summary: `${here} is a client: it leads nothing` };
    const own = agents.api(me);
    const leader = await own.leader();
    if (!isLeader(me, leader)) {
      return { changed: false, summary: `${here} does not lead (leader: ${nameOf(agents, leader)})` };
    }
    if (ctx.check) return { changed: true, summary: `would move the leadership away from ${here}` };
    const res = await ctx.steps.run(
      httpStep({
        method: 'POST',
        ...agents.endpoint(me),
        path: TRANSFER_LEADER_PATH,
        timeoutSeconds: agents.requestTimeout,
      }),
    );
    if (res.status !== 200) {
      const why =
        res.status === 404 || res.status === 405
          ? 'this Consul has no leadership transfer (1.15+)'
          : `the transfer was refused (HTTP ${res.status}: ${res.body.trim().slice(0, 200)})`;
      return {
        changed: false,
        summary: `no transfer: ${here} leads and keeps it (${why}); stopping it forces an election`,
        data: { transferred: false },
      };
    }
    const timeout = args.timeout ?? 30;
    const outcome = await poll(
      () => own.leader().catch(() => ''),
      (l) => (l !== '' && !isLeader(me, l) ? 'done' : 'again'),
      {
        timeoutSeconds: timeout,
        intervalSeconds: 0.2,
        clock: ctx.clock,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        interrupted: (cause) =>
          new InterruptedError(`${here}: waiting for a new leader: interrupted`, { cause }),
      },
    );
    if (outcome.verdict !== 'done') {
      return {
        changed: false,
        summary: `no transfer: ${here} still leads ${timeout}s after the transfer was asked; stopping it forces an election`,
        data: { transferred: false },
      };
    }
    const next = nameOf(agents, outcome.last);
    return {
      changed: true,
      summary: `moved the leadership from ${here} to ${next}`,
      data: { transferred: true, leader: outcome.last, leader_host: next },
    };
  },
};

/** The inventory host behind a Raft address, else the address; `none` when there is no leader. */
function nameOf(agents: GateAgents, leader: string): string {
  if (leader === '') return 'none';
  return leaderOf(agents.servers, leader)?.host ?? leader;
}
