import { announcesChange, formatOutcome, type TextSink } from '../runner/plain-reporter.js';
import { formatRecap } from '../runner/recap.js';
import type { HostRecap, Reporter, TaskBeginEvent, TaskOutcome } from '../runner/reporter.js';

/**
 * What the short plan keeps of a host's results: what would change, what the unchanged tasks
 * announce (a config change and its class, a restart owed), and why a host could not be planned.
 * Everything else (checks that passed, skipped tasks) is what `-v` is for.
 */
function worthShowing(o: TaskOutcome): boolean {
  if (o.status === 'changed' || o.status === 'unreachable') return true;
  if (o.status === 'failed') return o.ignoredError !== true;
  return announcesChange(o);
}

/**
 * The text of `drover plan`: per host (in `hosts` order) its lines worth showing, each with its
 * diff, as the plain reporter prints them (`changed: [h1] agent config - write ...`, so they
 * grep the same); the hosts with nothing to show folded into one `no change:` line; and one
 * line when nothing would change anywhere. Hosts no task ran on (the run stopped first) are in
 * neither: the run's summary names them as not reached.
 */
export function formatPlan(hosts: readonly string[], outcomes: readonly TaskOutcome[]): string {
  const shown = new Map<string, TaskOutcome[]>();
  const ran = new Set<string>();
  for (const o of outcomes) {
    ran.add(o.host);
    if (!worthShowing(o)) continue;
    const list = shown.get(o.host) ?? [];
    shown.set(o.host, list);
    list.push(o);
  }
  const order = [...new Set([...hosts, ...outcomes.map((o) => o.host)])];
  const unchanged = order.filter((h) => ran.has(h) && !shown.has(h));
  if (shown.size === 0) {
    return unchanged.length === 0
      ? 'nothing to change: no task ran\n'
      : `nothing to change (${unchanged.length} ${unchanged.length === 1 ? 'host' : 'hosts'})\n`;
  }
  const blocks = order.flatMap((h) => {
    const list = shown.get(h);
    return list ? [list.map(outcomeText).join('')] : [];
  });
  if (unchanged.length > 0) blocks.push(`no change: ${unchanged.join(', ')}\n`);
  return blocks.join('\n');
}

const outcomeText = (o: TaskOutcome): string => {
  const diff = o.diff ? (o.diff.endsWith('\n') ? o.diff : `${o.diff}\n`) : '';
  return `${formatOutcome(o)}\n${diff}`;
};

export interface PlanReporterOptions {
  /**
   * A terminal's width: while the plan runs, one line that is redrawn in place says which task
   * it is at, and is erased before the plan prints. Without it (pipes, CI) nothing prints until
   * the plan is complete.
   */
  liveColumns?: number;
}

/**
 * `drover plan`'s reporter: keeps every result and prints the plan (formatPlan) and the PLAY
 * RECAP once the run is over, instead of a line or a list per task and host. `-v` gives the
 * full task list of the usual reporters instead.
 */
export class PlanReporter implements Reporter {
  readonly #out: TextSink;
  readonly #columns: number | undefined;
  readonly #outcomes: TaskOutcome[] = [];
  #task: { name: string; hosts: number; done: number } | undefined;
  /** What the live line shows now; '' when nothing is drawn. */
  #drawn = '';

  constructor(out: TextSink, options: PlanReporterOptions = {}) {
    this.#out = out;
    this.#columns =
      options.liveColumns !== undefined && options.liveColumns > 0 ? options.liveColumns : undefined;
  }

  playStart(_play: string, _hosts: readonly string[]): void {}

  taskBegin(event: TaskBeginEvent): void {
    this.#task = { name: event.task, hosts: event.hosts.length, done: 0 };
    this.#draw();
  }

  taskStart(): void {}

  taskEnd(outcome: TaskOutcome): void {
    this.#outcomes.push(outcome);
    if (this.#task && outcome.task === this.#task.name) this.#task.done++;
    this.#draw();
  }

  runEnd(recap: Readonly<Record<string, HostRecap>>): void {
    this.#erase();
    this.#out.write(`${formatPlan(Object.keys(recap), this.#outcomes)}\n${formatRecap(recap)}`);
  }

  /** Also called when the run throws: the live line must not stay under the error. */
  async flush(): Promise<void> {
    this.#erase();
  }

  #draw(): void {
    if (this.#columns === undefined || !this.#task) return;
    const t = this.#task;
    // One column short of the width: a full line would wrap, and \r would then redraw only its tail.
    const text = `planning: ${t.name} (${t.done}/${t.hosts})`.slice(0, this.#columns - 1);
    if (text === this.#drawn) return;
    this.#out.write(`\r\x1b[2K${text}`);
    this.#drawn = text;
  }

  #erase(): void {
    if (this.#drawn === '') return;
    this.#out.write('\r\x1b[2K');
    this.#drawn = '';
  }
}
