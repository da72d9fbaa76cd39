import type { Clock } from './clock.js';

/**
 * A clock for tests: sleeping moves time forward at once, so a 300-second gate runs in
 * microseconds, and `sleeps` tells how long the code under test would have waited. `tick`
 * moves time as a slow host would, e.g. from inside a scripted answer.
 */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  #now: number;

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  tick(ms: number): void {
    this.#now += ms;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    this.sleeps.push(ms);
    this.#now += Math.max(0, ms);
    // A turn of the event loop, as a real timer gives: other tasks run while this one waits.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw abortError(signal);
  }

  /** Seconds slept in all, for assertions. */
  get sleptSeconds(): number {
    return this.sleeps.reduce((a, b) => a + b, 0) / 1000;
  }
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
  });
}
