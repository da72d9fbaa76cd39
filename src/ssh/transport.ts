import type { Cmd } from '../shell/cmd.js';
import { isSecret, type Secret } from '../shell/secret.js';

export interface ExecResult {
  /** Exit status; null when the remote process died from a signal or the channel broke. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Seconds before the remote command is abandoned; every remote call is bounded. */
  timeoutSeconds?: number;
  /**
   * Bytes fed to the command's stdin (e.g. file content for an atomic write). A Secret (an ACL
   * token line) is revealed on the wire only: the step that carries it can be logged, recorded or
   * put in an error and still show none, and its lines are scrubbed from the command's output.
   */
  stdin?: string | Buffer | Secret;
}

/** What a transport scrubs from a command's output for its stdin: each line of a Secret one. */
export function secretsOfStdin(stdin: ExecOptions['stdin']): string[] {
  return isSecret(stdin)
    ? stdin
        .reveal()
        .split('\n')
        .filter((line) => line !== '')
    : [];
}

export interface HttpRequest {
  method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Address as seen from the target host (e.g. 127.0.0.1 or its bind_addr). */
  host: string;
  port: number;
  path: string;
  /** JSON text. */
  body?: string;
  /** Bytes instead (a snapshot being restored), sent as application/octet-stream. */
  bytes?: Buffer;
  timeoutSeconds?: number;
  /** HTTPS: TLS over the forwarded channel, the server checked against this CA and name. */
  tls?: HttpTls;
  /**
   * A Consul ACL token, sent as `X-Consul-Token` (never `?token=`, which lands in access logs).
   * A Secret, so the request can be logged, recorded or put in an error and still show none.
   */
  token?: Secret;
}

/** What an HTTPS request trusts: the cluster's CA, and the name the agent's certificate must carry. */
export interface HttpTls {
  /** PEM of the CA certificate(s). */
  ca: string;
  /** SNI and the name checked: `server.<dc>.<domain>`, or `localhost` for the agent on the host itself. */
  servername: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body as received, for binary answers (a snapshot); transports that read it set it. */
  bytes?: Buffer;
}

/**
 * One request/response exchange over a TCP connection opened from the target host (SSH
 * direct-tcpip), for protocols other than HTTP, e.g. DNS over TCP to Consul's port 8600.
 */
export interface TcpExchange {
  /** Address as seen from the target host. */
  host: string;
  port: number;
  /** Bytes written once the connection is open. */
  send: Buffer;
  /** True once the bytes received so far form a whole answer; the connection is then closed. */
  complete: (received: Buffer) => boolean;
  timeoutSeconds?: number;
  /** Upper bound on the answer's size (default 1 MiB). */
  maxBytes?: number;
}

/** A command whose output is wanted line by line while it runs (`docker logs -f`). */
export interface StreamOptions {
  /** Each whole line, redacted, without its newline. */
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Stops the command (see exec-stream.ts); the call then resolves. */
  signal?: AbortSignal;
}

/**
 * How drover talks to one host. The node-ssh transport keeps one connection per host for the
 * whole run and opens a channel per call; the recording transport replays scripted answers in
 * unit tests. exec() never throws on a non-zero exit: callers read `code`.
 */
export interface Transport {
  readonly host: string;
  exec(cmd: Cmd, options?: ExecOptions): Promise<ExecResult>;
  /** HTTP through the SSH connection (direct-tcpip), so the Consul API needs no curl on the host. */
  http(request: HttpRequest): Promise<HttpResponse>;
  /** A raw TCP exchange through the SSH connection; optional (test transports may lack it). */
  tcpExchange?(request: TcpExchange): Promise<Buffer>;
  /** Runs `cmd` until it ends or is stopped, its output line by line; optional like tcpExchange. */
  stream?(cmd: Cmd, options: StreamOptions): Promise<{ code: number | null }>;
  close(): Promise<void>;
}

/** Connection settings for one host, resolved from inventory vars. */
export interface ConnectionSpec {
  host: string;
  address: string;
  port: number;
  user: string;
  privateKeyPath?: string;
  /** Use the ssh-agent at SSH_AUTH_SOCK when no key file is given. */
  agent?: string;
  knownHostsPath: string;
  /** Trust-on-first-use: accept and record unknown host keys (never changed ones). */
  acceptNewHostKeys: boolean;
  connectTimeoutSeconds: number;
  become: boolean;
  becomePassword?: Secret;
}
