import { TaskFailedError, UnreachableError } from '../errors.js';

/** A command that outlived its timeout: the task fails, the host stays reachable. */
export const commandTimedOut = (host: string, timeoutSeconds: number, shown: string): TaskFailedError =>
  new TaskFailedError(`${host}: command timed out after ${timeoutSeconds}s: ${shown}`);

/** The connection went away under a running command. */
export const lostWhileRunning = (
  host: string,
  shown: string,
  lost: Error,
  options?: { cause?: unknown },
): UnreachableError =>
  new UnreachableError(host, `connection lost while running ${shown}: ${lost.message}`, options);
