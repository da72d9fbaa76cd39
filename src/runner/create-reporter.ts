import type { Writable } from 'node:stream';
import { ListrReporter } from './listr-reporter.js';
import { PlainReporter } from './plain-reporter.js';
import type { Reporter } from './reporter.js';

/**
 * Picks the live listr2 list for people at a terminal and plain lines everywhere else: CI logs
 * (CI=true) and pipes cannot redraw, and plain lines grep well.
 */
export function createReporter(options: { tty: boolean; ci: boolean; stream: Writable }): Reporter {
  if (options.tty && !options.ci) return new ListrReporter({ stream: options.stream });
  return new PlainReporter(options.stream);
}
