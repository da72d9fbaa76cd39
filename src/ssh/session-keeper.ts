import { becomeCommand } from './become.js';
import type { SshConnection } from './connection.js';
import { timedOut, withDeadline } from '../util/deadline.js';
import { sessionCommand, ShellSession } from './shell-session.js';
import type { ConnectionSpec } from './transport.js';

/** A host that keeps ending its sessions is served over channels after this many starts. */
const MAX_SESSION_STARTS = 3;

/**
 * Keeps the host's shell session (see shell-session.ts) on the connection: opens it in the
 * background as soon as the connection is up, opens it again if it ended, closes it at the end.
 */
export class SessionKeeper {
  readonly #connection: SshConnection;
  /** What starts the shell session; undefined when there is none (a become password). */
  readonly #command: string | undefined;
  #session: Promise<ShellSession | undefined> | undefined;
  #starts = 0;

  constructor(connection: SshConnection, spec: ConnectionSpec) {
    this.#connection = connection;
    // sudo reads a become password from stdin, which in a session carries the protocol.
    this.#command = spec.becomePassword ? undefined : becomeCommand(sessionCommand(), spec).command;
  }

  /** Starts opening the session, so that it is ready by the time the first command comes. */
  start(): void {
    this.#session ??= this.#open();
  }

  /**
   * The shell session, opened again if it ended. Undefined when there is none; the caller uses
   * a channel.
   */
  async live(): Promise<ShellSession | undefined> {
    this.start();
    const session = await this.#session;
    if (session && !session.alive && this.#starts < MAX_SESSION_STARTS) {
      this.#session = this.#open();
      return this.#session;
    }
    return session;
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = Promise.resolve(undefined);
    (await session)?.close();
  }

  async #open(): Promise<ShellSession | undefined> {
    const command = this.#command;
    if (!command || !this.#connection.connected) return undefined;
    this.#starts++;
    try {
      const channel = await withDeadline(this.#connection.openExecChannel(command), 30_000, () =>
        timedOut('no shell session within 30s'),
      );
      const session = new ShellSession({
        stdin: channel,
        stdout: channel,
        stderr: channel.stderr,
        close: () => channel.close(),
      });
      // A session that cannot answer (sudo -n wanting a password, a login shell that prints or
      // exits) is not used: commands then get channels, where such errors show as they are.
      if (await session.ready(30_000)) return session;
      session.close();
      return undefined;
    } catch {
      return undefined;
    }
  }
}
