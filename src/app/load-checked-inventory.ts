import { ConfigError, formatProblem } from '../errors.js';
import { checkConsulInventory, withConsulRoleGroups } from '../inventory/consul-checks.js';
import { loadInventory } from '../inventory/load.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Inventory } from '../inventory/types.js';

/**
 * Loads and checks the inventory (one file, or several merged in order: see loadInventory) before
 * any host is contacted: schema and semantic errors, and for Consul operations the Consul checks
 * (servers count, roles, bootstrap_expect). Warnings go to `warn`; errors throw ConfigError
 * (exit 3); an unknown `limit` is a usage error.
 */
export async function loadCheckedInventory(
  files: string | readonly string[],
  o: { consul: boolean; limit?: string | undefined; warn: (line: string) => void; signal?: AbortSignal },
): Promise<Inventory> {
  const inventory = await loadInventory(files, o.signal ? { signal: o.signal } : {});
  const warnings = [...inventory.warnings];
  if (o.consul) {
    const report = checkConsulInventory(inventory);
    if (report.errors.length > 0) throw new ConfigError(report.errors);
    warnings.push(...report.warnings);
  }
  for (const w of warnings) o.warn(`warning: ${formatProblem(w)}`);
  if (o.limit) selectHosts(inventory, o.limit);
  return inventory;
}

/** For a Consul playbook: a cluster of servers only is a Consul cluster, its `clients` group empty, not unknown. */
export const forPlaybook = (inventory: Inventory, consul: boolean): Inventory =>
  consul ? withConsulRoleGroups(inventory) : inventory;
