import type { Duplex } from 'node:stream';
import { TaskFailedError, UnreachableError } from '../errors.js';
import type { SshConnection } from './connection.js';
import { timedOut, withDeadline } from '../util/deadline.js';

/**
 * Opens a direct-tcpip channel to host:port as seen from the target (so nothing needs to be
 * installed there), runs `talk` over it and always closes it. A lost connection is
 * UnreachableError; anything else names the request (`what`) in a TaskFailedError.
 */
export async function overForwardedChannel<T>(
  connection: SshConnection,
  target: { host: string; port: number },
  what: string,
  timeoutMs: number,
  talk: (channel: Duplex) => Promise<T>,
): Promise<T> {
  const { host } = connection;
  connection.assertConnected();
  let channel: Duplex;
  try {
    channel = await withDeadline(connection.forwardOut(target.host, target.port), timeoutMs, () =>
      timedOut(`no answer within ${timeoutMs / 1000}s`),
    );
  } catch (err) {
    if (connection.lost)
      throw new UnreachableError(host, `connection lost: ${connection.lost.message}`, { cause: err });
    throw new TaskFailedError(`${host}: ${what}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await talk(channel);
  } catch (err) {
    throw new TaskFailedError(`${host}: ${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    channel.destroy();
  }
}
