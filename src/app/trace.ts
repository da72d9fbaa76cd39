import type { Host } from '../inventory/types.js';
import { render, type Cmd } from '../shell/cmd.js';
import { redactText } from '../shell/secret.js';
import type {
  ExecOptions,
  ExecResult,
  HttpRequest,
  HttpResponse,
  StreamOptions,
  TcpExchange,
  Transport,
} from '../ssh/transport.js';
import type { OpenTransport } from './connection-pool.js';

/**
 * What `-v`, `-vv` and `-vvv` show besides the task lines, as Ansible's verbosity does, for
 * everything a run sends to its hosts (tasks, facts, the lock, the audit log):
 *   -v    each command's output lines (`h1 | ...`, stderr `h1 ! ...`) and its exit code
 *   -vv   also each command before it runs (`h1 $ ...`) and each HTTP request with its status
 *   -vvv  also the SSH connections: opened (to whom, how long it took), failed, closed
 * Commands are shown as people may see them (secrets `<redacted>`), and every line is scrubbed
 * of the inventory's secrets as a second line of defence. Request bodies and answers are never
 * shown: they carry tokens and keys.
 */
export interface Trace {
  level: number;
  write: (line: string) => void;
  secrets: () => readonly string[];
}

/** `open`, with every transport it opens traced at `trace.level` (the opening itself at -vvv). */
export function tracingOpen(open: OpenTransport, trace: Trace): OpenTransport {
  return async (host: Host) => {
    const say = (line: string) => trace.write(redactText(`${host.name} ${line}`, trace.secrets()));
    const started = Date.now();
    if (trace.level >= 3) say(`ssh: connecting to ${host.address}`);
    try {
      const t = await open(host);
      if (trace.level >= 3) say(`ssh: connected in ${Date.now() - started} ms`);
      return new TracedTransport(t, trace.level, say);
    } catch (err) {
      if (trace.level >= 3) say(`ssh: not connected: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  };
}

class TracedTransport implements Transport {
  readonly host: string;
  readonly tcpExchange?: (request: TcpExchange) => Promise<Buffer>;
  readonly stream?: (cmd: Cmd, options: StreamOptions) => Promise<{ code: number | null }>;

  constructor(
    private readonly inner: Transport,
    private readonly level: number,
    private readonly say: (line: string) => void,
  ) {
    this.host = inner.host;
    const tcp = inner.tcpExchange?.bind(inner);
    if (tcp)
      this.tcpExchange = async (request) => {
        if (this.level >= 2) this.say(`tcp ${request.host}:${request.port}`);
        return tcp(request);
      };
    const stream = inner.stream?.bind(inner);
    if (stream)
      this.stream = (cmd, options) => {
        if (this.level >= 2) this.say(`$ ${render(cmd, { redact: true })} (streamed)`);
        return stream(cmd, options);
      };
  }

  async exec(cmd: Cmd, options?: ExecOptions): Promise<ExecResult> {
    if (this.level >= 2) this.say(`$ ${render(cmd, { redact: true })}`);
    const started = Date.now();
    const r = await this.inner.exec(cmd, options);
    for (const [text, mark] of [
      [r.stdout, '|'],
      [r.stderr, '!'],
    ] as const)
      for (const line of text.replace(/\n$/, '').split('\n')) if (line !== '') this.say(`${mark} ${line}`);
    this.say(`rc=${r.code ?? 'none'} (${Date.now() - started} ms)`);
    return r;
  }

  async http(request: HttpRequest): Promise<HttpResponse> {
    const what = `${request.method ?? 'GET'} ${request.tls ? 'https' : 'http'}://${request.host}:${request.port}${request.path}`;
    const started = Date.now();
    try {
      const res = await this.inner.http(request);
      if (this.level >= 2) this.say(`${what} -> ${res.status} (${Date.now() - started} ms)`);
      return res;
    } catch (err) {
      if (this.level >= 2)
        this.say(`${what} -> no answer: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.inner.close();
    if (this.level >= 3) this.say('ssh: closed');
  }
}
