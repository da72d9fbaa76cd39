import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import type { Writable } from 'node:stream';
import { announcesChange, formatOutcome } from './plain-reporter.js';
import { formatRecap } from './recap.js';
import type { HostRecap, Reporter, TaskBeginEvent, TaskOutcome } from './reporter.js';

interface Pending {
  /** The host's result; undefined when the host will not run (the run stopped first). */
  resolve(outcome: TaskOutcome | undefined): void;
  promise: Promise<TaskOutcome | undefined>;
  /** The host's listr subtask once it runs, for retry notes. */
  wrapper?: { output: string };
}

export interface ListrReporterOptions {
  stream: Writable;
  /** 'default' draws spinners (TTY); 'simple' prints lines (used by tests). */
  renderer?: 'default' | 'simple';
}

/**
 * A live task list for terminals: one listr2 list per task, with one subtask per host that
 * settles when the runner reports that host's result. listr2 only renders what the Reporter
 * events say; it never drives the run. Lists are drawn one after another (a promise chain), so
 * play headers and the recap never tear through a list that is still drawing.
 *
 * While a list draws, listr2 owns the terminal: it swaps `write` of process.stdout and
 * process.stderr for a buffer and prints what was buffered when the list ends. Three rules keep
 * that from eating the run's output:
 * - one ProcessOutput for the whole run, made before any list draws: listr2 "restores" the
 *   `write` it saw when the ProcessOutput was made, so one made while a list was drawing
 *   restored that list's buffer and every later line (recap, summary, errors) went into it;
 * - a list always ends: hosts the runner never reported (it stopped first) are closed as not
 *   run at the next event, and flush() closes the last one, so nothing waits on a list forever;
 * - at process exit (a second Ctrl-C exits at once) the streams are given back.
 */
export class ListrReporter implements Reporter {
  readonly #stream: Writable;
  readonly #renderer: 'default' | 'simple';
  readonly #output: ProcessOutput;
  readonly #logger: ListrLogger;
  #chain: Promise<void> = Promise.resolve();
  #pending = new Map<string, Pending>();

  constructor(options: ListrReporterOptions) {
    this.#stream = options.stream;
    this.#renderer = options.renderer ?? 'default';
    // Stray stderr lines (warnings, the Ctrl-C notice) are held while a list draws and printed
    // under it when it ends, instead of tearing through the redrawn lines.
    this.#output = new ProcessOutput(this.#stream as NodeJS.WriteStream, process.stderr);
    this.#logger = new ListrLogger({ processOutput: this.#output });
  }

  playStart(play: string, hosts: readonly string[]): void {
    this.#closeList();
    this.#write(`\nPLAY [${play}] (${hosts.join(', ') || 'no hosts'})\n`);
  }

  batchStart(_play: string, hosts: readonly string[], index: number, total: number): void {
    this.#closeList();
    if (total > 1) this.#write(`batch ${index}/${total}: ${hosts.join(', ')}\n`);
  }

  taskBegin(event: TaskBeginEvent): void {
    this.#closeList();
    this.#pending = new Map(event.hosts.map((h) => [h, deferred()]));
    const pending = this.#pending;
    const list = new Listr(
      [
        {
          title: event.handler ? `handler: ${event.task}` : event.task,
          task: (_ctx, task) =>
            task.newListr(
              event.hosts.map((host) => ({
                title: host,
                task: async (_c: unknown, sub: ListrTaskWrapper<unknown, never, never>) => {
                  const p = pending.get(host) as Pending;
                  p.wrapper = sub;
                  settle(sub, host, await p.promise);
                },
                rendererOptions: { persistentOutput: true },
              })),
              { concurrent: true, exitOnError: false },
            ),
        },
      ],
      {
        renderer: this.#renderer,
        fallbackRenderer: 'simple',
        exitOnError: false,
        registerSignalListeners: false,
        rendererOptions: { logger: this.#logger, collapseSubtasks: false, collapseErrors: false },
        fallbackRendererOptions: { logger: this.#logger },
      } as never,
    );
    this.#chain = this.#chain.then(() => this.#draw(list));
  }

  taskStart(): void {}

  taskEnd(outcome: TaskOutcome): void {
    const p = this.#pending.get(outcome.host);
    if (p) p.resolve(outcome);
    else this.#write(`${formatOutcome(outcome)}\n`);
  }

  note(message: string, host?: string): void {
    const wrapper = host ? this.#pending.get(host)?.wrapper : undefined;
    if (wrapper) wrapper.output = message;
    else this.#write(`${host ? `[${host}] ` : ''}${message}\n`);
  }

  runEnd(recap: Readonly<Record<string, HostRecap>>): void {
    this.#closeList();
    this.#write(`\n${formatRecap(recap)}`);
  }

  /** The run is over (or failed): ends the last list and resolves once everything is written. */
  flush(): Promise<void> {
    this.#closeList();
    return this.#chain;
  }

  /** Runs one list to its end; the streams go back to their owners even if the process exits meanwhile. */
  async #draw(list: Listr<unknown>): Promise<void> {
    const giveBack = () => this.#output.release();
    process.once('exit', giveBack);
    try {
      await list.run();
    } catch {
      // exitOnError is off: a failed host is drawn as failed, never thrown.
    } finally {
      process.off('exit', giveBack);
    }
  }

  /** Lines of our own, between lists: only then are the streams ours again. */
  #write(text: string): void {
    this.#chain = this.#chain.then(() => {
      this.#stream.write(text);
    });
  }

  /**
   * The runner reports every host it starts, and starts no host once it is stopping; so once it
   * moves on (next task, batch, play, the end), hosts that have not reported never will, and the
   * list can end. Notes do not close it: a retry note may come before its host's line is drawn.
   */
  #closeList(): void {
    for (const p of this.#pending.values()) p.resolve(undefined);
    this.#pending = new Map();
  }
}

function settle(
  sub: ListrTaskWrapper<unknown, never, never>,
  host: string,
  o: TaskOutcome | undefined,
): void {
  if (!o) return sub.skip(`${host}: not run`);
  const tail = o.message && (o.status !== 'ok' || announcesChange(o)) ? ` - ${o.message}` : '';
  if (o.diff) sub.output = o.diff;
  if (o.status === 'skipped') return sub.skip(`${host}: skipped`);
  sub.title = `${host}: ${o.status}${tail}${o.rescued ? ' ...rescued' : o.ignoredError ? ' ...ignoring' : ''}`;
  if (o.status === 'failed' && !o.ignoredError) throw new Error(`${host}: ${o.message ?? 'failed'}`);
  if (o.status === 'unreachable')
    throw new Error(`${host}: unreachable${o.message ? ` - ${o.message}` : ''}`);
}

function deferred(): Pending {
  let resolve!: (o: TaskOutcome | undefined) => void;
  const promise = new Promise<TaskOutcome | undefined>((r) => (resolve = r));
  return { resolve, promise };
}
