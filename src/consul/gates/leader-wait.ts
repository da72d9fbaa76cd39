import { InterruptedError } from '../../errors.js';
import type { ConversationContext } from '../../modules/module.js';
import { secondsSchema } from '../../modules/schema-parts.js';
import { poll } from '../../util/poll.js';
import type { ExpectedNode } from '../verify/cluster-model.js';
import type { GateAgents } from './gate-agents.js';
import { gateConnectionSchema, type GateConnectionArgs } from './gate-args.js';

/** The args of a task that needs a leader first: how to reach the agents, and how long to wait. */
export interface LeaderWaitArgs extends GateConnectionArgs {
  /** Seconds to wait for a leader (a new cluster elects one first); default 120. */
  timeout?: number;
}

export const leaderWaitArgsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...gateConnectionSchema,
    timeout: secondsSchema('Seconds to wait for a leader; default 120.', 3600),
  },
} as const;

/** How long to wait: none in check mode (nothing was started, so there is nothing to wait for). */
export const leaderWaitSeconds = (args: LeaderWaitArgs, check: boolean): number =>
  check ? 0 : (args.timeout ?? 120);

/**
 * The first of `servers` that names a leader, asked in turn every second up to `seconds` (0:
 * one round), or undefined when none did. A new cluster elects its first leader a few seconds
 * after its servers start; a task that needs one (the ACL set-up, the autopilot settings) waits
 * here, and then keeps talking to the server that answered, so a follower that has not applied
 * its last write yet is never asked in between.
 */
export async function serverNamingALeader(
  agents: GateAgents,
  servers: readonly ExpectedNode[],
  seconds: number,
  ctx: Pick<ConversationContext, 'clock' | 'signal'>,
): Promise<ExpectedNode | undefined> {
  const round = async (): Promise<ExpectedNode | undefined> => {
    for (const s of servers) {
      const leader = await agents
        .api(s)
        .leader()
        .catch(() => '');
      if (leader !== '') return s;
    }
    return undefined;
  };
  if (seconds === 0) return round();
  const outcome = await poll(round, (s) => (s ? 'done' : 'again'), {
    timeoutSeconds: seconds,
    intervalSeconds: 1,
    clock: ctx.clock,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    interrupted: (cause) => new InterruptedError('waiting for a Consul leader: interrupted', { cause }),
  });
  return outcome.last;
}
