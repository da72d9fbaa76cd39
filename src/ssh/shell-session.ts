import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { quote, render, type Cmd } from '../shell/cmd.js';
import type { ExecResult } from './transport.js';

/**
 * One long-lived `sh` on a host that runs drover's commands one after another. On a fresh SSH
 * channel every command costs the host a fork of sshd, the login shell and `sh -c` before the
 * command's own processes; on a fleet of hosts sharing CPUs that is most of a run. In the
 * session a command costs a subshell and its own processes, nothing more.
 *
 * The session is `sh` reading its script from the channel, and drover sends it one line per
 * command: the command text, single-quoted, run by `eval` in a subshell with stdin from
 * /dev/null (the channel's stdin carries the script), then `\n<marker> <exit code>` printed on
 * stdout and `\n<marker>` on stderr. A marker is new for every command (a random prefix per
 * session and a count), so no output can fake one. The quoting means any text, even one with a
 * syntax error, parses as one word at the session's level; `eval` meets the error inside the
 * subshell, which exits with it, and the session goes on. sh parses its script from a buffer
 * filled by block reads; a loop of `read` would cost the host one system call per byte of every
 * command. A command's stdin, if any, is part of its text (see sessionText).
 *
 * sessionCommand is what the login shell runs to start a session.
 */
export const sessionCommand = (): string => 'sh';

/**
 * The line that runs one command in the session and ends its output with `marker`. Without a
 * command it only answers (exit 0), which starts no process: the readiness probe.
 */
function sessionLine(text: string | undefined, marker: string): string {
  return [
    ...(text === undefined ? [] : [`( eval ${quote(text)} ) </dev/null`]),
    `printf '\\n%s %s\\n' ${marker} "$?"`,
    `printf '\\n%s\\n' ${marker} >&2\n`,
  ].join('; ');
}

/** The channel a session talks over: an SSH exec channel, or a local child process in tests. */
export interface SessionChannel {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Ends the session; a command still running is abandoned. */
  close(): void;
}

export class SessionTimeoutError extends Error {}

/**
 * The text a command runs as in the session. `sh -c SCRIPT sh ARGS...` becomes `set -- ARGS`
 * then SCRIPT, so the script runs in the session's subshell without starting another `sh`.
 * Stdin is a here-document when it can be one: sh feeds a small one through a pipe itself,
 * with no process. That takes text ending in a newline with no line equal to the delimiter;
 * other stdin comes from printf, a builtin of every sh, through a pipe (two subshells). Either
 * way its bytes (secrets in a config among them) never appear in any process's argv.
 */
export function sessionText(cmd: Cmd, stdin?: string): string {
  let text = render(cmd, { redact: false });
  if (cmd.kind === 'exec' && cmd.argv[0] === 'sh' && cmd.argv[1] === '-c' && cmd.argv[3] === 'sh') {
    const script = cmd.argv[2];
    if (typeof script === 'string') {
      const args = { kind: 'exec', argv: cmd.argv.slice(4) } as const;
      text = `set -- ${render(args, { redact: false })}\n${script}`;
    }
  }
  if (stdin === undefined) return text;
  if (stdin.endsWith('\n') && !stdin.split('\n').includes(HEREDOC_END)) {
    return `{\n${text}\n} <<'${HEREDOC_END}'\n${stdin}${HEREDOC_END}`;
  }
  return `printf '%s' ${quote(stdin)} | {\n${text}\n}`;
}

/** Ends a here-document of stdin; a stdin with this line in it goes through printf instead. */
const HEREDOC_END = 'DROVER_STDIN_END_7f3a9c';

interface Pending {
  out: Collector;
  err: Collector;
  resolve(result: ExecResult): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class ShellSession {
  readonly #channel: SessionChannel;
  #pending: Pending | undefined;
  #closed: Error | undefined;
  readonly #markerPrefix = `drover-${randomBytes(16).toString('hex')}-`;
  #sent = 0;

  constructor(channel: SessionChannel) {
    this.#channel = channel;
    channel.stdout.on('data', (chunk: Buffer) => this.#pending?.out.add(chunk) && this.#settle());
    channel.stderr.on('data', (chunk: Buffer) => this.#pending?.err.add(chunk) && this.#settle());
    const ended = (why: string) => () => this.#fail(new Error(why));
    channel.stdout.on('close', ended('the shell session ended'));
    channel.stdout.on('error', (err: Error) => this.#fail(err));
    channel.stdin.on('error', (err: Error) => this.#fail(err));
  }

  /** False once the session ended (closed, timed out, the channel went away). */
  get alive(): boolean {
    return this.#closed === undefined;
  }

  /** True when a command can be sent now: the session is alive and not running another. */
  get idle(): boolean {
    return this.#closed === undefined && this.#pending === undefined;
  }

  /** Runs one command; rejects with SessionTimeoutError after `timeoutMs` (the session is then closed). */
  run(cmd: Cmd, stdin: string | undefined, timeoutMs: number): Promise<ExecResult> {
    return this.#send(sessionText(cmd, stdin), timeoutMs);
  }

  /**
   * True when the session answers the probe (no command, exit 0) within `timeoutMs`; anything
   * a login shell printed on start is consumed here, never taken for a command's output.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    try {
      const answer = await this.#send(undefined, timeoutMs);
      return answer.code === 0;
    } catch {
      return false;
    }
  }

  #send(text: string | undefined, timeoutMs: number): Promise<ExecResult> {
    if (!this.idle) return Promise.reject(this.#closed ?? new Error('the shell session is busy'));
    const marker = `${this.#markerPrefix}${++this.#sent}`;
    return new Promise<ExecResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new SessionTimeoutError(`no answer within ${timeoutMs / 1000}s`));
        this.#channel.close();
      }, timeoutMs);
      this.#pending = {
        out: new Collector(marker, true),
        err: new Collector(marker, false),
        resolve,
        reject,
        timer,
      };
      this.#channel.stdin.write(sessionLine(text, marker));
    });
  }

  close(): void {
    this.#fail(new Error('the shell session was closed'));
    this.#channel.close();
  }

  #settle(): void {
    const p = this.#pending;
    if (!p?.out.done || !p.err.done) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    p.resolve({ code: p.out.code, stdout: p.out.text(), stderr: p.err.text() });
  }

  #fail(err: Error): void {
    this.#closed ??= err;
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    p.reject(err);
  }
}

/** The exit code after stdout's marker: ` 0`. */
const EXIT_CODE = /^ (\d+)$/;

/**
 * Collects one stream's bytes until they end with the command's marker line: `\n<marker>\n` on
 * stderr, `\n<marker> <exit code>\n` on stdout. Only the tail is searched on each chunk, so a
 * large output is not rescanned; the text is decoded once.
 */
class Collector {
  readonly #chunks: Buffer[] = [];
  #tail = '';
  /** Length of the marker line at the end of what came so far; -1 while there is none. */
  #endLength = -1;
  /** The exit code on stdout's marker line. */
  code = NaN;

  constructor(
    readonly marker: string,
    readonly withCode: boolean,
  ) {}

  get done(): boolean {
    return this.#endLength >= 0;
  }

  /** Returns true so the caller can settle in one expression. */
  add(chunk: Buffer): true {
    this.#chunks.push(chunk);
    this.#tail = (this.#tail + chunk.toString('latin1')).slice(-160);
    this.#endLength = this.#markerLineLength();
    return true;
  }

  #markerLineLength(): number {
    const tail = this.#tail;
    if (!tail.endsWith('\n')) return -1;
    const start = tail.lastIndexOf(`\n${this.marker}`, tail.length - 2);
    if (start < 0) return -1;
    const rest = tail.slice(start + 1 + this.marker.length, -1);
    if (this.withCode) {
      const code = EXIT_CODE.exec(rest);
      if (!code) return -1;
      this.code = Number(code[1]);
    } else if (rest !== '') {
      return -1;
    }
    return tail.length - start;
  }

  /** The command's own output: everything before the marker line. */
  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(0, all.length - this.#endLength).toString('utf8');
  }
}
