import type { Writable } from 'node:stream';
import { PlainReporter, QuietReporter } from './plain-reporter.js';
import type { Reporter } from './reporter.js';

/**
 * Picks the live listr2 list for people at a terminal and plain lines everywhere else: CI logs
 * (CI=true) and pipes cannot redraw, and plain lines grep well. A terminal that reports no width
 * (`script` run without a terminal of its own gives 0 columns) cannot lay out a live list either:
 * listr2 would wrap every line at 0 columns, one character per line. listr2 is loaded only when
 * it is used: CI runs do not pay for its start-up.
 *
 * `view: 'quiet'` (-q) prints the recap, and the lines of tasks that failed, only.
 * `view: 'plan'` (`drover plan` without -v) prints no task list at all but one short block at
 * the end: what would change, per host (src/report/plan-text.ts).
 */
export async function createReporter(options: {
  tty: boolean;
  ci: boolean;
  stream: Writable;
  view?: 'tasks' | 'plan' | 'quiet';
}): Promise<Reporter> {
  if (options.view === 'quiet') return new QuietReporter(options.stream);
  const columns = (options.stream as Partial<NodeJS.WriteStream>).columns ?? 0;
  const live = options.tty && !options.ci && columns > 0;
  if (options.view === 'plan') {
    const { PlanReporter } = await import('../report/plan-text.js');
    return new PlanReporter(options.stream, live ? { liveColumns: columns } : {});
  }
  if (live) {
    const { ListrReporter } = await import('./listr-reporter.js');
    return new ListrReporter({ stream: options.stream });
  }
  return new PlainReporter(options.stream);
}
