import { TaskFailedError } from '../errors.js';
import type { Cmd } from '../shell/cmd.js';
import type { SshConnection } from './connection.js';
import { commandTimedOut, lostWhileRunning } from './exec-errors.js';
import { SessionTimeoutError, type ShellSession } from './shell-session.js';
import type { ExecResult } from './transport.js';

/**
 * Stdin up to this size travels inside the session's command text (a quoted printf); the
 * session reads that text a byte at a time, so larger stdin gets its own channel, as does stdin
 * with a NUL byte (sh's read cannot carry one).
 */
const SESSION_STDIN_MAX = 64 * 1024;

/** True when `stdin` can travel inside a session command (see SESSION_STDIN_MAX). */
export function fitsSession(stdin: string | Buffer | undefined): boolean {
  return (
    stdin === undefined ||
    (typeof stdin === 'string' && stdin.length <= SESSION_STDIN_MAX && !stdin.includes('\0'))
  );
}

/**
 * Runs one command in the host's shell session and returns its output as it came (not yet
 * redacted). A timeout is a TaskFailedError; so is a session that broke while the connection
 * stayed up, and a lost connection is UnreachableError.
 */
export async function runInSession(
  connection: SshConnection,
  session: ShellSession,
  run: { cmd: Cmd; stdin: string | undefined; timeoutSeconds: number; shown: () => string },
): Promise<ExecResult> {
  const { host } = connection;
  try {
    return await session.run(run.cmd, run.stdin, run.timeoutSeconds * 1000);
  } catch (err) {
    if (err instanceof SessionTimeoutError) throw commandTimedOut(host, run.timeoutSeconds, run.shown());
    if (connection.lost) throw lostWhileRunning(host, run.shown(), connection.lost, { cause: err });
    throw new TaskFailedError(`${host}: ${(err as Error).message} while running ${run.shown()}`, {
      cause: err,
    });
  }
}
