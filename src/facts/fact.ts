import { TaskFailedError } from '../errors.js';
import { checkedStep, mapStep, type Step } from '../remote/step.js';
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
  return parseFact(transport.host, fact, await transport.exec(fact.command, options));
}

/** A fact as a module asks for it: a reading step, whatever mode the run is in. */
export function factStep<T>(fact: Fact<T>, options?: ExecOptions): Step<T> {
  return {
    kind: 'exec',
    effect: 'read',
    cmd: fact.command,
    ...(options && { options }),
    read: (result, site) => parseFact(site.host, fact, result),
  };
}

function parseFact<T>(host: string, fact: Fact<T>, result: ExecResult): T {
  try {
    return fact.parse(result);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new TaskFailedError(
      `${host}: could not read facts with \`${render(fact.command, { redact: true })}\`: ${why}`,
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
 * The one-round-trip write (ensureDir, writeFileIfChanged): a write step that must succeed and
 * prints the state it found before it changed anything, which `parse` reads; a parse failure
 * becomes a task failure that names the host.
 */
export function reportingWrite<T>(cmd: Cmd, parse: (stdout: string) => T, options?: ExecOptions): Step<T> {
  return mapStep(checkedStep('write', cmd, options), (result, site) => {
    try {
      return parse(result.stdout);
    } catch (err) {
      if (!(err instanceof FactParseError)) throw err;
      throw new TaskFailedError(`${site.host}: ${err.message}`, { cause: err });
    }
  });
}
