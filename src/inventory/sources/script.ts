import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { throwIfInterrupted } from '../../config/interrupt.js';
import { YAML_LIMITS } from '../../config/yaml-file.js';
import { ConfigError } from '../../errors.js';

/**
 * Ansible's inventory scripts: an executable that prints the inventory as JSON when run with
 * `--list`. drover runs it itself, with no shell, stdin closed, a bounded time and output, and
 * turns every way it can fail into bad input naming the script.
 */

/** How long a script may take: long enough for a cloud API, short enough that a hung one is noticed. */
export const SCRIPT_TIMEOUT_MS = 30_000;

/**
 * Whether `file` is an inventory script: executable, and something the system can run: a
 * script (`#!`) or a program (ELF, Mach-O). An executable file that is neither is read as YAML:
 * a mount that sets the exec bit on every file must not turn an inventory into a "script". A
 * file that starts with `#!` but is not executable is refused: it is a script whose exec bit was
 * lost, and reading it as YAML would only report a confusing parse error. Anything unreadable is
 * left to the YAML reader, which names why.
 */
export async function isInventoryScript(file: string): Promise<boolean> {
  let mode: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) return false;
    mode = st.mode;
  } catch {
    return false;
  }
  const head = await firstBytes(file, 4);
  const shebang = head.subarray(0, 2).toString('latin1') === '#!';
  if ((mode & 0o111) !== 0) return shebang || PROGRAM_MAGIC.some((m) => head.equals(m));
  if (shebang) {
    throw new ConfigError([
      {
        file,
        message:
          'starts with "#!" as an inventory script does, but is not executable (chmod +x it to run it)',
      },
    ]);
  }
  return false;
}

/** ELF, and Mach-O in both byte orders and as a universal binary. */
const PROGRAM_MAGIC: readonly Buffer[] = [
  '7f454c46',
  'feedface',
  'feedfacf',
  'cefaedfe',
  'cffaedfe',
  'cafebabe',
].map((hex) => Buffer.from(hex, 'hex'));

async function firstBytes(file: string, n: number): Promise<Buffer> {
  try {
    const handle = await open(file, 'r');
    try {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await handle.read(buf, 0, n, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return Buffer.alloc(0);
  }
}

/** The last lines of what the script said on stderr, for the message of its failure. */
function stderrTail(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-5)
    .map((l) => (l.length > 300 ? `${l.slice(0, 300)}...` : l));
  return lines.length > 0 ? `; its stderr ends: ${lines.join(' | ')}` : '';
}

/**
 * Runs `file --list` and returns what it printed. In its own process group, so that a timeout
 * or Ctrl-C ends whatever it started too (a shell script's children would otherwise keep its
 * output open, and the wait, going).
 */
export function runInventoryScript(
  file: string,
  o: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  throwIfInterrupted(o.signal);
  const timeoutMs = o.timeoutMs ?? SCRIPT_TIMEOUT_MS;
  return new Promise<string>((done, reject) => {
    // Absolute: a bare name (`-i inv.py`) is the file here, not a program on PATH.
    const child = spawn(resolve(file), ['--list'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
      detached: true,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let settled = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const finish = (error: unknown, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) {
        killGroup();
        child.stdout.destroy();
        child.stderr.destroy();
        reject(error);
      } else done(text as string);
    };
    const fail = (message: string, cause?: unknown) =>
      finish(new ConfigError([{ file, message }], cause === undefined ? undefined : { cause }));
    const onAbort = () => {
      try {
        throwIfInterrupted(o.signal);
      } catch (e) {
        finish(e);
      }
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => fail(`inventory script: --list did not finish within ${timeoutMs / 1000} s${stderrTail(err)}`),
      timeoutMs,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > YAML_LIMITS.maxBytes) {
        fail(`inventory script: --list printed more than ${YAML_LIMITS.maxBytes / (1024 * 1024)} MB`);
        return;
      }
      out.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      // Only its end is ever shown.
      err = (err + chunk).slice(-8192);
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      fail(`inventory script: cannot run it (${e.code ?? e.message})`, e),
    );
    child.on('close', (code, signal) => {
      if (code === 0) finish(undefined, Buffer.concat(out).toString('utf8'));
      else if (signal) fail(`inventory script: --list was killed by ${signal}${stderrTail(err)}`);
      else fail(`inventory script: --list exited with status ${code ?? 'unknown'}${stderrTail(err)}`);
    });
  });
}
