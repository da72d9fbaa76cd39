import { dirname, resolve } from 'node:path';
import { loadYamlFile } from '../config/yaml-file.js';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { resolveInventoryInput, type InventoryDocument, type ResolveOptions } from './resolve.js';
import { fromAnsibleJson } from './sources/ansible-json.js';
import { isInventoryScript, runInventoryScript } from './sources/script.js';
import { readVarsFolders } from './sources/vars-folders.js';
import type { Inventory } from './types.js';

export interface LoadOptions extends ResolveOptions {
  /** Ends a long parse, or a running inventory script, at once (Ctrl-C on a huge inventory). */
  signal?: AbortSignal;
  /** How long an inventory script may run (default SCRIPT_TIMEOUT_MS, 30 s). */
  scriptTimeoutMs?: number;
}

/**
 * Reads, validates and resolves an inventory: one file, or several (`-i base.yaml -i prod.yaml`)
 * merged in order, each a YAML file or an inventory script; and the group_vars/ and host_vars/
 * beside each. Throws ConfigError listing every problem found (file:line:col path: message),
 * never just the first. The first file names the inventory (Inventory.file): what drover keeps
 * beside an inventory is beside it. Consul-specific checks are separate: see checkConsulInventory.
 */
export async function loadInventory(
  files: string | readonly string[],
  options: LoadOptions = {},
): Promise<Inventory> {
  const list = typeof files === 'string' ? [files] : files;
  if (list.length === 0) throw new Error('loadInventory: no inventory file');
  const { signal, scriptTimeoutMs, ...resolveOptions } = options;
  const read = { ...(signal ? { signal } : {}), ...(scriptTimeoutMs ? { timeoutMs: scriptTimeoutMs } : {}) };
  const problems: ConfigProblem[] = [];
  const documents: InventoryDocument[] = [];
  for (const file of list) {
    try {
      documents.push(await readDocument(file, read));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  // Each folder once, however many of the files sit in it; named as the files are (relative stays relative).
  const dirs = new Map<string, string>();
  for (const file of list)
    if (!dirs.has(resolve(dirname(file)))) dirs.set(resolve(dirname(file)), dirname(file));
  const found = await readVarsFolders([...dirs.values()], signal ? { signal } : {});
  problems.push(...found.problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const inventory = resolveInventoryInput({ documents, varsFolders: found.folders }, resolveOptions);
  return found.warnings.length > 0
    ? { ...inventory, warnings: [...found.warnings, ...inventory.warnings] }
    : inventory;
}

/** One -i file: a YAML inventory, or a script's `--list` output reshaped as one. */
async function readDocument(
  file: string,
  o: { signal?: AbortSignal; timeoutMs?: number },
): Promise<InventoryDocument> {
  if (await isInventoryScript(file)) {
    return { src: fromAnsibleJson(await runInventoryScript(file, o), file), ranges: false };
  }
  // The signal ends a long parse at once, not after it.
  return { src: await loadYamlFile(file, o.signal ? { signal: o.signal } : {}), ranges: true };
}
