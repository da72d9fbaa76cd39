import { InterruptedError } from '../errors.js';

/**
 * Long input work (a big inventory, every host's config rendered before any connection) is
 * synchronous, and a signal handler only runs between two pieces of it. So that Ctrl-C and
 * SIGTERM end drover at any moment, that work pauses now and then: `pause` lets pending events
 * (the signal) in and throws when the run was interrupted.
 */
export async function pause(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfInterrupted(signal);
}

export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof InterruptedError ? reason : new InterruptedError('interrupted');
}
