import { selectHosts } from '../inventory/patterns.js';
import type { Inventory } from '../inventory/types.js';
import type { Playbook } from '../playbook/types.js';
import type { HostConnections } from './connection-pool.js';

/**
 * The hosts a run will work on first: every play's hosts (narrowed by --limit) in play order,
 * at most `forks` of them, as many as the first task runs on at once. A pattern that names a
 * group made during the run (group_by) is not known yet and is passed over.
 */
export function firstHosts(
  playbook: Playbook,
  inventory: Inventory,
  limit: string | undefined,
  forks: number,
): string[] {
  const allowed = limit === undefined ? undefined : new Set(selectHosts(inventory, limit));
  const out = new Set<string>();
  for (const play of playbook.plays) {
    let hosts: readonly string[];
    try {
      hosts = selectHosts(inventory, play.hosts);
    } catch {
      continue;
    }
    for (const h of hosts) {
      if (out.size >= forks) return [...out];
      if (!allowed || allowed.has(h)) out.add(h);
    }
  }
  return [...out];
}

/**
 * Starts the SSH handshakes of the hosts the first task needs, so that they run while the deploy
 * lock is taken instead of one after the other. Only connects: no command runs, and a host that
 * cannot be reached is reported by the task that uses it, as before.
 */
export function warmUp(pool: HostConnections, hosts: readonly string[]): void {
  for (const h of hosts) pool.get(h).catch(() => undefined);
}
