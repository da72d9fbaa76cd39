import { render, secretsOf, type Cmd } from '../shell/cmd.js';
import { isSecret, redactText, type Secret } from '../shell/secret.js';
import {
  secretsOfStdin,
  type ExecOptions,
  type ExecResult,
  type HttpRequest,
  type HttpResponse,
  type Transport,
} from './transport.js';

/**
 * A Transport for unit tests, after Kamal's printer backend: it records every command as it
 * would be shown to people (redacted) and answers from a script. An unscripted command fails
 * loudly, so tests cannot silently drift from what the code really runs.
 */
export type ExecReply = Partial<ExecResult> | ((command: string, stdin?: string) => Partial<ExecResult>);
export type HttpReply = Partial<HttpResponse> | ((request: HttpRequest) => Partial<HttpResponse>);

export interface RecordedCall {
  /** The command as rendered for people (secrets redacted). */
  command: string;
  /** Its stdin as text; `<redacted>` for a Secret stdin, as `command` shows its secret words. */
  stdin?: string;
  /**
   * A Secret stdin as it was given, so a test can check what went out (`reveal()`) while any
   * rendering of the record (JSON, inspect, an assertion's message) shows `<redacted>`.
   */
  secretStdin?: Secret;
}

export class RecordingTransport implements Transport {
  readonly calls: RecordedCall[] = [];
  /**
   * Every HTTP request as sent. An ACL token stays the Secret it was given, so a test can check
   * which token went out (`reveal()`) while any rendering of the record (JSON, inspect, an
   * assertion's message) shows `<redacted>`.
   */
  readonly httpCalls: HttpRequest[] = [];
  readonly #exec: [RegExp | string, ExecReply][] = [];
  readonly #http: [RegExp | string, HttpReply][] = [];
  #closed = false;

  constructor(readonly host: string) {}

  /** Scripts a reply for commands equal to `match` (string) or matching it (RegExp); first match wins. */
  onExec(match: RegExp | string, reply: ExecReply = {}): this {
    this.#exec.push([match, reply]);
    return this;
  }

  /** Scripts a reply for `METHOD host:port/path` equal to or matching `match`. */
  onHttp(match: RegExp | string, reply: HttpReply): this {
    this.#http.push([match, reply]);
    return this;
  }

  get commands(): string[] {
    return this.calls.map((c) => c.command);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async exec(cmd: Cmd, options: ExecOptions = {}): Promise<ExecResult> {
    const command = render(cmd, { redact: true });
    // String() of a Secret is `<redacted>`: a reply and the record see what people may see.
    const stdin = options.stdin === undefined ? undefined : String(options.stdin);
    this.calls.push({
      command,
      ...(stdin !== undefined && { stdin }),
      ...(isSecret(options.stdin) && { secretStdin: options.stdin }),
    });
    const reply = this.#exec.find(([m]) => matches(m, command))?.[1];
    if (reply === undefined) throw new Error(`${this.host}: unscripted command: ${command}`);
    const r = typeof reply === 'function' ? reply(command, stdin) : reply;
    const secrets = [...secretsOf(cmd), ...secretsOfStdin(options.stdin)];
    return {
      code: r.code === undefined ? 0 : r.code,
      stdout: redactText(r.stdout ?? '', secrets),
      stderr: redactText(r.stderr ?? '', secrets),
    };
  }

  async http(request: HttpRequest): Promise<HttpResponse> {
    this.httpCalls.push(request);
    const key = `${request.method ?? 'GET'} ${request.host}:${request.port}${request.path}`;
    const reply = this.#http.find(([m]) => matches(m, key))?.[1];
    if (reply === undefined) throw new Error(`${this.host}: unscripted http request: ${key}`);
    const r = typeof reply === 'function' ? reply(request) : reply;
    return {
      status: r.status ?? 200,
      headers: r.headers ?? {},
      body: r.body ?? r.bytes?.toString('utf8') ?? '',
      ...(r.bytes && { bytes: r.bytes }),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

const matches = (m: RegExp | string, text: string): boolean =>
  typeof m === 'string' ? m === text : m.test(text);
