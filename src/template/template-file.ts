import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * Reads a template named by a task (`src:`), relative to the project root. A missing or
 * unreadable file is bad input (exit 3) naming the path as written and where it was looked for.
 */
export async function readTemplateFile(baseDir: string, src: string): Promise<string> {
  const path = resolve(baseDir, src);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'template file not found' : String(err);
    throw new ConfigError([{ file: src, message: `${why} (${path})` }], { cause: err });
  }
}
