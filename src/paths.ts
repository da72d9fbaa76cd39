import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The drover package root, from src/ (tsx) or dist/ (compiled) alike. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const PLAYBOOKS_DIR = join(PROJECT_ROOT, 'playbooks');

export const DROVER_VERSION: string = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
