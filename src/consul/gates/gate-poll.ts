import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError } from '../../errors.js';
import type { GateCondition } from './gates.js';

export interface PollOptions {
  timeoutSeconds: number;
  intervalSeconds: number;
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
 * Checks until every condition holds or the time is up. Bounded twice: by the clock and by a
 * count (timeout / interval + 1), so checks that fail instantly cannot spin. `check` gets the
 * seconds left, to cap its own requests; it reports problems as conditions and must not throw.
 */
export async function pollConditions(
  check: (secondsLeft: number) => Promise<GateCondition[]>,
  options: PollOptions,
): Promise<PollOutcome> {
  const started = Date.now();
  const deadline = started + options.timeoutSeconds * 1000;
  const maxAttempts = Math.ceil(options.timeoutSeconds / options.intervalSeconds) + 1;
  let conditions: GateCondition[] = [];
  let attempts = 0;
  while (attempts < maxAttempts) {
    attempts++;
    conditions = await check(Math.max(0.5, (deadline - Date.now()) / 1000));
    const elapsedSeconds = (Date.now() - started) / 1000;
    if (conditions.every((c) => c.ok)) return { ok: true, conditions, attempts, elapsedSeconds };
    if (conditions.some((c) => !c.ok && c.fatal))
      return { ok: false, fatal: true, conditions, attempts, elapsedSeconds };
    const wait = Math.min(options.intervalSeconds * 1000, deadline - Date.now());
    if (wait <= 0 || attempts >= maxAttempts) break;
    try {
      await sleep(wait, undefined, options.signal ? { signal: options.signal } : {});
    } catch (err) {
      throw new InterruptedError(`${options.what}: interrupted while waiting`, { cause: err });
    }
  }
  return { ok: false, conditions, attempts, elapsedSeconds: (Date.now() - started) / 1000 };
}
