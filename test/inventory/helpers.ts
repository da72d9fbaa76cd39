import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseYaml } from '../../src/config/yaml-file.js';
import { ConfigError, formatProblem } from '../../src/errors.js';
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

/**
 * A temporary folder holding `files` (paths may name subfolders; a path ending in `/` is an
 * empty folder; `{ text, mode }` sets the mode, for scripts). `remove` deletes it.
 */
export function tempTree(files: Record<string, string | { text: string; mode: number }>): {
  dir: string;
  path: (name: string) => string;
  remove: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'drover-inv-'));
  for (const [name, content] of Object.entries(files)) {
    const full = join(dir, name);
    if (name.endsWith('/')) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(dirname(full), { recursive: true });
    const { text, mode } = typeof content === 'string' ? { text: content, mode: 0o644 } : content;
    writeFileSync(full, text, { mode });
    chmodSync(full, mode);
  }
  return {
    dir,
    path: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The formatted problems of a ConfigError `promise` rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems.map(formatProblem);
  }
  assert.fail('expected a ConfigError');
}
