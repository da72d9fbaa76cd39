import { systemClock, type Clock } from './clock.js';

/**
 * Rejects with `expired()` when `promise` has not settled within `ms` on `clock`: the one bound
 * on a call that may never answer (an SSH handshake, a channel, a Consul request). The timer is
 * cancelled as soon as the promise settles; a promise that loses the race still settles later,
 * and its rejection is kept from surfacing as unhandled. The caller cleans up what it started.
 */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  expired: () => Error,
  clock: Clock = systemClock,
): Promise<T> {
  promise.catch(() => undefined);
  const settled = new AbortController();
  const deadline = clock.sleep(ms, settled.signal).then(
    () => Promise.reject(expired()),
    // Cancelled because the promise settled first: this side of the race never ends.
    () => new Promise<never>(() => undefined),
  );
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    settled.abort();
  }
}

/** An Error with Node's ETIMEDOUT code, as the SSH layer's timeouts are classified. */
export const timedOut = (message: string): Error => Object.assign(new Error(message), { code: 'ETIMEDOUT' });
