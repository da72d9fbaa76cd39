/** A scratch folder of files for tests of playbooks made of several files. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Tree {
  readonly dir: string;
  path(name: string): string;
  remove(): void;
}

/** Writes `files` (path relative to the folder -> text) into a new temp folder. */
export function tree(files: Record<string, string>): Tree {
  const dir = mkdtempSync(join(tmpdir(), 'drover-reuse-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return {
    dir,
    path: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
