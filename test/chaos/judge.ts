/**
 * Whether a run's exit code and recap were right for what happened, and which leaderless or
 * below-quorum spans the fault itself explains. Pure functions of a run's record, so that the
 * rules are read and unit-tested in one place (test/chaos/judge.test.ts).
 */
import type { Fault } from './scenario.js';
import type { Span } from './watcher.js';

/** drover's exit codes (docs/ci.md), by the name the report uses. */
export const SIGNAL_NOBODY_SENT = 'ended by a signal nobody sent';

export const EXIT_MEANING: Record<number, string> = {
  0: 'ok',
  1: 'internal error',
  2: 'task failed',
  3: 'bad input',
  4: 'unreachable',
  5: 'gate',
  6: 'lock held',
  64: 'usage',
  130: 'interrupted',
};

export interface RecapCounts {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
}

/** What the judge needs to know of a run. */
export interface Outcome {
  fault: Fault;
  /** Whether the fault was injected before the operation ended (a moment never reached injects nothing). */
  injected: boolean;
  /** The hosts the fault was aimed at (cut: both ends). */
  faultedHosts: readonly string[];
  /** null when drover ended by a signal, or was killed for outliving the campaign's cap. */
  exitCode: number | null;
  hung: boolean;
  /** From the events file's run_end, when there is one. */
  runEnd?: { status: string; reason?: string; recap: Record<string, RecapCounts> };
}

/** undefined when right; else why not. */
export function wrongExit(o: Outcome): string | undefined {
  if (o.hung) return 'drover outlived the campaign cap (hung)';
  if (o.fault === 'sigkill' && o.injected) {
    if (o.exitCode !== null) return `exit ${o.exitCode} after SIGKILL`;
    return o.runEnd ? 'a run_end event from a run killed before its end' : undefined;
  }
  // Ctrl-C that lands while drover is already exiting ends it by the signal itself, which a
  // shell reports as 130 too.
  if (o.fault === 'sigint' && o.injected && o.exitCode === null) return undefined;
  if (o.exitCode === null) return SIGNAL_NOBODY_SENT;
  if (!o.runEnd) return `exit ${o.exitCode} without a run_end event`;
  const hosts = Object.entries(o.runEnd.recap);
  // A run that could not reach the lock host stops before any task: the reason names it.
  const unreachable = hosts.filter(([, c]) => c.unreachable > 0).map(([h]) => h);
  const named = /^(\S+): unreachable:/.exec(o.runEnd.reason ?? '')?.[1];
  if (named && !unreachable.includes(named)) unreachable.push(named);
  const failed = hosts.filter(([, c]) => c.failed > 0).map(([h]) => h);
  if (o.fault === 'sigint' && o.injected)
    return o.exitCode === 130 ? undefined : `exit ${o.exitCode} after SIGINT`;
  switch (o.exitCode) {
    case 0:
      return unreachable.length + failed.length > 0
        ? `exit 0 with ${[...unreachable, ...failed].join(', ')} unreachable or failed in the recap`
        : undefined;
    case 2:
      return failed.length > 0 ? undefined : 'exit 2 with no failed host in the recap';
    case 4: {
      if (!o.injected) return 'exit 4 with no fault injected';
      if (failed.length > 0) return 'exit 4 with failed hosts (should be 2)';
      if (unreachable.length === 0) return 'exit 4 with no unreachable host in the recap';
      const strangers = unreachable.filter((h) => !o.faultedHosts.includes(h));
      return strangers.length > 0
        ? `exit 4 names ${strangers.join(', ')} unreachable, not faulted`
        : undefined;
    }
    case 5:
      return o.injected ? undefined : 'exit 5 (a gate) with no fault injected';
    default:
      return `exit ${o.exitCode} (${EXIT_MEANING[o.exitCode] ?? 'unknown'}) is never right here`;
  }
}

export const spanMs = (s: Span): number => s.to - s.from;

/** A span as the report counts it: when (ms into the run), how long, and what explains it. */
export interface JudgedSpan {
  at: number;
  ms: number;
  samples: number;
  byFault: boolean;
  /** It overlaps a leadership hand-over drover asked for (the task "leadership moves away"). */
  handover: boolean;
}

/**
 * A leaderless span during a hand-over drover asked for (the old leader steps down, the new one
 * is not yet named by a majority) is the transfer itself: reported apart, with its length,
 * since a roll hands over on purpose. Any other leaderless span is an election.
 */
export const isHandover = (s: JudgedSpan): boolean => s.handover;

/** Whether a span overlaps one of the windows (ms into the run), each widened by `slackMs` after its end. */
export const overlapsAny = (
  span: Pick<Span, 'from' | 'to'>,
  windows: readonly Span[],
  slackMs = 2000,
): boolean => windows.some((w) => span.to >= w.from && span.from <= w.to + slackMs);

export const unexplained = (s: JudgedSpan): boolean => !s.byFault && !isHandover(s);

/**
 * How long after its healing a fault on a server still explains a leaderless moment: a host
 * booted after a crash starts its agent some seconds later, and a server back from a freeze or
 * a partition rejoins, catches up and may cost one more election meanwhile.
 */
export const FAULT_GRACE_MS = 30000;

/**
 * Whether a run's fault was on a server: every target but a client is one (the lock host is the
 * first server), and a cut from a client runs to the leader.
 */
export const faultOnServer = (r: { target: string; fault: string }): boolean =>
  r.target !== 'client' || r.fault === 'cut';

/**
 * Whether a leaderless or below-quorum span is the fault's own doing: a fault on a server
 * (a crash, freeze or cut-off of a voter) may cost an election, from its injection until
 * FAULT_GRACE_MS after it is healed. Nothing drover does by itself, and no signal to drover,
 * excuses one.
 */
export function causedByFault(
  span: Pick<Span, 'from' | 'to'>,
  fault: { kind: Fault; onServer: boolean; injectedAt?: number; healedAt?: number },
  graceMs = FAULT_GRACE_MS,
): boolean {
  if (
    !fault.onServer ||
    fault.injectedAt === undefined ||
    fault.kind === 'sigint' ||
    fault.kind === 'sigkill'
  )
    return false;
  const end = (fault.healedAt ?? Infinity) + graceMs;
  return span.to >= fault.injectedAt && span.from <= end;
}
