import type { Playbook } from '../playbook/types.js';
import type { RunResult } from '../runner/run-playbook.js';
import type { TaskOutcome } from '../runner/reporter.js';

export interface SummaryOptions {
  check: boolean;
  /**
   * Whether to say which hosts were restarted: `always` (the rolls), `true` when the playbook
   * has restart tasks (then the line shows when a host was restarted, or when the run stopped
   * early, where `restarted: no host` is news), `false` for playbooks that restart nothing.
   */
  restarts: boolean | 'always';
  /** The hosts left untouched when the run stopped early, if the command knows better (a roll). */
  notReached?: (result: RunResult) => string[];
  /** Lines right under the restart line (a roll's gates, in check mode). */
  afterRestarts?: readonly string[];
}

/**
 * The lines every playbook command prints after the PLAY RECAP, in this order, each only when
 * it has something to say (but the last):
 *
 *     interrupted: running tasks finished, no new task was started
 *     aborted: <why the run stopped early>
 *     snapshot of dc1 at index 42 (Consul 1.20.1) saved to inventories/prod.snapshots/...
 *     restarted: s1                      (would restart, in this order: ... in check mode)
 *     failed: c1
 *     unreachable: c2 (connection refused by 10.0.0.5:22)
 *     not reached: s2, s3
 *     changed: s1, c1                    (would change: ... in check mode)
 */
export function summaryLines(result: RunResult, o: SummaryOptions): string[] {
  const lines: string[] = [];
  if (result.status === 'interrupted')
    lines.push('interrupted: running tasks finished, no new task was started');
  if (result.abortReason) lines.push(`aborted: ${result.abortReason}`);
  lines.push(...snapshotLines(result.outcomes));
  const restarted = restartedHosts(result);
  if (o.restarts === 'always' || (o.restarts && (restarted.length > 0 || stoppedEarly(result)))) {
    lines.push(`${o.check ? 'would restart, in this order' : 'restarted'}: ${names(restarted)}`);
    lines.push(...(o.afterRestarts ?? []));
  }
  if (result.failedHosts.length > 0) lines.push(`failed: ${names(result.failedHosts)}`);
  if (result.unreachableHosts.length > 0) lines.push(`unreachable: ${unreachableWhy(result)}`);
  const notReached = stoppedEarly(result) ? (o.notReached ?? notStarted)(result) : [];
  if (notReached.length > 0) lines.push(`not reached: ${names(notReached)}`);
  lines.push(`${o.check ? 'would change' : 'changed'}: ${names(result.changedHosts)}`);
  return lines;
}

const names = (hosts: readonly string[]): string => (hosts.length > 0 ? hosts.join(', ') : 'no host');

export const stoppedEarly = (result: RunResult): boolean =>
  result.status === 'interrupted' || result.abortReason !== undefined;

/** Tasks that save a snapshot of the cluster (consul_snapshot), by the playbooks' names. */
export const isSnapshotTask = (task: string): boolean => task.startsWith('snapshot');

/**
 * What the run's snapshots were (each task's own line: the datacenter, the index and the file),
 * for the lines after the recap and the audit log.
 */
export function snapshotLines(outcomes: readonly TaskOutcome[]): string[] {
  return outcomes
    .filter((o) => isSnapshotTask(o.task) && o.status === 'changed' && o.message)
    .map((o) => o.message as string);
}

/** Tasks whose change is a restart (or a recreation on a new image), by the playbooks' names. */
export const isRestartTask = (task: string): boolean => task.startsWith('restart consul');

/** Whether any play of the playbook has a restart task (or handler). */
export const canRestart = (playbook: Playbook): boolean =>
  playbook.plays.some((p) => [...p.tasks, ...p.handlers].some((t) => isRestartTask(t.name)));

/** Hosts in the order they were (or, in check mode, would be) restarted. */
export function restartedHosts(result: RunResult): string[] {
  const seen = new Set<string>();
  for (const o of result.outcomes) if (isRestartTask(o.task) && o.status === 'changed') seen.add(o.host);
  return [...seen];
}

/**
 * Hosts of the run on which no task ran because it stopped first: a later batch, or a host
 * that only later plays had. A host that ran anything was reached, even if a later play then
 * never ran on it (the `interrupted` or `aborted` line says the run did not get to the end).
 */
export function notStarted(result: RunResult): string[] {
  const ran = new Set(result.outcomes.map((o) => o.host));
  const out = [...new Set([...Object.keys(result.recap), ...result.notReachedHosts])];
  return out.filter(
    (h) => !ran.has(h) && !result.failedHosts.includes(h) && !result.unreachableHosts.includes(h),
  );
}

/** `c2 (connection refused by 10.0.0.5:22), c3 (...)`: each unreachable host with the first line of why. */
export function unreachableWhy(result: RunResult): string {
  return result.unreachableHosts
    .map((host) => {
      const message = result.outcomes.find((o) => o.host === host && o.status === 'unreachable')?.message;
      // UnreachableError says `HOST: unreachable: WHY`; the host and the word are on the line already.
      const first = message?.split('\n', 1)[0]?.trim() ?? '';
      const prefix = `${host}: unreachable: `;
      const why = first.startsWith(prefix) ? first.slice(prefix.length) : first;
      return why ? `${host} (${why})` : host;
    })
    .join(', ');
}
