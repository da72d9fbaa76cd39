import { ConfigError, type ConfigProblem, type SourceLocation } from '../errors.js';
import { checkRunInput } from '../input-check/check-run.js';
import type { Inventory, Vars } from '../inventory/types.js';
import type { ModuleMap } from '../playbook/module-map.js';
import type { Playbook } from '../playbook/types.js';
import { isSecret } from '../shell/secret.js';
import { GOSSIP_KEY_ENV, resolveGossipKey, withGossipKey } from './gossip-key-source.js';
import { tlsUndecided, withTlsDefault } from './tls-default.js';

/**
 * The last step before a playbook command opens a connection: everything checkable from the
 * files alone (src/input-check), every problem at once, exit 3 with nothing touched. For the
 * Consul playbooks the gossip key the run will use is part of it when it is known here (the
 * inventory, DROVER_GOSSIP_KEY or the key file; read, never written): a bad one is refused now,
 * not after the lock is taken. One that only the cluster knows is read later, as before.
 */
export async function checkBeforeConnecting(o: {
  inventory: Inventory;
  playbook: Playbook;
  modules: ModuleMap;
  baseDir: string;
  extraVars?: Vars;
  check: boolean;
  consul: boolean;
  signal?: AbortSignal;
}): Promise<void> {
  const problems: ConfigProblem[] = [];
  let inventory = o.inventory;
  const origins: Record<string, SourceLocation> = {};
  const inInventory = [...inventory.hosts.values()].some((h) => isSecret(h.vars['consul_encrypt']));
  // A key in the inventory is checked where it is written, with the rendered configs.
  if (o.consul && !inInventory) {
    try {
      const found = await resolveGossipKey(inventory, { create: false });
      if (found.key) inventory = withGossipKey(inventory, found.key);
      if (found.source === 'env')
        origins['consul_encrypt'] = { file: `environment variable ${GOSSIP_KEY_ENV}` };
      if (found.source === 'file' && found.file) origins['consul_encrypt'] = { file: found.file };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  // Where consul_tls_enable is left to drover, the servers decide it later (tls-default.ts):
  // both configs are checked now, before anything is known of the hosts.
  const variants =
    o.consul && tlsUndecided(inventory).length > 0
      ? [withTlsDefault(inventory, true), withTlsDefault(inventory, false)]
      : [inventory];
  const seen = new Set<string>();
  for (const variant of variants) {
    const found = await checkRunInput({
      inventory: variant,
      playbook: o.playbook,
      modules: o.modules,
      baseDir: o.baseDir,
      check: o.check,
      origins,
      ...(o.extraVars ? { extraVars: o.extraVars } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    for (const p of found) {
      const key = JSON.stringify(p);
      if (!seen.has(key)) problems.push(p);
      seen.add(key);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
