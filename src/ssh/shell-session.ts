import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { exec, quote, render, type Cmd } from '../shell/cmd.js';
import type { ExecResult } from './transport.js';

/**
 * One long-lived `sh` on a host that runs drover's commands one after another. On a fresh SSH
 * channel every command costs the host a fork of sshd, the login shell and `sh -c` before the
 * command's own processes; on a fleet of hosts sharing CPUs that is most of a run. In the
 * session a command costs a subshell and its own processes, nothing more.
 *
 * The protocol is plain text on the channel. drover sends a random marker line, the command
 * text, and the marker again; the loop runs the text in a subshell with stdin from /dev/null
 * (the channel's stdin carries the protocol), then prints `\n<marker> <exit code>` on stdout
 * and `\n<marker>` on stderr. A marker is new for every command, so no output can fake one.
 * A command's stdin, if any, is part of its text (see sessionText).
 */
const SESSION_LOOP = [
  'while IFS= read -r m; do',
  '  s=',
  '  while IFS= read -r l; do',
  '    [ "$l" = "$m" ] && break',
  '    s="$s$l',
  '"',
  '  done',
  '  ( eval "$s" ) </dev/null',
  '  rc=$?',
  `  printf '\\n%s %s\\n' "$m" "$rc"`,
  `  printf '\\n%s\\n' "$m" >&2`,
  'done',
].join('\n');

/** What the login shell runs to start a session. */
export const sessionCommand = (): string => `sh -c ${quote(SESSION_LOOP)}`;

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
 * Stdin comes from printf, a builtin of every sh, so its bytes (secrets in a config among them)
 * never appear in any process's argv.
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
  return stdin === undefined ? text : `printf '%s' ${quote(stdin)} | {\n${text}\n}`;
}

interface Pending {
  marker: string;
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
    if (!this.idle) return Promise.reject(this.#closed ?? new Error('the shell session is busy'));
    const marker = `drover-${randomBytes(16).toString('hex')}`;
    return new Promise<ExecResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new SessionTimeoutError(`no answer within ${timeoutMs / 1000}s`));
        this.#channel.close();
      }, timeoutMs);
      this.#pending = {
        marker,
        out: new Collector(new RegExp(`\\n${marker} (\\d+)\\n$`)),
        err: new Collector(new RegExp(`\\n${marker}\\n$`)),
        resolve,
        reject,
        timer,
      };
      this.#channel.stdin.write(`${marker}\n${sessionText(cmd, stdin)}\n${marker}\n`);
    });
  }

  /**
   * True when the session answers an empty command with exit 0 within `timeoutMs`; anything a
   * login shell printed on start is consumed here, never taken for a command's output.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    try {
      const answer = await this.run(exec(':'), undefined, timeoutMs);
      return answer.code === 0;
    } catch {
      return false;
    }
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
    p.resolve({ code: Number(p.out.match?.[1]), stdout: p.out.text(), stderr: p.err.text() });
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

/**
 * Collects one stream's bytes until they end with the command's marker line. Only the tail is
 * matched on each chunk, so a large output is not rescanned; the text is decoded once.
 */
class Collector {
  readonly #chunks: Buffer[] = [];
  #tail = '';
  match: RegExpExecArray | null = null;

  constructor(readonly end: RegExp) {}

  get done(): boolean {
    return this.match !== null;
  }

  /** Returns true so the caller can settle in one expression. */
  add(chunk: Buffer): true {
    this.#chunks.push(chunk);
    this.#tail = (this.#tail + chunk.toString('latin1')).slice(-160);
    this.match = this.end.exec(this.#tail);
    return true;
  }

  /** The command's own output: everything before the marker line. */
  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(0, all.length - (this.match?.[0].length ?? 0)).toString('utf8');
  }
}
