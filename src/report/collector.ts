import { redactText } from '../shell/secret.js';
import type { HostRecap, Reporter, TaskEvent, TaskOutcome } from '../runner/reporter.js';

/** A TaskOutcome with wall-clock times, as the JSON recap, JUnit and events show it. */
export interface CollectedOutcome extends TaskOutcome {
  /** ISO time the task started on this host (its taskStart), or end minus duration. */
  startedAt: string;
  /** ISO time the outcome was reported. */
  endedAt: string;
}

export interface CollectedNote {
  time: string;
  message: string;
  host?: string;
}

/** Everything a run reported, independent of the runner's internal result types. */
export interface CollectedRun {
  startedAt: string;
  /** Set when the runner reported runEnd. */
  endedAt?: string;
  plays: { name: string; hosts: string[] }[];
  /** Every host seen in a play or an outcome, in order of first appearance. */
  hosts: string[];
  outcomes: CollectedOutcome[];
  notes: CollectedNote[];
  /** The runner's own recap from runEnd, when it reported one. */
  recap?: Record<string, HostRecap>;
}

export interface RecapCollector extends Reporter {
  runEnd(recap: Readonly<Record<string, HostRecap>>): void;
  note(message: string, host?: string): void;
  /** A snapshot of what has been reported so far; safe to call at any time, also mid-run. */
  collected(): CollectedRun;
}

export interface CollectorOptions {
  now?: () => Date;
  /** Clear-text secret values, scrubbed from every message, diff and note as a second line of defence. */
  secrets?: Iterable<string>;
}

export const taskKey = (e: TaskEvent): string => JSON.stringify([e.play, e.task, e.host, e.handler === true]);

/**
 * A Reporter that records every event, so `buildJsonRecap` and `renderJunit` can work after the
 * run from what was reported, whatever shape the runner's own result has.
 */
export function createRecapCollector(options: CollectorOptions = {}): RecapCollector {
  const now = options.now ?? (() => new Date());
  const secrets = [...(options.secrets ?? [])];
  const scrub = (text: string): string => redactText(text, secrets);
  const run: CollectedRun = {
    startedAt: now().toISOString(),
    plays: [],
    hosts: [],
    outcomes: [],
    notes: [],
  };
  const seenHosts = new Set<string>();
  const started = new Map<string, Date>();
  const addHost = (h: string): void => {
    if (!seenHosts.has(h)) {
      seenHosts.add(h);
      run.hosts.push(h);
    }
  };

  return {
    playStart(play, hosts) {
      run.plays.push({ name: play, hosts: [...hosts] });
      hosts.forEach(addHost);
    },
    taskStart(event) {
      started.set(taskKey(event), now());
    },
    taskEnd(outcome) {
      const end = now();
      const key = taskKey(outcome);
      const start = started.get(key) ?? new Date(end.getTime() - outcome.durationMs);
      started.delete(key);
      addHost(outcome.host);
      run.outcomes.push({
        ...outcome,
        ...(outcome.message !== undefined ? { message: scrub(outcome.message) } : {}),
        ...(outcome.diff !== undefined ? { diff: scrub(outcome.diff) } : {}),
        startedAt: start.toISOString(),
        endedAt: end.toISOString(),
      });
    },
    note(message, host) {
      run.notes.push({
        time: now().toISOString(),
        message: scrub(message),
        ...(host !== undefined ? { host } : {}),
      });
    },
    runEnd(recap) {
      run.endedAt = now().toISOString();
      run.recap = structuredClone({ ...recap });
      Object.keys(recap).forEach(addHost);
    },
    collected() {
      return structuredClone(run);
    },
  };
}

/** Ansible's recap counting, as the runner does it: `ok` includes `changed`; an ignored failure counts only as `ignored`. */
export function countOutcomes(
  hosts: readonly string[],
  outcomes: readonly TaskOutcome[],
): Record<string, HostRecap> {
  const recap: Record<string, HostRecap> = {};
  const row = (h: string): HostRecap =>
    (recap[h] ??= { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, ignored: 0 });
  hosts.forEach(row);
  for (const o of outcomes) {
    const r = row(o.host);
    if (o.ignoredError) r.ignored++;
    else if (o.status === 'failed') r.failed++;
    else if (o.status === 'unreachable') r.unreachable++;
    else if (o.status === 'skipped') r.skipped++;
    else {
      r.ok++;
      if (o.status === 'changed') r.changed++;
    }
  }
  return recap;
}
