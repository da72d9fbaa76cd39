import { StringDecoder } from 'node:string_decoder';
import { UnreachableError } from '../errors.js';
import type { SshConnection } from './connection.js';

export interface StreamCommand {
  /** The text sshd hands the login shell, become-wrapped. */
  command: string;
  /** sudo's password line, when become needs one; the channel's stdin stays open after it. */
  stdinPrefix?: string;
  /** Each whole line of output as it arrives, without its newline (not yet redacted). */
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Aborting ends the command: its stdin is closed (see untilStdinCloses) and the channel too. */
  signal?: AbortSignal;
  /** The command as people may see it (redacted), for errors. */
  shown: () => string;
}

/**
 * Runs a command that goes on until it is stopped (`docker logs -f`) on a channel of its own,
 * handing over its output line by line as it comes. The channel's stdin is held open for as
 * long as the caller wants the output: a command wrapped by untilStdinCloses (remote/shell.ts)
 * ends itself when it closes, which works for root logins too, where sshd ignores an SSH signal
 * request. Resolves with the exit code (null when stopped or when the channel broke).
 */
export async function streamOnChannel(
  connection: SshConnection,
  run: StreamCommand,
): Promise<{ code: number | null }> {
  connection.assertConnected();
  let channel;
  try {
    channel = await connection.openExecChannel(run.command);
  } catch (err) {
    throw new UnreachableError(connection.host, `cannot run ${run.shown()}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const open = channel;
  if (run.stdinPrefix !== undefined) open.write(run.stdinPrefix);
  return new Promise((resolve) => {
    let code: number | null = null;
    const splitter = (stream: 'stdout' | 'stderr') => {
      const decoder = new StringDecoder('utf8');
      let rest = '';
      return {
        push(chunk: Buffer) {
          const lines = (rest + decoder.write(chunk)).split('\n');
          rest = lines.pop() ?? '';
          for (const l of lines) run.onLine(l, stream);
        },
        end() {
          const last = rest + decoder.end();
          if (last !== '') run.onLine(last, stream);
        },
      };
    };
    const out = splitter('stdout');
    const err = splitter('stderr');
    open.on('data', (c: Buffer) => out.push(c));
    open.stderr.on('data', (c: Buffer) => err.push(c));
    open.on('exit', (c: number | null) => {
      code = typeof c === 'number' ? c : null;
    });
    const stop = () => {
      try {
        open.end();
        setTimeout(() => open.close(), 2000).unref();
      } catch {
        // Already closed: the close handler below resolves.
      }
    };
    run.signal?.addEventListener('abort', stop, { once: true });
    if (run.signal?.aborted) stop();
    open.on('close', () => {
      run.signal?.removeEventListener('abort', stop);
      out.end();
      err.end();
      resolve({ code });
    });
  });
}
