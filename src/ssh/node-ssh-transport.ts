import { render, secretsOf, type Cmd } from '../shell/cmd.js';
import { isSecret, redactText } from '../shell/secret.js';
import { becomeCommand, joinStdin } from './become.js';
import { Semaphore } from '../util/limit.js';
import { SshConnection } from './connection.js';
import { timedOut, withDeadline } from '../util/deadline.js';
import { runOnChannel } from './exec-channel.js';
import { streamOnChannel } from './exec-stream.js';
import { fitsSession, runInSession } from './exec-session.js';
import { overForwardedChannel } from './forwarding.js';
import { httpOverChannel } from './http-over-channel.js';
import { SessionKeeper } from './session-keeper.js';
import { exchangeOverChannel } from './tcp-exchange.js';
import {
  secretsOfStdin,
  type ConnectionSpec,
  type ExecOptions,
  type ExecResult,
  type HttpRequest,
  type HttpResponse,
  type StreamOptions,
  type TcpExchange,
  type Transport,
} from './transport.js';

export interface ConnectOptions {
  /** Bound for exec() calls that do not set their own timeout. */
  defaultTimeoutSeconds?: number;
  /** Channels open at once on the connection; sshd's MaxSessions defaults to 10. */
  maxChannels?: number;
}

/**
 * Opens the one SSH connection drover keeps to a host for the whole run (connection.ts) and
 * starts its shell session; every exec() and http() is then a session command or a channel.
 */
export async function connect(spec: ConnectionSpec, options: ConnectOptions = {}): Promise<Transport> {
  const transport = new NodeSshTransport(await SshConnection.open(spec), spec, options);
  transport.startSession();
  return transport;
}

/**
 * Sends each call the cheapest way that is correct for it: a command in the host's shell
 * session when the session is free, else a channel of its own; HTTP and TCP exchanges over
 * forwarded channels. Output is redacted here, once for both ways.
 */
class NodeSshTransport implements Transport {
  readonly host: string;
  readonly #connection: SshConnection;
  readonly #spec: ConnectionSpec;
  readonly #defaultTimeout: number;
  readonly #slots: Semaphore;
  readonly #session: SessionKeeper;

  constructor(connection: SshConnection, spec: ConnectionSpec, options: ConnectOptions) {
    this.host = spec.host;
    this.#connection = connection;
    this.#spec = spec;
    this.#defaultTimeout = options.defaultTimeoutSeconds ?? 600;
    this.#slots = new Semaphore(options.maxChannels ?? 8);
    this.#session = new SessionKeeper(connection, spec);
  }

  /** Starts the shell session in the background (see SessionKeeper.start). */
  startSession(): void {
    this.#session.start();
  }

  async exec(cmd: Cmd, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutSeconds = options.timeoutSeconds ?? this.#defaultTimeout;
    // A Secret stdin (a token line) is clear text from here on: on the wire, never in argv.
    const input = isSecret(options.stdin) ? options.stdin.reveal() : options.stdin;
    const secrets = [
      ...secretsOf(cmd),
      ...secretsOfStdin(options.stdin),
      ...(this.#spec.becomePassword ? [this.#spec.becomePassword.reveal()] : []),
    ];
    const shown = () => render(cmd, { redact: true });
    const redacted = (res: ExecResult): ExecResult => ({
      code: res.code,
      stdout: redactText(res.stdout, secrets),
      stderr: redactText(res.stderr, secrets),
    });

    // Commands run in the host's shell session when it is free (see shell-session.ts); large or
    // binary stdin, a become password, and anything while the session is busy get a channel.
    if (fitsSession(input)) {
      const session = await this.#session.live();
      if (session?.idle) {
        const stdin = input as string | undefined;
        return redacted(await runInSession(this.#connection, session, { cmd, stdin, timeoutSeconds, shown }));
      }
    }

    const wrapped = becomeCommand(render(cmd, { redact: false }), this.#spec);
    const stdin = joinStdin(wrapped.stdinPrefix, input);
    return this.#slots.run(async () =>
      redacted(
        await runOnChannel(this.#connection, { command: wrapped.command, stdin, timeoutSeconds, shown }),
      ),
    );
  }

  async stream(cmd: Cmd, options: StreamOptions): Promise<{ code: number | null }> {
    const secrets = [
      ...secretsOf(cmd),
      ...(this.#spec.becomePassword ? [this.#spec.becomePassword.reveal()] : []),
    ];
    const wrapped = becomeCommand(render(cmd, { redact: false }), this.#spec);
    // Not under #slots: a stream holds its channel for minutes, and must not starve the calls.
    return streamOnChannel(this.#connection, {
      command: wrapped.command,
      ...(wrapped.stdinPrefix !== undefined && { stdinPrefix: wrapped.stdinPrefix }),
      onLine: (line, stream) => options.onLine(redactText(line, secrets), stream),
      ...(options.signal && { signal: options.signal }),
      shown: () => render(cmd, { redact: true }),
    });
  }

  async http(req: HttpRequest): Promise<HttpResponse> {
    const timeoutMs = (req.timeoutSeconds ?? 30) * 1000;
    const what = `${req.method ?? 'GET'} ${req.tls ? 'https' : 'http'}://${req.host}:${req.port}${req.path}`;
    return this.#slots.run(() =>
      overForwardedChannel(this.#connection, req, what, timeoutMs, (channel) =>
        httpOverChannel(channel, req, timeoutMs),
      ),
    );
  }

  async tcpExchange(req: TcpExchange): Promise<Buffer> {
    const timeoutMs = (req.timeoutSeconds ?? 30) * 1000;
    const maxBytes = req.maxBytes ?? 1 << 20;
    return this.#slots.run(() =>
      overForwardedChannel(this.#connection, req, `tcp ${req.host}:${req.port}`, timeoutMs, (channel) =>
        withDeadline(exchangeOverChannel(channel, req.send, req.complete, maxBytes), timeoutMs, () =>
          timedOut(`no complete answer within ${timeoutMs / 1000}s`),
        ),
      ),
    );
  }

  async close(): Promise<void> {
    await this.#session.close();
    this.#connection.close();
  }
}
