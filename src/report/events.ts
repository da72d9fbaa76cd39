import { closeSync, openSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { redactText } from '../shell/secret.js';
import type { HostRecap, Reporter, TaskOutcome, TaskStatus } from '../runner/reporter.js';
import { countOutcomes, taskKey } from './collector.js';
import { concludeRun, type ConcludeOptions, type RunOutcomeStatus } from './conclusion.js';

/**
 * `--events FILE`: one JSON object per line (NDJSON), written the moment it happens, so a CI
 * step can `tail -f` it or read what a killed run got through. Shapes: schemas/events.schema.json.
 */
interface Base {
  /** 1, 2, 3... in write order. */
  seq: number;
  /** ISO 8601, UTC. */
  time: string;
}

export type DroverEvent =
  | (Base & { event: 'run_start'; command: string; drover_version: string; check_mode: boolean; pid: number })
  | (Base & { event: 'play_start'; play: string; hosts: string[] })
  | (Base & { event: 'batch_start'; play: string; hosts: string[]; index: number; total: number })
  | (Base & { event: 'task_start'; play: string; task: string; host: string; handler: boolean })
  | (Base & {
      event: 'task_end';
      play: string;
      task: string;
      host: string;
      handler: boolean;
      status: TaskStatus;
      message?: string;
      diff?: string;
      ignored_error?: boolean;
      duration_ms: number;
      started_at: string;
      ended_at: string;
    })
  | (Base & { event: 'note'; message: string; host?: string })
  | (Base & {
      event: 'run_end';
      status: RunOutcomeStatus;
      exit_code: number;
      reason?: string;
      duration_ms: number;
      recap: Record<string, HostRecap>;
      changed_hosts: string[];
    });

/** An event before seq (and, optionally, time) are stamped on it. */
type EventBody = DroverEvent extends infer E
  ? E extends DroverEvent
    ? Omit<E, 'seq' | 'time'> & { time?: string | undefined }
    : never
  : never;

/** Where lines go: a file opened with openEventsFile, a stream, or a test buffer. */
export interface EventSink {
  write(text: string): unknown;
}

export interface EventsReporterOptions {
  /** The command line, already redacted (`drover deploy -i inventories/prod.yaml`). */
  command: string;
  droverVersion: string;
  check?: boolean;
  /** Clear-text secret values, scrubbed from every string as a second line of defence. */
  secrets?: Iterable<string>;
  now?: () => Date;
}

export interface EventsReporter extends Reporter {
  note(message: string, host?: string): void;
  runEnd(recap: Readonly<Record<string, HostRecap>>): void;
  flush(): Promise<void>;
  /**
   * Writes run_end with how the run ended; the runner's runEnd cannot know about a held lock,
   * a gate or an interrupt, so the CLI calls this once the outcome is decided. Later calls
   * are ignored. Returns the event written.
   */
  finish(options?: ConcludeOptions): DroverEvent;
}

/** Writes run_start immediately, then one line per Reporter event. */
export function createEventsReporter(sink: EventSink, options: EventsReporterOptions): EventsReporter {
  const now = options.now ?? (() => new Date());
  const secrets = [...(options.secrets ?? [])];
  const scrub = (text: string): string => redactText(text, secrets);
  const startedAt = now();
  // What run_end's recap is counted from; kept here rather than in a collector so each event costs O(1).
  const hosts = new Set<string>();
  const outcomes: TaskOutcome[] = [];
  const taskStarts = new Map<string, Date>();
  let seq = 0;
  let finished: DroverEvent | undefined;
  let writeError: unknown;

  if (sink instanceof Writable) sink.on('error', (err) => (writeError ??= err));

  const emit = (event: EventBody): DroverEvent => {
    const { time, event: kind, ...rest } = event;
    // `event` first, then seq and time, so the lines read well in a log viewer.
    const line = { event: kind, seq: ++seq, time: time ?? now().toISOString(), ...rest } as DroverEvent;
    sink.write(`${JSON.stringify(line)}\n`);
    return line;
  };

  emit({
    event: 'run_start',
    time: startedAt.toISOString(),
    command: scrub(options.command),
    drover_version: options.droverVersion,
    check_mode: options.check ?? false,
    pid: process.pid,
  });

  return {
    playStart(play, playHosts) {
      playHosts.forEach((h) => hosts.add(h));
      emit({ event: 'play_start', play, hosts: [...playHosts] });
    },
    batchStart(play, batchHosts, index, total) {
      emit({ event: 'batch_start', play, hosts: [...batchHosts], index, total });
    },
    taskStart(e) {
      const time = now();
      taskStarts.set(taskKey(e), time);
      emit({
        event: 'task_start',
        time: time.toISOString(),
        play: e.play,
        task: e.task,
        host: e.host,
        handler: e.handler === true,
      });
    },
    taskEnd(o) {
      const end = now();
      const key = taskKey(o);
      const start = taskStarts.get(key) ?? new Date(end.getTime() - o.durationMs);
      taskStarts.delete(key);
      hosts.add(o.host);
      outcomes.push(o);
      emit({
        event: 'task_end',
        time: end.toISOString(),
        play: o.play,
        task: o.task,
        host: o.host,
        handler: o.handler === true,
        status: o.status,
        ...(o.message !== undefined ? { message: scrub(o.message) } : {}),
        ...(o.diff !== undefined ? { diff: scrub(o.diff) } : {}),
        ...(o.ignoredError ? { ignored_error: true } : {}),
        duration_ms: Math.round(o.durationMs),
        started_at: start.toISOString(),
        ended_at: end.toISOString(),
      });
    },
    note(message, host) {
      emit({ event: 'note', message: scrub(message), ...(host !== undefined ? { host } : {}) });
    },
    runEnd(recap) {
      Object.keys(recap).forEach((h) => hosts.add(h));
    },
    finish(conclude = {}) {
      if (finished) return finished;
      const c = concludeRun(outcomes, { ...conclude, secrets: [...secrets, ...(conclude.secrets ?? [])] });
      const recap = countOutcomes([...hosts], outcomes);
      const end = now();
      finished = emit({
        event: 'run_end',
        time: end.toISOString(),
        status: c.status,
        exit_code: c.exitCode,
        ...(c.reason !== undefined ? { reason: c.reason } : {}),
        duration_ms: Math.max(0, end.getTime() - startedAt.getTime()),
        recap,
        changed_hosts: Object.keys(recap).filter((h) => (recap[h]?.changed ?? 0) > 0),
      });
      return finished;
    },
    async flush() {
      if (sink instanceof Writable && !sink.writableEnded) {
        await new Promise<void>((resolve, reject) =>
          sink.write('', (err) => (err ? reject(err) : resolve())),
        );
      }
      if (writeError !== undefined) throw writeError;
    },
  };
}

/**
 * Opens FILE for --events with synchronous writes: each line is in the file (and visible to
 * `tail -f`) before the run moves on, and nothing is lost when the process exits on Ctrl-C.
 */
export function openEventsFile(path: string): EventSink & { close(): void } {
  const fd = openSync(path, 'w', 0o644);
  let open = true;
  return {
    write(text: string) {
      if (open) writeSync(fd, text);
    },
    close() {
      if (open) {
        open = false;
        closeSync(fd);
      }
    },
  };
}
