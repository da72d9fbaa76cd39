import { InterruptedError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { poll } from '../../util/poll.js';
import type { GateCondition } from './gates.js';

export interface GatePollOptions {
  timeoutSeconds: number;
  intervalSeconds: number;
  clock: Clock;
  signal?: AbortSignal;
  /** For messages on interruption. */
  what: string;
}

export interface PollOutcome {
  ok: boolean;
  /** The conditions as last judged. */
  conditions: GateCondition[];
  attempts: number;
  elapsedSeconds: number;
  /** Stopped early: an unmet condition was fatal. */
  fatal?: boolean;
}

/**
 * Checks until every condition holds, one is fatal, or the time is up (src/util/poll.ts bounds it
 * by the clock and by a count). `check` gets the seconds left, to cap its own requests; it
 * reports problems as conditions and must not throw.
 */
export async function pollConditions(
  check: (secondsLeft: number) => Promise<GateCondition[]>,
  options: GatePollOptions,
): Promise<PollOutcome> {
  const outcome = await poll(
    check,
    (conditions) =>
      conditions.every((c) => c.ok) ? 'done' : conditions.some((c) => !c.ok && c.fatal) ? 'stop' : 'again',
    {
      timeoutSeconds: options.timeoutSeconds,
      intervalSeconds: options.intervalSeconds,
      clock: options.clock,
      ...(options.signal ? { signal: options.signal } : {}),
      interrupted: (cause) => new InterruptedError(`${options.what}: interrupted while waiting`, { cause }),
    },
  );
  const { attempts, elapsedSeconds } = outcome;
  const conditions = outcome.last;
  if (outcome.verdict === 'done') return { ok: true, conditions, attempts, elapsedSeconds };
  if (outcome.verdict === 'stop') return { ok: false, fatal: true, conditions, attempts, elapsedSeconds };
  return { ok: false, conditions, attempts, elapsedSeconds };
}
