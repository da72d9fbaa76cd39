import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import { ConfigError, TaskFailedError, UnreachableError } from '../errors.js';
import { quote, render, secretsOf, type Cmd } from '../shell/cmd.js';
import { redactText } from '../shell/secret.js';
import { sessionCommand, SessionTimeoutError, ShellSession } from './shell-session.js';
import {
  appendKnownHost,
  checkHostKey,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  loadKnownHosts,
} from './known-hosts.js';
import type {
  ConnectionSpec,
  ExecOptions,
  ExecResult,
  HttpRequest,
  HttpResponse,
  TcpExchange,
  Transport,
} from './transport.js';

export interface ConnectOptions {
  /** Bound for exec() calls that do not set their own timeout. */
  defaultTimeoutSeconds?: number;
  /** Channels open at once on the connection; sshd's MaxSessions defaults to 10. */
  maxChannels?: number;
}

/**
 * Opens the one SSH connection drover keeps to a host for the whole run; every exec() and
 * http() is a channel on it. Host keys are checked strictly against the known_hosts file.
 */
export async function connect(spec: ConnectionSpec, options: ConnectOptions = {}): Promise<Transport> {
  const ssh = new NodeSSH();
  const hostKey = await hostKeyPolicy(spec);
  const privateKey = spec.privateKeyPath ? await readPrivateKey(spec.privateKeyPath) : undefined;
  const agent = privateKey ? undefined : (spec.agent ?? process.env['SSH_AUTH_SOCK']);
  const timeoutMs = spec.connectTimeoutSeconds * 1000;
  try {
    const connecting = ssh.connect({
      host: spec.address,
      port: spec.port,
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
    });
    // TCP_NODELAY: without it Nagle's algorithm holds each channel's small packets (open, exec,
    // EOF) until the previous one is acknowledged, and the peer delays that ACK by ~40 ms: every
    // exec() would cost 40 ms more. node-ssh creates the ssh2 client synchronously, before the
    // socket connects, so the option is set as soon as there is a socket.
    const client = ssh.connection;
    client?.once('connect', () => client.setNoDelay(true));
    await withDeadline(
      connecting,
      // ssh2's readyTimeout covers the handshake; this also bounds a stuck TCP connect.
      timeoutMs + 2000,
      () => `no SSH handshake within ${spec.connectTimeoutSeconds}s from ${spec.address}:${spec.port}`,
    );
  } catch (err) {
    ssh.dispose();
    throw new UnreachableError(spec.host, hostKey.rejection() ?? describeConnectError(err, spec), {
      cause: err,
    });
  }
  const transport = new NodeSshTransport(ssh, spec, options);
  transport.startSession();
  return transport;
}

/**
 * Stdin up to this size travels inside the session's command text (a quoted printf); the
 * session reads that text a byte at a time, so larger stdin gets its own channel, as does stdin
 * with a NUL byte (sh's read cannot carry one).
 */
const SESSION_STDIN_MAX = 64 * 1024;

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

class NodeSshTransport implements Transport {
  readonly host: string;
  readonly #ssh: NodeSSH;
  readonly #spec: ConnectionSpec;
  readonly #defaultTimeout: number;
  readonly #slots: Semaphore;
  #lost: Error | undefined;
  /** What starts the shell session; undefined when there is none (a become password). */
  readonly #sessionCommand: string | undefined;
  /** The shell session, opened as soon as the connection is up (see shell-session.ts). */
  #session: Promise<ShellSession | undefined> | undefined;
  #sessionStarts = 0;

  constructor(ssh: NodeSSH, spec: ConnectionSpec, options: ConnectOptions) {
    this.host = spec.host;
    this.#ssh = ssh;
    this.#spec = spec;
    this.#defaultTimeout = options.defaultTimeoutSeconds ?? 600;
    this.#slots = new Semaphore(options.maxChannels ?? 8);
    // sudo reads a become password from stdin, which in a session carries the protocol.
    this.#sessionCommand = spec.becomePassword ? undefined : becomeCommand(sessionCommand(), spec).command;
    const connection = ssh.connection;
    // node-ssh drops its error listener after connecting; without ours a later socket error
    // (keepalive timeout, reset) would crash the process instead of failing this host.
    connection?.on('error', (err: Error) => {
      this.#lost = err;
    });
    connection?.on('close', () => {
      this.#lost ??= new Error('connection closed');
    });
  }

  async exec(cmd: Cmd, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutSeconds = options.timeoutSeconds ?? this.#defaultTimeout;
    const secrets = [
      ...secretsOf(cmd),
      ...(this.#spec.becomePassword ? [this.#spec.becomePassword.reveal()] : []),
    ];
    const shown = () => render(cmd, { redact: true });

    // Commands run in the host's shell session when it is free (see shell-session.ts); large or
    // binary stdin, a become password, and anything while the session is busy get a channel.
    const small =
      options.stdin === undefined ||
      (typeof options.stdin === 'string' &&
        options.stdin.length <= SESSION_STDIN_MAX &&
        !options.stdin.includes('\0'));
    if (small) {
      const session = await this.#liveSession();
      if (session?.idle) {
        return this.#runInSession(
          session,
          cmd,
          options.stdin as string | undefined,
          timeoutSeconds,
          secrets,
          shown,
        );
      }
    }

    const wrapped = becomeCommand(render(cmd, { redact: false }), this.#spec);
    const stdin = joinStdin(wrapped.stdinPrefix, options.stdin);
    return this.#slots.run(async () => {
      this.#assertConnected();
      let channel: ChannelLike | undefined;
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
          reject(new TaskFailedError(`${this.host}: command timed out after ${timeoutSeconds}s: ${shown()}`));
        }, timeoutSeconds * 1000);
      });
      const running = this.#ssh.execCommand(wrapped.command, {
        // Exact bytes: file contents are compared with what we would write.
        noTrim: true,
        ...(stdin !== undefined && { stdin: typeof stdin === 'string' ? stdin : Readable.from([stdin]) }),
        onChannel: (c: unknown) => {
          channel = c as ChannelLike;
        },
      });
      // After a timeout nobody awaits `running`; its late settlement must not go unhandled.
      running.catch(() => undefined);
      try {
        const res = await Promise.race([running, timedOut]);
        if (res.code === null && this.#lost) {
          throw new UnreachableError(
            this.host,
            `connection lost while running ${shown()}: ${this.#lost.message}`,
          );
        }
        return {
          code: res.code,
          stdout: redactText(res.stdout, secrets),
          stderr: redactText(res.stderr, secrets),
        };
      } catch (err) {
        if (err instanceof TaskFailedError || err instanceof UnreachableError) throw err;
        throw new UnreachableError(this.host, `cannot run ${shown()}: ${(err as Error).message}`, {
          cause: err,
        });
      } finally {
        clearTimeout(timer);
      }
    });
  }

  async #runInSession(
    session: ShellSession,
    cmd: Cmd,
    stdin: string | undefined,
    timeoutSeconds: number,
    secrets: string[],
    shown: () => string,
  ): Promise<ExecResult> {
    try {
      const res = await session.run(cmd, stdin, timeoutSeconds * 1000);
      return {
        code: res.code,
        stdout: redactText(res.stdout, secrets),
        stderr: redactText(res.stderr, secrets),
      };
    } catch (err) {
      if (err instanceof SessionTimeoutError) {
        throw new TaskFailedError(`${this.host}: command timed out after ${timeoutSeconds}s: ${shown()}`);
      }
      if (this.#lost) {
        throw new UnreachableError(
          this.host,
          `connection lost while running ${shown()}: ${this.#lost.message}`,
          {
            cause: err,
          },
        );
      }
      throw new TaskFailedError(`${this.host}: ${(err as Error).message} while running ${shown()}`, {
        cause: err,
      });
    }
  }

  /**
   * Starts the shell session in the background; connect() calls it so that the session is
   * ready by the time the first command comes.
   */
  startSession(): void {
    this.#session ??= this.#openSession();
  }

  /**
   * The shell session, opened again if it ended (at most three times: a host that keeps ending
   * them is served over channels). Undefined when there is none; the caller uses a channel.
   */
  async #liveSession(): Promise<ShellSession | undefined> {
    this.startSession();
    const session = await this.#session;
    if (session && !session.alive && this.#sessionStarts < 3) {
      this.#session = this.#openSession();
      return this.#session;
    }
    return session;
  }

  async #openSession(): Promise<ShellSession | undefined> {
    const client = this.#ssh.connection;
    const command = this.#sessionCommand;
    if (!command || !client) return undefined;
    this.#sessionStarts++;
    try {
      const channel = await withDeadline(
        new Promise<SessionChannelStream>((resolve, reject) =>
          client.exec(command, (err: Error | undefined, stream: SessionChannelStream) =>
            err ? reject(err) : resolve(stream),
          ),
        ),
        30_000,
        () => 'no shell session within 30s',
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

  async http(req: HttpRequest): Promise<HttpResponse> {
    const timeoutMs = (req.timeoutSeconds ?? 30) * 1000;
    const what = `${req.method ?? 'GET'} http://${req.host}:${req.port}${req.path}`;
    return this.#overForwardedChannel(req, what, timeoutMs, (channel) =>
      httpOverChannel(channel, req, timeoutMs),
    );
  }

  async tcpExchange(req: TcpExchange): Promise<Buffer> {
    const timeoutMs = (req.timeoutSeconds ?? 30) * 1000;
    const maxBytes = req.maxBytes ?? 1 << 20;
    return this.#overForwardedChannel(req, `tcp ${req.host}:${req.port}`, timeoutMs, (channel) =>
      withDeadline(
        exchangeOverChannel(channel, req.send, req.complete, maxBytes),
        timeoutMs,
        () => `no complete answer within ${timeoutMs / 1000}s`,
      ),
    );
  }

  /**
   * Opens a direct-tcpip channel to host:port as seen from the target (so nothing needs to be
   * installed there), runs `talk` over it and always closes it. A lost connection is
   * UnreachableError; anything else names the request in a TaskFailedError.
   */
  #overForwardedChannel<T>(
    target: { host: string; port: number },
    what: string,
    timeoutMs: number,
    talk: (channel: Duplex) => Promise<T>,
  ): Promise<T> {
    return this.#slots.run(async () => {
      this.#assertConnected();
      let channel: Duplex;
      try {
        channel = await withDeadline(
          this.#ssh.forwardOut('127.0.0.1', 0, target.host, target.port) as Promise<Duplex>,
          timeoutMs,
          () => `no answer within ${timeoutMs / 1000}s`,
        );
      } catch (err) {
        if (this.#lost)
          throw new UnreachableError(this.host, `connection lost: ${this.#lost.message}`, { cause: err });
        throw new TaskFailedError(`${this.host}: ${what}: ${(err as Error).message}`, { cause: err });
      }
      try {
        return await talk(channel);
      } catch (err) {
        throw new TaskFailedError(`${this.host}: ${what}: ${(err as Error).message}`, { cause: err });
      } finally {
        channel.destroy();
      }
    });
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = Promise.resolve(undefined);
    (await session)?.close();
    this.#ssh.dispose();
  }

  #assertConnected(): void {
    if (!this.#ssh.isConnected() || this.#lost) {
      throw new UnreachableError(this.host, `connection lost${this.#lost ? `: ${this.#lost.message}` : ''}`);
    }
  }
}

/** An ssh2 exec channel: a duplex (stdin and stdout) with stderr beside it. */
type SessionChannelStream = Duplex & { stderr: Readable; close(): void };

interface ChannelLike {
  close(): void;
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?(id: number, name: string): void } };
}

/**
 * Best effort: an SSH "signal" request (RFC 4254 6.9) so sshd kills the command. ssh2's
 * Channel.signal() refuses once our side has sent EOF, which node-ssh does at once for commands
 * without stdin, so the request goes through the protocol object. OpenSSH honours it only for
 * non-root logins (it needs its privilege-separated child); for root the process runs on, but
 * drover has stopped waiting for it.
 */
function killRemote(channel: ChannelLike): void {
  const id = channel.outgoing?.id;
  const state = channel.outgoing?.state;
  if (id === undefined || (state !== 'open' && state !== 'eof')) return;
  channel._client?._protocol?.signal?.(id, 'KILL');
}

/**
 * Privilege escalation: the whole rendered command runs under `sh -c` as root, so pipes and
 * redirects are elevated too. With a password, sudo reads it from the first line of stdin;
 * `-k` makes sudo ask every time, so the password line is always consumed by sudo and never
 * reaches the command (sudoers with NOPASSWD must not be combined with a become password).
 */
export function becomeCommand(
  rendered: string,
  spec: Pick<ConnectionSpec, 'become' | 'user' | 'becomePassword'>,
): {
  command: string;
  stdinPrefix?: string;
} {
  if (!spec.become || spec.user === 'root') return { command: rendered };
  if (spec.becomePassword) {
    return {
      command: `sudo -k -S -p '' sh -c ${quote(rendered)}`,
      stdinPrefix: `${spec.becomePassword.reveal()}\n`,
    };
  }
  return { command: `sudo -n sh -c ${quote(rendered)}` };
}

function joinStdin(
  prefix: string | undefined,
  stdin: string | Buffer | undefined,
): string | Buffer | undefined {
  if (prefix === undefined) return stdin;
  if (stdin === undefined) return prefix;
  return typeof stdin === 'string' ? prefix + stdin : Buffer.concat([Buffer.from(prefix), stdin]);
}

/** Writes `send`, then collects bytes until `complete` says the answer is whole (or the peer closes). */
function exchangeOverChannel(
  channel: Duplex,
  send: Buffer,
  complete: (received: Buffer) => boolean,
  maxBytes: number,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    channel.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length > maxBytes) reject(new Error(`answer larger than ${maxBytes} bytes`));
      else if (complete(received)) resolve(received);
    });
    channel.on('error', reject);
    channel.on('close', () =>
      complete(received) ? resolve(received) : reject(new Error('connection closed before a whole answer')),
    );
    channel.write(send);
  });
}

/** A plain HTTP/1.1 exchange over a direct-tcpip channel, parsed by Node's own HTTP client. */
function httpOverChannel(channel: Duplex, req: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
  // node:http expects a net.Socket; these are the calls it makes that a channel lacks.
  const socketish = Object.assign(channel, {
    setKeepAlive: () => socketish,
    setNoDelay: () => socketish,
    setTimeout: () => socketish,
    ref: () => socketish,
    unref: () => socketish,
  });
  return new Promise<HttpResponse>((resolve, reject) => {
    const body = req.body ?? '';
    const r = httpRequest(
      {
        method: req.method ?? 'GET',
        path: req.path,
        headers: {
          host: `${req.host}:${req.port}`,
          connection: 'close',
          ...(req.body !== undefined && {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          }),
        },
        createConnection: () => socketish as unknown as Socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          }
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = setTimeout(() => r.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
    r.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    r.end(body);
  });
}

/** Host key checking for one connection: ssh2's hostVerifier plus the reason for a rejection. */
async function hostKeyPolicy(spec: ConnectionSpec): Promise<{
  verifier: (key: Buffer, verify: (ok: boolean) => void) => undefined;
  algorithms: string[] | undefined;
  rejection: () => string | undefined;
}> {
  const file = spec.knownHostsPath;
  let entries;
  try {
    entries = await loadKnownHosts(file);
  } catch (err) {
    throw new UnreachableError(spec.host, `cannot read known_hosts file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const name = knownHostsName(spec.address, spec.port);
  let rejection: string | undefined;
  const reject = (verify: (ok: boolean) => void, why: string) => {
    rejection = why;
    verify(false);
  };
  const verifier = (key: Buffer, verify: (ok: boolean) => void): undefined => {
    const keyType = keyTypeOfBlob(key);
    const fingerprint = `${keyType} SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
    const verdict = checkHostKey(entries, name, keyType, key.toString('base64'));
    switch (verdict.status) {
      case 'known':
        verify(true);
        break;
      case 'unknown':
        if (!spec.acceptNewHostKeys) {
          reject(
            verify,
            `host key for ${name} is not in known_hosts file ${file} (server presented ${fingerprint}); ` +
              `add it (ssh-keyscan -p ${spec.port} ${spec.address}) or enable accepting new host keys`,
          );
          break;
        }
        appendKnownHost(file, name, keyType, key.toString('base64')).then(
          () => verify(true),
          (err: Error) =>
            reject(verify, `cannot record the new host key of ${name} in ${file}: ${err.message}`),
        );
        break;
      case 'changed':
        reject(
          verify,
          `HOST KEY CHANGED for ${name}: known_hosts file ${file} line ${verdict.line} has a different ${keyType} key ` +
            `(server presented ${fingerprint}). This may be an attack; if the host was rebuilt, remove that line.`,
        );
        break;
      case 'other-type':
        reject(
          verify,
          `host key for ${name} is ${keyType}, but known_hosts file ${file} line ${verdict.line} lists only ` +
            `${verdict.knownTypes.join(', ')} keys for it; refusing a key of another type`,
        );
        break;
      case 'revoked':
        reject(
          verify,
          `host key of ${name} (${fingerprint}) is marked @revoked in known_hosts file ${file} line ${verdict.line}`,
        );
        break;
    }
    return undefined;
  };
  const types = knownKeyTypes(entries, name);
  const algorithms = types.length > 0 ? hostKeyAlgorithms(types) : undefined;
  return { verifier, algorithms, rejection: () => rejection };
}

/** Ask for the key types we already know, like OpenSSH does, so a host with several keys matches. */
function hostKeyAlgorithms(types: readonly string[]): string[] | undefined {
  const byType: Record<string, string[]> = {
    'ssh-ed25519': ['ssh-ed25519'],
    'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
    'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
    'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
    'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  };
  const algos = types.flatMap((t) => byType[t] ?? []);
  // A type we cannot map: do not restrict, the verifier still decides.
  return algos.length > 0 && types.every((t) => byType[t]) ? algos : undefined;
}

function describeConnectError(err: unknown, spec: ConnectionSpec): string {
  const e = err as { code?: string; level?: string; message?: string };
  const where = `${spec.address}:${spec.port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where}`;
    case 'ETIMEDOUT':
      return `no SSH answer within ${spec.connectTimeoutSeconds}s from ${where}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${where}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${spec.address}`;
  }
  if (e.level === 'client-timeout')
    return `no SSH handshake within ${spec.connectTimeoutSeconds}s from ${where}`;
  if (e.level === 'client-authentication') {
    const how = spec.privateKeyPath ? `key ${spec.privateKeyPath}` : 'ssh-agent keys';
    return `authentication failed for user ${spec.user} at ${where} (tried ${how})`;
  }
  return `${where}: ${e.message ?? String(err)}`;
}

/** Rejects when `promise` has not settled within `ms`; the caller cleans up. */
async function withDeadline<T>(promise: Promise<T>, ms: number, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(why()), { code: 'ETIMEDOUT' })), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bounds concurrent channels on one connection. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
