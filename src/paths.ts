import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The drover package root: the nearest folder above this module that holds package.json. The
 * module runs from src/ (tsx), dist/ (tsc) or the single-file bundle in dist/bundle/, so the
 * depth is not fixed; three levels up is as far as any of them is.
 */
function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < 3; level++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`no package.json within three folders above ${fileURLToPath(import.meta.url)}`);
}

export const PROJECT_ROOT = findProjectRoot();
export const PLAYBOOKS_DIR = join(PROJECT_ROOT, 'playbooks');
export const SCHEMAS_DIR = join(PROJECT_ROOT, 'schemas');

export const DROVER_VERSION: string = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * What drover keeps beside an inventory, named after its stem: `inventories/lab.yaml` and
 * `.gossip.key` -> `inventories/lab.gossip.key` (also `.acl`, `.tls`, `.snapshots`).
 */
export function besideInventory(inventoryFile: string, suffix: string): string {
  return join(dirname(inventoryFile), `${basename(inventoryFile, extname(inventoryFile))}${suffix}`);
}
