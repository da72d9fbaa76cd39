import type { HostRecap, TaskStatus } from '../runner/reporter.js';
import { countOutcomes, type CollectedRun } from './collector.js';
import { concludeRun, type ConcludeOptions, type RunOutcomeStatus } from './conclusion.js';

/** Bumped on any incompatible change to the shape below (schemas/recap.schema.json). */
export const RECAP_SCHEMA_VERSION = 1;

export interface JsonTaskResult {
  status: TaskStatus;
  message?: string;
  diff?: string;
  /** The task failed and `ignore_errors` let the run go on. */
  ignored_error?: boolean;
  duration_ms: number;
  started_at: string;
  ended_at: string;
}

export interface JsonTask {
  play: string;
  task: string;
  handler: boolean;
  /** One entry per host the task ran on (or was skipped on), in the order results came in. */
  hosts: Record<string, JsonTaskResult>;
}

/** The object `--output json` prints: what a CI step needs to decide and to report. */
export interface JsonRecap {
  schema_version: typeof RECAP_SCHEMA_VERSION;
  command?: string;
  drover_version?: string;
  check_mode: boolean;
  status: RunOutcomeStatus;
  exit_code: number;
  reason?: string;
  started_at: string;
  ended_at: string;
  duration_ms: number;
  /** Ansible's recap per host: `ok` includes `changed`; ignored failures count as `ignored` only. */
  hosts: Record<string, HostRecap>;
  /** Exactly the hosts where some task changed something (in check mode: would change). */
  changed_hosts: string[];
  failed_hosts: string[];
  unreachable_hosts: string[];
  tasks: JsonTask[];
  notes: { time: string; message: string; host?: string }[];
}

export interface JsonRecapOptions extends ConcludeOptions {
  /** The command line, already redacted (`drover deploy -i inventories/prod.yaml`). */
  command?: string;
  droverVersion?: string;
  check?: boolean;
  /** End time when the runner never reported runEnd (lock held, interrupted before the end). */
  now?: () => Date;
}

/**
 * Builds the final recap from what a RecapCollector saw. Tasks are grouped by play, name and
 * handler flag; a host's second result for the same key (a play that repeats a task name)
 * starts a second entry, so no result is ever overwritten.
 */
export function buildJsonRecap(run: CollectedRun, options: JsonRecapOptions = {}): JsonRecap {
  const conclusion = concludeRun(run.outcomes, options);
  const endedAt = run.endedAt ?? (options.now ?? (() => new Date()))().toISOString();
  const hosts = countOutcomes(run.hosts, run.outcomes);
  const hostOrder = Object.keys(hosts);
  const where = (pick: (h: HostRecap) => number) => hostOrder.filter((h) => pick(hosts[h] as HostRecap) > 0);

  const tasks: JsonTask[] = [];
  const entriesByKey = new Map<string, JsonTask[]>();
  const seen = new Map<string, number>();
  for (const o of run.outcomes) {
    const key = JSON.stringify([o.play, o.task, o.handler === true]);
    const nth = seen.get(`${key}|${o.host}`) ?? 0;
    seen.set(`${key}|${o.host}`, nth + 1);
    const entries = entriesByKey.get(key) ?? [];
    entriesByKey.set(key, entries);
    let entry = entries[nth];
    if (!entry) {
      entry = { play: o.play, task: o.task, handler: o.handler === true, hosts: {} };
      entries.push(entry);
      tasks.push(entry);
    }
    entry.hosts[o.host] = {
      status: o.status,
      ...(o.message !== undefined ? { message: o.message } : {}),
      ...(o.diff !== undefined ? { diff: o.diff } : {}),
      ...(o.ignoredError ? { ignored_error: true } : {}),
      duration_ms: Math.round(o.durationMs),
      started_at: o.startedAt,
      ended_at: o.endedAt,
    };
  }

  return {
    schema_version: RECAP_SCHEMA_VERSION,
    ...(options.command !== undefined ? { command: options.command } : {}),
    ...(options.droverVersion !== undefined ? { drover_version: options.droverVersion } : {}),
    check_mode: options.check ?? false,
    status: conclusion.status,
    exit_code: conclusion.exitCode,
    ...(conclusion.reason !== undefined ? { reason: conclusion.reason } : {}),
    started_at: run.startedAt,
    ended_at: endedAt,
    duration_ms: Math.max(0, Date.parse(endedAt) - Date.parse(run.startedAt)),
    hosts,
    changed_hosts: where((h) => h.changed),
    failed_hosts: where((h) => h.failed),
    unreachable_hosts: where((h) => h.unreachable),
    tasks,
    notes: run.notes,
  };
}
