/**
 * The runner reports progress through this interface only; listr2 (TTY), plain lines (CI),
 * JSON and NDJSON events are adapters over it. Nothing in the core prints.
 */
export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

export interface TaskEvent {
  play: string;
  task: string;
  host: string;
  /** True for a handler run at the end of a batch. */
  handler?: boolean;
}

/** A task is about to run on these hosts (all of them, before any per-host taskStart). */
export interface TaskBeginEvent {
  play: string;
  task: string;
  hosts: readonly string[];
  handler?: boolean;
}

export interface TaskOutcome extends TaskEvent {
  status: TaskStatus;
  /** One line for people: what changed, or why it failed. Already redacted. */
  message?: string;
  /** Unified diffs of files, or before/after of other resources, for --diff. Already redacted. */
  diff?: string;
  ignoredError?: boolean;
  /**
   * Failed in a block whose `rescue` then ran: the host carries on (Ansible's `rescued`). Such an
   * outcome is also `ignoredError`, which is how the recap and every report count it.
   */
  rescued?: boolean;
  durationMs: number;
}

export interface Reporter {
  playStart(play: string, hosts: readonly string[]): void;
  batchStart?(play: string, hosts: readonly string[], index: number, total: number): void;
  /** Optional: lets live renderers lay out one entry per host before the hosts start. */
  taskBegin?(event: TaskBeginEvent): void;
  taskStart(event: TaskEvent): void;
  taskEnd(outcome: TaskOutcome): void;
  /** Free-form note from the runner (retry attempts, handler flushes, aborts). */
  note?(message: string, host?: string): void;
  /** The run is over; `recap` has one entry per host that was in any play. */
  runEnd?(recap: Readonly<Record<string, HostRecap>>): void;
  /** Resolves when everything reported so far has been written (live renderers draw asynchronously). */
  flush?(): Promise<void>;
}

export interface HostRecap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  ignored: number;
}
