import type { Writable } from 'node:stream';

/**
 * Where a command writes. Progress and recaps go to stdout for people; with --output json they
 * move to stderr so stdout holds exactly one JSON document for machines.
 */
export interface Output {
  /** Progress lines, task results, recaps. */
  readonly progress: Writable;
  readonly progressIsTty: boolean;
  /** CI=true (or any non-empty CI): plain lines, no spinners. */
  readonly ci: boolean;
  /** The command's result for machines (JSON), or its report for people. */
  readonly result: Writable;
  warn(line: string): void;
}

export function createOutput(json: boolean): Output {
  const progress = json ? process.stderr : process.stdout;
  const ci = Boolean(process.env['CI']) && process.env['CI'] !== 'false';
  return {
    progress,
    progressIsTty: Boolean((progress as NodeJS.WriteStream).isTTY),
    ci,
    result: process.stdout,
    warn: (line) => process.stderr.write(`${line}\n`),
  };
}
