import type { Clock } from './clock.js';

/** What one try's answer means: done, worth another try, or hopeless (stop at once). */
export type Verdict = 'done' | 'again' | 'stop';

export interface PollOptions {
  timeoutSeconds: number;
  intervalSeconds: number;
  /** Seconds to wait before the first try; the deadline moves by as much. */
  delaySeconds?: number;
  clock: Clock;
  signal?: AbortSignal;
  /** The error to throw when `signal` aborts a wait. */
  interrupted: (cause: unknown) => Error;
}

export interface PollOutcome<T> {
  /** `timeout` when the time or the count ran out before a try was `done`. */
  verdict: Verdict | 'timeout';
  /** The last try's answer. */
  last: T;
  attempts: number;
  /** From the call to the last answer, the initial delay included. */
  elapsedSeconds: number;
}

/**
 * Tries until an answer is done or hopeless, or the time is up: the one poll-until-deadline loop
 * behind wait_for, the Consul health gates, the membership waits and the deploy lock's wait. Bounded twice: by the clock
 * and by a count (timeout / interval + 1), so tries that fail instantly cannot spin. `attempt`
 * gets the seconds left (at least half a second), to cap its own requests.
 */
export async function poll<T>(
  attempt: (secondsLeft: number) => Promise<T>,
  verdict: (answer: T) => Verdict,
  o: PollOptions,
): Promise<PollOutcome<T>> {
  const { clock } = o;
  const started = clock.now();
  const deadline = started + ((o.delaySeconds ?? 0) + o.timeoutSeconds) * 1000;
  const maxAttempts = Math.ceil(o.timeoutSeconds / o.intervalSeconds) + 1;
  const pause = async (ms: number): Promise<void> => {
    try {
      await clock.sleep(ms, o.signal);
    } catch (err) {
      throw o.interrupted(err);
    }
  };
  if (o.delaySeconds) await pause(o.delaySeconds * 1000);
  for (let attempts = 1; ; attempts++) {
    const last = await attempt(Math.max(0.5, (deadline - clock.now()) / 1000));
    const elapsedSeconds = (clock.now() - started) / 1000;
    const said = verdict(last);
    if (said !== 'again') return { verdict: said, last, attempts, elapsedSeconds };
    const wait = Math.min(o.intervalSeconds * 1000, deadline - clock.now());
    if (wait <= 0 || attempts >= maxAttempts) return { verdict: 'timeout', last, attempts, elapsedSeconds };
    await pause(wait);
  }
}
