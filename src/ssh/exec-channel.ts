import { Readable } from 'node:stream';
import { TaskFailedError, UnreachableError } from '../errors.js';
import type { SshConnection } from './connection.js';
import { commandTimedOut, lostWhileRunning } from './exec-errors.js';
import { killRemote, type SignalableChannel } from './kill-remote.js';
import type { ExecResult } from './transport.js';

export interface ChannelCommand {
  /** The text sshd hands the login shell, become-wrapped; secrets in it travel only on the wire. */
  command: string;
  stdin: string | Buffer | undefined;
  timeoutSeconds: number;
  /** The command as people may see it (redacted), for errors. */
  shown: () => string;
}

/**
 * Runs one command on a channel of its own and returns its output as it came (not yet
 * redacted). A timeout is a TaskFailedError; a lost connection or a channel that cannot be
 * opened is UnreachableError.
 */
export async function runOnChannel(connection: SshConnection, run: ChannelCommand): Promise<ExecResult> {
  const { host } = connection;
  connection.assertConnected();
  let channel: (SignalableChannel & { close(): void }) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Ask the server to kill the process, then drop the channel; we do not wait for
      // a process that may ignore both.
      try {
        if (channel) killRemote(channel);
        channel?.close();
      } catch {
        // The channel may already be gone; the timeout error below is what matters.
      }
      reject(commandTimedOut(host, run.timeoutSeconds, run.shown()));
    }, run.timeoutSeconds * 1000);
  });
  const { stdin } = run;
  const running = connection.execCommand(run.command, {
    // Exact bytes: file contents are compared with what we would write.
    noTrim: true,
    ...(stdin !== undefined && { stdin: typeof stdin === 'string' ? stdin : Readable.from([stdin]) }),
    onChannel: (c) => {
      channel = c;
    },
  });
  // After a timeout nobody awaits `running`; its late settlement must not go unhandled.
  running.catch(() => undefined);
  try {
    const res = await Promise.race([running, timedOut]);
    if (res.code === null && connection.lost) throw lostWhileRunning(host, run.shown(), connection.lost);
    return { code: res.code, stdout: res.stdout, stderr: res.stderr };
  } catch (err) {
    if (err instanceof TaskFailedError || err instanceof UnreachableError) throw err;
    throw new UnreachableError(host, `cannot run ${run.shown()}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}
