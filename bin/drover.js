#!/usr/bin/env node
// Entry point: runs the bundled CLI when it exists (npm run build), else the TypeScript source via tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { runBundle } from './run-bundle.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bundled = join(root, 'dist', 'bundle', 'drover.cjs');
if (existsSync(bundled)) {
  runBundle(bundled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
