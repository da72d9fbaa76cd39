import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import type { Writable } from 'node:stream';
import { formatOutcome } from './plain-reporter.js';
import { formatRecap } from './recap.js';
import type { HostRecap, Reporter, TaskBeginEvent, TaskOutcome } from './reporter.js';

interface Pending {
  resolve(outcome: TaskOutcome): void;
  promise: Promise<TaskOutcome>;
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
 */
export class ListrReporter implements Reporter {
  readonly #stream: Writable;
  readonly #renderer: 'default' | 'simple';
  #chain: Promise<void> = Promise.resolve();
  #pending = new Map<string, Pending>();

  constructor(options: ListrReporterOptions) {
    this.#stream = options.stream;
    this.#renderer = options.renderer ?? 'default';
  }

  playStart(play: string, hosts: readonly string[]): void {
    this.#write(`\nPLAY [${play}] (${hosts.join(', ') || 'no hosts'})\n`);
  }

  batchStart(_play: string, hosts: readonly string[], index: number, total: number): void {
    if (total > 1) this.#write(`batch ${index}/${total}: ${hosts.join(', ')}\n`);
  }

  taskBegin(event: TaskBeginEvent): void {
    this.#pending = new Map(event.hosts.map((h) => [h, deferred()]));
    const pending = this.#pending;
    const logger = new ListrLogger({
      processOutput: new ProcessOutput(
        this.#stream as NodeJS.WriteStream,
        this.#stream as NodeJS.WriteStream,
      ),
    });
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
        rendererOptions: { logger, collapseSubtasks: false, collapseErrors: false },
        fallbackRendererOptions: { logger },
      } as never,
    );
    this.#chain = this.#chain.then(() =>
      list.run().then(
        () => undefined,
        () => undefined,
      ),
    );
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
    this.#write(`\n${formatRecap(recap)}`);
  }

  flush(): Promise<void> {
    return this.#chain;
  }

  #write(text: string): void {
    this.#chain = this.#chain.then(() => {
      this.#stream.write(text);
    });
  }
}

function settle(sub: ListrTaskWrapper<unknown, never, never>, host: string, o: TaskOutcome): void {
  const tail = o.message && o.status !== 'ok' ? ` - ${o.message}` : '';
  if (o.diff) sub.output = o.diff;
  if (o.status === 'skipped') return sub.skip(`${host}: skipped`);
  sub.title = `${host}: ${o.status}${tail}${o.ignoredError ? ' ...ignoring' : ''}`;
  if (o.status === 'failed' && !o.ignoredError) throw new Error(`${host}: ${o.message ?? 'failed'}`);
  if (o.status === 'unreachable')
    throw new Error(`${host}: unreachable${o.message ? ` - ${o.message}` : ''}`);
}

function deferred(): Pending {
  let resolve!: (o: TaskOutcome) => void;
  const promise = new Promise<TaskOutcome>((r) => (resolve = r));
  return { resolve, promise };
}
