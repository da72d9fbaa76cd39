import type { Writable } from 'node:stream';
import type { OpenTransport } from '../app/connection-pool.js';
import type { Output } from '../app/output.js';

/**
 * What the CLI runs against: the process in bin/drover.js, buffers and scripted transports in
 * the argv tests (test/cli/argv).
 */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Confirmations are asked only on a terminal. */
  readonly stdinIsTty: boolean;
  /** Ctrl-C: no new task starts, running ones finish. */
  readonly signal: AbortSignal;
  /** How hosts are reached; SSH when absent. */
  readonly open?: OpenTransport;
}

export const processIo = (signal: AbortSignal): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stdinIsTty: process.stdin.isTTY === true,
  signal,
});

/** With --output json, progress moves to stderr so stdout holds exactly one JSON document. */
export function createOutput(io: CliIo, json: boolean): Output {
  const progress = json ? io.stderr : io.stdout;
  const ci = Boolean(io.env['CI']) && io.env['CI'] !== 'false';
  return {
    progress,
    progressIsTty: Boolean((progress as NodeJS.WriteStream).isTTY),
    ci,
    result: io.stdout,
    warn: (line) => io.stderr.write(`${line}\n`),
  };
}
