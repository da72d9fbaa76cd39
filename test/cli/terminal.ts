/**
 * A real pseudo-terminal for tests of what people see: util-linux `script` runs the command on a
 * new pty (so drover's stdout and stderr are a TTY, as in a terminal window), and a small
 * terminal model replays the bytes into the screen a person would be looking at. Ctrl-C is
 * typed into the terminal: the pty's line discipline turns it into SIGINT for the foreground
 * process group, exactly as a terminal does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

/**
 * The screen (with its scrollback) after a stream of terminal output. It knows the few controls
 * a line-redrawing program sends (log-update, listr2: cursor up, erase line, column, colours,
 * cursor visibility) and throws on anything else, so that a sequence it does not model can never
 * make it show something the terminal would not.
 */
export class Screen {
  readonly #rows: string[][] = [[]];
  #row = 0;
  #col = 0;
  cursorVisible = true;

  constructor(readonly columns: number) {}

  /** Replays `text`; an escape sequence cut off at the end is left for a later call. */
  feed(text: string): string {
    let i = 0;
    while (i < text.length) {
      const c = String.fromCodePoint(text.codePointAt(i) as number);
      if (c === '\x1b') {
        const m = /^\x1b\[([?0-9;]*)([@-~])/.exec(text.slice(i, i + 32));
        if (!m) {
          if (text.length - i < 32 && /^\x1b(\[[?0-9;]*)?$/.test(text.slice(i))) return text.slice(i);
          throw new Error(`unknown escape sequence ${JSON.stringify(text.slice(i, i + 8))}`);
        }
        this.#csi(m[1] as string, m[2] as string);
        i += m[0].length;
        continue;
      }
      if (c === '\r') this.#col = 0;
      else if (c === '\n') this.#moveTo(this.#row + 1);
      else if (c === '\b') this.#col = Math.max(0, this.#col - 1);
      else if (c === '\x07') {
        // bell
      } else if (c < ' ') throw new Error(`unknown control character ${JSON.stringify(c)}`);
      else this.#put(c);
      i += c.length;
    }
    return '';
  }

  /** The lines shown, right-trimmed, without the empty lines below the last written one. */
  lines(): string[] {
    const lines = this.#rows.map((r) =>
      Array.from(r, (c) => c ?? ' ')
        .join('')
        .trimEnd(),
    );
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  #csi(params: string, final: string): void {
    const n = Number(params || '0');
    if (final === 'm') return; // colours and weights
    if (params === '?25' && (final === 'h' || final === 'l')) {
      this.cursorVisible = final === 'h';
      return;
    }
    if (params.startsWith('?')) throw new Error(`unknown mode ${params}${final}`);
    const row = this.#rows[this.#row] as string[];
    if (final === 'A') this.#row = Math.max(0, this.#row - Math.max(1, n));
    else if (final === 'B') this.#moveTo(this.#row + Math.max(1, n));
    else if (final === 'C') this.#col += Math.max(1, n);
    else if (final === 'D') this.#col = Math.max(0, this.#col - Math.max(1, n));
    else if (final === 'G') this.#col = Math.max(1, n) - 1;
    else if (final === 'K' && n === 0) row.length = Math.min(row.length, this.#col);
    else if (final === 'K' && n === 1) row.fill(' ', 0, Math.min(row.length, this.#col + 1));
    else if (final === 'K' && n === 2) row.length = 0;
    else throw new Error(`unknown control sequence ESC[${params}${final}`);
  }

  #put(c: string): void {
    // Auto-wrap, as terminals do: a character past the last column starts the next line.
    if (this.#col >= this.columns) {
      this.#moveTo(this.#row + 1);
      this.#col = 0;
    }
    const row = this.#rows[this.#row] as string[];
    while (row.length < this.#col) row.push(' ');
    row[this.#col++] = c;
  }

  #moveTo(row: number): void {
    this.#row = row;
    while (this.#rows.length <= row) this.#rows.push([]);
  }
}

export interface TerminalResult {
  /** The exit code of the command (script -e passes it on), or null when it was killed. */
  code: number | null;
  lines: string[];
  /** Whether the program left the cursor shown, as a shell prompt needs it. */
  cursorVisible: boolean;
}

export interface Terminal {
  /** What the screen shows now (scrollback included). */
  lines(): string[];
  /** Everything the program wrote, as bytes decoded to text. */
  raw(): string;
  /** Types Ctrl-C. */
  ctrlC(): void;
  /**
   * Polls until `check` holds for the screen (or the raw output), at most `seconds`; fails with
   * the screen otherwise, and as soon as the program has ended.
   */
  waitFor(what: string, seconds: number, check: (lines: string[], raw: string) => boolean): Promise<string[]>;
  /** The command's end, bounded by the timeout given to openTerminal. */
  done: Promise<TerminalResult>;
}

const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * Runs argv on a new `columns`x`rows` pseudo-terminal. The shell exec()s the command, so it is
 * the terminal's foreground process (Ctrl-C reaches it, not a shell in between). Killed (the
 * whole pty session) after timeoutSeconds.
 */
export function openTerminal(
  argv: readonly string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; timeoutSeconds: number; columns?: number; rows?: number },
): Terminal {
  const columns = o.columns ?? 160;
  const screen = new Screen(columns);
  const decoder = new StringDecoder('utf8');
  let raw = '';
  let pending = '';
  const command = `stty cols ${columns} rows ${o.rows ?? 50} && exec ${argv.map(quote).join(' ')}`;
  const child: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: o.cwd,
    env: o.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let failure: Error | undefined;
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = decoder.write(chunk);
    raw += text;
    try {
      pending = screen.feed(pending + text);
    } catch (err) {
      failure ??= err as Error;
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutSeconds * 1000);
  const done = new Promise<TerminalResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin?.destroy();
      if (failure) reject(failure);
      else if (stderr.trim() !== '') reject(new Error(`script: ${stderr}`));
      else resolve({ code, lines: screen.lines(), cursorVisible: screen.cursorVisible });
    });
  });
  // Keep the rejection observed until a test awaits it.
  done.catch(() => undefined);
  let exited = false;
  void done.finally(() => (exited = true)).catch(() => undefined);
  return {
    lines: () => screen.lines(),
    raw: () => raw,
    ctrlC: () => void child.stdin?.write('\x03'),
    done,
    async waitFor(what, seconds, check) {
      const deadline = Date.now() + seconds * 1000;
      for (;;) {
        if (failure) throw failure;
        const lines = screen.lines();
        if (check(lines, raw)) return lines;
        if (exited || Date.now() > deadline) {
          throw new Error(
            `${exited ? 'the program ended' : `timed out after ${seconds}s`} before ${what}; the screen:\n${lines.join('\n')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** The environment of a person at a terminal: no CI, a common TERM. */
export function terminalEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...extra };
  delete env['CI'];
  delete env['DROVER_FORKS'];
  return env;
}

/** Lines `PLAY RECAP ***...` and after: the recap's host lines, then the command's summary. */
export function recapAndAfter(lines: readonly string[]): { recap: string[]; after: string[] } {
  const at = lines.findLastIndex((l) => l.startsWith('PLAY RECAP '));
  if (at < 0) return { recap: [], after: [] };
  const rest = lines.slice(at + 1);
  const hostLines = rest.findIndex((l) => !/^\S+\s+: ok=\d+/.test(l));
  const end = hostLines < 0 ? rest.length : hostLines;
  return { recap: rest.slice(0, end), after: rest.slice(end) };
}
