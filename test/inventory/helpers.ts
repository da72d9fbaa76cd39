import assert from 'node:assert/strict';
import { parseYaml } from '../../src/config/yaml-file.js';
import { ConfigError } from '../../src/errors.js';
import { resolveInventory } from '../../src/inventory/resolve.js';
import type { Inventory } from '../../src/inventory/types.js';

/** YAML from lines, so that tests can state exact line:col positions. */
export const lines = (...ls: string[]): string => ls.join('\n') + '\n';

/** Resolves inventory text as if read from /inv/prod.yaml, with a controlled environment. */
export function inventory(text: string, env: Record<string, string> = {}): Inventory {
  return resolveInventory(parseYaml(text, '/inv/prod.yaml'), { env, homeDir: '/home/op' });
}

/** The formatted problems (`file:line:col path: message`) that loading `text` reports. */
export function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    inventory(text, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message.split('\n');
  }
  assert.fail('expected the inventory to be rejected');
}
