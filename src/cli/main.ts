#!/usr/bin/env node
/**
 * drover's executable: runs the command line (run-cli.ts) against this process and sets
 * process.exitCode from it. Ctrl-C is the one thing handled here.
 */
import { ExitCode, InterruptedError } from '../errors.js';
import { processIo } from './io.js';
import { runCli } from './run-cli.js';

const interrupt = new AbortController();

/** First Ctrl-C: no new task starts, running ones finish, the recap prints. Second: stop now. */
function onSignal(): void {
  if (interrupt.signal.aborted) {
    process.stderr.write('\ninterrupted again: stopping now\n');
    process.exit(ExitCode.interrupted);
  }
  process.stderr.write('\ninterrupted: finishing running tasks (Ctrl-C again to stop at once)\n');
  interrupt.abort(new InterruptedError('interrupted'));
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// No top-level await: the bundle is CommonJS (scripts/bundle.mjs).
void runCli(process.argv, processIo(interrupt.signal)).then((code) => {
  process.exitCode = code;
});
