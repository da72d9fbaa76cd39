import { loadYamlFile } from '../config/yaml-file.js';
import { resolveInventory, type ResolveOptions } from './resolve.js';
import type { Inventory } from './types.js';

/**
 * Reads, validates and resolves an inventory file. Throws ConfigError listing every problem
 * found (file:line:col path: message), never just the first. Consul-specific checks are separate:
 * see checkConsulInventory.
 */
export async function loadInventory(
  file: string,
  options: ResolveOptions & { signal?: AbortSignal } = {},
): Promise<Inventory> {
  const { signal, ...resolveOptions } = options;
  // The signal ends a long parse at once (Ctrl-C on a huge inventory), not after it.
  return resolveInventory(await loadYamlFile(file, signal ? { signal } : {}), resolveOptions);
}
