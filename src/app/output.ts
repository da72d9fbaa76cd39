import type { Writable } from 'node:stream';

/**
 * Where an operation writes. Progress and recaps go to people; with --output json the CLI sends
 * them to stderr so that `result` (stdout) holds exactly one JSON document for machines.
 */
export interface Output {
  /** Progress lines, task results, recaps. */
  readonly progress: Writable;
  readonly progressIsTty: boolean;
  /** CI=true (or any non-empty CI): plain lines, no spinners. */
  readonly ci: boolean;
  /** The operation's result for machines (JSON), or its report for people. */
  readonly result: Writable;
  warn(line: string): void;
}
