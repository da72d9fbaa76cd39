import type { Cmd } from '../shell/cmd.js';
import type { Secret } from '../shell/secret.js';

export interface ExecResult {
  /** Exit status; null when the remote process died from a signal or the channel broke. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Seconds before the remote command is abandoned; every remote call is bounded. */
  timeoutSeconds?: number;
  /** Bytes fed to the command's stdin (e.g. file content for an atomic write). */
  stdin?: string | Buffer;
}

export interface HttpRequest {
  method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Address as seen from the target host (e.g. 127.0.0.1 or its bind_addr). */
  host: string;
  port: number;
  path: string;
  body?: string;
  timeoutSeconds?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
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
