import { TaskFailedError } from '../errors.js';
import { render, type Cmd } from '../shell/cmd.js';
import type { ExecOptions, ExecResult, Transport } from '../ssh/transport.js';

/**
 * A fact is a read-only question to a host (after pyinfra): the command that asks it and a pure
 * parser of the answer. Parsers are tested on recorded output; gathering is one exec.
 */
export interface Fact<T> {
  readonly command: Cmd;
  parse(result: ExecResult): T;
}

/** Thrown by parsers when the host's answer makes no sense; gather() adds host and command. */
export class FactParseError extends Error {}

/** Runs a fact's command and parses the answer; a parse failure names the host and command. */
export async function gather<T>(transport: Transport, fact: Fact<T>, options?: ExecOptions): Promise<T> {
  const result = await transport.exec(fact.command, options);
  try {
    return fact.parse(result);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new TaskFailedError(
      `${transport.host}: could not read facts with \`${render(fact.command, { redact: true })}\`: ${why}`,
      { cause: err },
    );
  }
}

/** The last lines of stderr (or stdout) for a parser's error message. */
export function outputTail(result: ExecResult): string {
  const text = (result.stderr || result.stdout).trim();
  const tail = text.split('\n').slice(-3).join(' / ');
  return `exit ${result.code ?? 'signal'}${tail ? `: ${tail}` : ''}`;
}

/**
 * Parses the state a changing command printed before it changed anything (ensureDir,
 * writeFileIfChanged): a parse failure becomes a task failure that names the host.
 */
export function parseReported<T>(host: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof FactParseError)) throw err;
    throw new TaskFailedError(`${host}: ${err.message}`, { cause: err });
  }
}
