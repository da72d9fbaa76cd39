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

export interface RunInput {
  /** The inventory with the run's ACL tokens in place (none is written anywhere yet). */
  acl: PreparedAclTokens;
  playbook: Playbook;
  modules: ReadonlyMap<string, AnyModule>;
}

export interface RunInputOptions {
  /** One inventory, or several merged in order (the first is where drover keeps its files). */
  inventoryFiles: string | readonly string[];
  playbook: PlaybookSpec;
  limit?: string | undefined;
  warn: (line: string) => void;
  signal: AbortSignal;
}

/**
 * A run's files, read and checked in the order every run reads them: the inventory (and, for a
 * Consul playbook, the Consul rules), the ACL token source (read before any connection: a source
 * that fails touches no host; the agents' tokens derive from it, so their configs are checked
 * with them in place), then the playbook. Bad input throws ConfigError (exit 3), located.
 */
export async function readRunInput(o: RunInputOptions): Promise<RunInput> {
  const { file, consul } = o.playbook;
  const signal = o.signal;
  const read = forPlaybook(
    await loadCheckedInventory(o.inventoryFiles, { consul, limit: o.limit, warn: o.warn, signal }),
    consul,
  );
  const acl: PreparedAclTokens = consul
    ? await prepareAclTokens(read, { makeIfMissing: true, signal })
    : { inventory: read };
  const modules = builtinModules();
  const playbook = await loadPlaybook(file, modules);
  return { acl, playbook, modules };
}

/**
 * The last check before a run's first connection, on what readRunInput read: every host's
 * rendered values and configs (checkBeforeConnecting), every problem at once, exit 3 with
 * nothing touched.
 */
export async function checkRunInput(
  input: RunInput,
  o: { playbook: PlaybookSpec; extraVars?: Vars | undefined; check: boolean; signal: AbortSignal },
): Promise<void> {
  throwIfInterrupted(o.signal);
  await checkBeforeConnecting({
    inventory: input.acl.inventory,
    playbook: input.playbook,
    modules: input.modules,
    baseDir: playbookBaseDir(o.playbook.file),
    check: o.check,
    consul: o.playbook.consul,
    signal: o.signal,
    ...(o.extraVars ? { extraVars: o.extraVars } : {}),
  });
}

/** `drover validate`: everything a run checks before its first connection, and nothing else. */
export async function checkRunBeforeConnecting(
  o: RunInputOptions & { extraVars?: Vars | undefined; check: boolean },
): Promise<RunInput> {
  const input = await readRunInput(o);
  await checkRunInput(input, o);
  return input;
}
