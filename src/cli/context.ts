import { ConfigError, formatProblem, UsageError } from '../errors.js';
import { checkConsulInventory } from '../inventory/consul-checks.js';
import { loadInventory } from '../inventory/load.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Inventory } from '../inventory/types.js';
import type { ConnectionDefaults } from './connection.js';

/** Options every command that talks to hosts shares; flags win over DROVER_* environment variables. */
export interface CommonOptions {
  inventory?: string;
  limit?: string;
  forks?: string;
  sshKey?: string;
  acceptNewHostKeys?: boolean;
  connectTimeout?: string;
}

export function inventoryPath(o: CommonOptions): string {
  const path = o.inventory ?? process.env['DROVER_INVENTORY'];
  if (!path) throw new UsageError('no inventory: give -i FILE (or set DROVER_INVENTORY)');
  return path;
}

export function forks(o: CommonOptions): number {
  const raw = o.forks ?? process.env['DROVER_FORKS'] ?? '10';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new UsageError(`--forks must be a whole number from 1 to 1000, not "${raw}"`);
  return n;
}

export function connectionDefaults(o: CommonOptions): ConnectionDefaults {
  const key = o.sshKey ?? process.env['DROVER_SSH_KEY'];
  const timeout = Number(o.connectTimeout ?? '10');
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError('--connect-timeout must be a positive number of seconds');
  return {
    ...(key ? { sshKey: key } : {}),
    acceptNewHostKeys: o.acceptNewHostKeys === true,
    connectTimeoutSeconds: timeout,
  };
}

/**
 * Loads and checks the inventory before any host is contacted: schema and semantic errors, and
 * for Consul commands the Consul checks (servers count, roles, bootstrap_expect). Warnings go to
 * `warn`; errors throw ConfigError (exit 3).
 */
export async function loadCheckedInventory(
  o: CommonOptions,
  opts: { consul: boolean; warn: (line: string) => void; signal?: AbortSignal },
): Promise<Inventory> {
  const inventory = await loadInventory(inventoryPath(o), opts.signal ? { signal: opts.signal } : {});
  const warnings = [...inventory.warnings];
  if (opts.consul) {
    const report = checkConsulInventory(inventory);
    if (report.errors.length > 0) throw new ConfigError(report.errors);
    warnings.push(...report.warnings);
  }
  for (const w of warnings) opts.warn(`warning: ${formatProblem(w)}`);
  // An unknown --limit is a usage error, found before anything connects.
  if (o.limit) selectHosts(inventory, o.limit);
  return inventory;
}
