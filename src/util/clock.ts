import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as drover's waits see it. Every poll, retry delay and duration reads this instead of the
 * process clock, so tests run on a fake clock (fake-clock.ts) and need no real time.
 */
export interface Clock {
  /** Milliseconds since 1970. */
  now(): number;
  /** Resolves after `ms`; rejects (an AbortError) when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}),
};
