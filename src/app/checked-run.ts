import { throwIfInterrupted } from '../config/interrupt.js';
import type { Vars } from '../inventory/types.js';
import type { AnyModule } from '../modules/module.js';
import { builtinModules } from '../modules/registry.js';
import { loadPlaybook } from '../playbook/load-playbook.js';
import type { Playbook } from '../playbook/types.js';
import { prepareAclTokens, type PreparedAclTokens } from './acl-token-source.js';
import { checkBeforeConnecting } from './check-before-connecting.js';
import { forPlaybook, loadCheckedInventory } from './load-checked-inventory.js';
import { playbookBaseDir, type PlaybookSpec } from './playbooks.js';

export interface CheckedRun {
  /** The inventory with the run's ACL tokens in place (none is written anywhere yet). */
  acl: PreparedAclTokens;
  playbook: Playbook;
  modules: ReadonlyMap<string, AnyModule>;
}

/**
 * Everything a playbook run checks from its files before its first connection, in the order a
 * run does it: the inventory (and, for a Consul playbook, the Consul rules), the ACL token
 * source, the playbook, then every host's rendered values and configs (checkBeforeConnecting).
 * `drover validate` is exactly this; a run goes on from here. Bad input throws ConfigError
 * (exit 3) with every problem located; nothing is written and no host is asked.
 */
export async function checkRunBeforeConnecting(o: {
  /** One inventory, or several merged in order (the first is where drover keeps its files). */
  inventoryFiles: string | readonly string[];
  playbook: PlaybookSpec;
  limit?: string | undefined;
  extraVars?: Vars | undefined;
  check: boolean;
  warn: (line: string) => void;
  signal: AbortSignal;
}): Promise<CheckedRun> {
  const { file, consul } = o.playbook;
  const signal = o.signal;
  const read = forPlaybook(
    await loadCheckedInventory(o.inventoryFiles, { consul, limit: o.limit, warn: o.warn, signal }),
    consul,
  );
  // The ACL token is read before any connection: a source that fails touches no host. The
  // agents' tokens derive from it, so their configs are checked below with them in place.
  const acl: PreparedAclTokens = consul
    ? await prepareAclTokens(read, { makeIfMissing: true, signal })
    : { inventory: read };
  const modules = builtinModules();
  const playbook = await loadPlaybook(file, modules);
  throwIfInterrupted(signal);
  await checkBeforeConnecting({
    inventory: acl.inventory,
    playbook,
    modules,
    baseDir: playbookBaseDir(file),
    check: o.check,
    consul,
    signal,
    ...(o.extraVars ? { extraVars: o.extraVars } : {}),
  });
  return { acl, playbook, modules };
}
