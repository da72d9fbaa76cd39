import { readFile } from 'node:fs/promises';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { NodeSSH, type SSHExecCommandOptions, type SSHExecCommandResponse } from 'node-ssh';
import { ConfigError, UnreachableError } from '../errors.js';
import { describeConnectError } from './connect-error.js';
import { timedOut, withDeadline } from '../util/deadline.js';
import { hostKeyPolicy } from './host-key-policy.js';
import type { ConnectionSpec } from './transport.js';

/** An ssh2 exec channel: a duplex (stdin and stdout) with stderr beside it. */
export type ExecChannel = Duplex & { stderr: Readable; close(): void };

/** How long a closed connection waits for the peer to close its side before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

/**
 * The one SSH connection drover keeps to a host for the whole run; every command, session and
 * forwarded request is a channel on it. Host keys are checked strictly against the known_hosts
 * file. It remembers why it was lost, so that callers can tell a broken connection from a
 * failing command.
 */
export class SshConnection {
  readonly host: string;
  readonly #ssh: NodeSSH;
  readonly #socket: Socket;
  #lost: Error | undefined;

  static async open(spec: ConnectionSpec): Promise<SshConnection> {
    const ssh = new NodeSSH();
    const hostKey = await hostKeyPolicy(spec);
    const privateKey = spec.privateKeyPath ? await readPrivateKey(spec.privateKeyPath) : undefined;
    const agent = privateKey ? undefined : (spec.agent ?? process.env['SSH_AUTH_SOCK']);
    const timeoutMs = spec.connectTimeoutSeconds * 1000;
    const socket = tcpConnect({ host: spec.address, port: spec.port, noDelay: true });
    try {
      await withDeadline(
        ssh.connect({
          // TCP_NODELAY: without it Nagle's algorithm holds each channel's small packets (open,
          // exec, EOF) until the previous one is acknowledged, and the peer delays that ACK by
          // ~40 ms: every exec() would cost 40 ms more.
          sock: socket,
          username: spec.user,
          ...(privateKey !== undefined && { privateKey }),
          ...(agent !== undefined && { agent }),
          tryKeyboard: false,
          readyTimeout: timeoutMs,
          hostVerifier: hostKey.verifier,
          ...(hostKey.algorithms && { algorithms: { serverHostKey: hostKey.algorithms } }),
          // Notice a dead peer within ~45s instead of hanging on TCP.
          keepaliveInterval: 15_000,
          keepaliveCountMax: 3,
        }),
        // ssh2's readyTimeout covers the handshake; this also bounds a stuck TCP connect.
        timeoutMs + 2000,
        () =>
          timedOut(
            `no SSH handshake within ${spec.connectTimeoutSeconds}s from ${spec.address}:${spec.port}`,
          ),
      );
    } catch (err) {
      ssh.dispose();
      socket.destroy();
      throw new UnreachableError(spec.host, hostKey.rejection() ?? describeConnectError(err, spec), {
        cause: err,
      });
    }
    return new SshConnection(spec.host, ssh, socket);
  }

  private constructor(host: string, ssh: NodeSSH, socket: Socket) {
    this.host = host;
    this.#ssh = ssh;
    this.#socket = socket;
    const client = ssh.connection;
    // node-ssh drops its error listener after connecting; without ours a later socket error
    // (keepalive timeout, reset) would crash the process instead of failing this host.
    client?.on('error', (err: Error) => {
      this.#lost = err;
    });
    client?.on('close', () => {
      this.#lost ??= new Error('connection closed');
    });
  }

  /** Why the connection ended (socket error, keepalive timeout, close); undefined while it is up. */
  get lost(): Error | undefined {
    return this.#lost;
  }

  /** False once node-ssh has seen the connection end. */
  get connected(): boolean {
    return this.#ssh.isConnected();
  }

  /** Throws UnreachableError once the connection is gone. */
  assertConnected(): void {
    if (!this.connected || this.#lost) {
      throw new UnreachableError(this.host, `connection lost${this.#lost ? `: ${this.#lost.message}` : ''}`);
    }
  }

  /** Runs `command` on a channel of its own and collects its output until the channel closes. */
  execCommand(command: string, options: SSHExecCommandOptions): Promise<SSHExecCommandResponse> {
    return this.#ssh.execCommand(command, options);
  }

  /** Opens an exec channel and hands it over as it is: the caller speaks over stdin and stdout. */
  openExecChannel(command: string): Promise<ExecChannel> {
    return new Promise<ExecChannel>((resolve, reject) => {
      const client = this.#ssh.connection;
      if (!client) throw new Error('not connected');
      client.exec(command, (err: Error | undefined, channel: ExecChannel) =>
        err ? reject(err) : resolve(channel),
      );
    });
  }

  /** A direct-tcpip channel to host:port as seen from the target host. */
  forwardOut(host: string, port: number): Promise<Duplex> {
    return this.#ssh.forwardOut('127.0.0.1', 0, host, port) as Promise<Duplex>;
  }

  /**
   * Ends the connection: SSH's disconnect, then the socket itself at most CLOSE_GRACE_MS later.
   * A peer that is frozen (a paused VM, a stalled kernel) still acknowledges TCP but never
   * closes its side, and the open socket would keep drover's process alive after its run.
   */
  close(): void {
    this.#ssh.dispose();
    if (!this.#socket.destroyed) setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS).unref();
  }
}

async function readPrivateKey(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [{ file: path, message: `cannot read the SSH private key: ${(err as Error).message}` }],
      {
        cause: err,
      },
    );
  }
}
