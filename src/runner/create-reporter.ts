import type { Writable } from 'node:stream';
import { PlainReporter } from './plain-reporter.js';
import type { Reporter } from './reporter.js';

/**
 * Picks the live listr2 list for people at a terminal and plain lines everywhere else: CI logs
 * (CI=true) and pipes cannot redraw, and plain lines grep well. listr2 is loaded only when it
 * is used: CI runs do not pay for its start-up.
 */
export async function createReporter(options: {
  tty: boolean;
  ci: boolean;
  stream: Writable;
}): Promise<Reporter> {
  if (options.tty && !options.ci) {
    const { ListrReporter } = await import('./listr-reporter.js');
    return new ListrReporter({ stream: options.stream });
  }
  return new PlainReporter(options.stream);
}
