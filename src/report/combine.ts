import type { HostRecap, Reporter, TaskBeginEvent, TaskEvent, TaskOutcome } from '../runner/reporter.js';

/**
 * One Reporter that forwards every event to several (screen, --events, the recap collector).
 * Every reporter gets every event even when an earlier one throws: a broken events file must
 * not hide the run from the screen. The first error is rethrown once all have been called.
 */
export function combineReporters(...reporters: Reporter[]): Reporter {
  const each = (call: (r: Reporter) => void): void => {
    let first: { error: unknown } | undefined;
    for (const r of reporters) {
      try {
        call(r);
      } catch (error) {
        first ??= { error };
      }
    }
    if (first) throw first.error;
  };
  return {
    playStart: (play: string, hosts: readonly string[]) => each((r) => r.playStart(play, hosts)),
    batchStart: (play: string, hosts: readonly string[], index: number, total: number) =>
      each((r) => r.batchStart?.(play, hosts, index, total)),
    taskBegin: (event: TaskBeginEvent) => each((r) => r.taskBegin?.(event)),
    taskStart: (event: TaskEvent) => each((r) => r.taskStart(event)),
    taskEnd: (outcome: TaskOutcome) => each((r) => r.taskEnd(outcome)),
    note: (message: string, host?: string) => each((r) => r.note?.(message, host)),
    runEnd: (recap: Readonly<Record<string, HostRecap>>) => each((r) => r.runEnd?.(recap)),
    flush: async () => {
      const settled = await Promise.allSettled(reporters.map((r) => r.flush?.()));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
