import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { loadYamlFile } from '../../config/yaml-file.js';
import { ConfigError, type ConfigProblem } from '../../errors.js';
import type { Source } from '../resolve/model.js';
import type { VarsFolder } from '../resolve/read.js';

/**
 * Ansible's group_vars/ and host_vars/ beside an inventory: `group_vars/<group>.yaml` (`.yml`,
 * `.json`, or no extension), or a folder `group_vars/<group>/` whose files (and subfolders') are
 * read in lexical order; the same for hosts. Hidden files and editor backups (`~`) are skipped,
 * as Ansible skips them. Where Ansible would quietly pick one of two candidates (a folder over a
 * file, `.yml` over `.yaml`), drover refuses both: which one applies should not be a surprise.
 */
export const VARS_FILE_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

const skipped = (name: string) => name.startsWith('.') || name.endsWith('~');

export interface FoundVarsFolders {
  folders: VarsFolder[];
  problems: ConfigProblem[];
  warnings: ConfigProblem[];
}

/** The vars folders of inventories in `dirs` (each once, in -i order), parsed, in the order they apply. */
export async function readVarsFolders(
  dirs: readonly string[],
  o: { signal?: AbortSignal } = {},
): Promise<FoundVarsFolders> {
  const out: FoundVarsFolders = { folders: [], problems: [], warnings: [] };
  for (const dir of dirs) {
    for (const kind of ['group', 'host'] as const) await readKind(dir, kind, o, out);
  }
  return out;
}

async function readKind(
  dir: string,
  kind: 'group' | 'host',
  o: { signal?: AbortSignal },
  out: FoundVarsFolders,
): Promise<void> {
  const base = join(dir, `${kind}_vars`);
  const st = await statOrUndefined(base, out);
  if (!st) return;
  if (!st.isDirectory()) {
    out.problems.push({
      file: base,
      message: `is not a folder: ${kind}_vars/ holds files named after ${kind}s`,
    });
    return;
  }
  const seen = new Map<string, string>();
  for (const entry of await listing(base, out)) {
    const full = join(base, entry);
    const est = await statOrUndefined(full, out);
    if (!est) continue;
    let name: string;
    let where: string;
    let paths: string[];
    if (est.isDirectory()) {
      name = entry;
      where = `${full}/`;
      paths = await folderFiles(full, kind, out);
    } else {
      const ext = extname(entry);
      if (ext !== '' && !VARS_FILE_EXTENSIONS.includes(ext)) {
        // A README.md is not a group's vars. (Ansible would read `web.prod` for group web.prod:
        // a dot in a group's name needs an extension here, `web.prod.yaml`.)
        out.warnings.push({ file: full, message: notRead(kind) });
        continue;
      }
      name = ext === '' ? entry : basename(entry, ext);
      where = full;
      paths = [full];
    }
    const other = seen.get(name);
    if (other !== undefined) {
      out.problems.push({
        file: where,
        message: `${other} holds the vars of ${kind} "${name}" too; keep one of them`,
      });
      continue;
    }
    seen.set(name, where);
    const files: Source[] = [];
    for (const path of paths) {
      try {
        files.push(await loadYamlFile(path, o.signal ? { signal: o.signal } : {}));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        out.problems.push(...err.problems);
      }
    }
    out.folders.push({ kind, name, where, files, baseDir: dir });
  }
}

/** A vars folder's files, subfolders included, in lexical order; files drover does not read are warned about. */
async function folderFiles(dir: string, kind: string, out: FoundVarsFolders): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await listing(dir, out)) {
    const full = join(dir, entry);
    const st = await statOrUndefined(full, out);
    if (!st) continue;
    const ext = extname(entry);
    if (st.isDirectory()) files.push(...(await folderFiles(full, kind, out)));
    else if (ext === '' || VARS_FILE_EXTENSIONS.includes(ext)) files.push(full);
    else {
      out.warnings.push({ file: full, message: notRead(kind) });
    }
  }
  return files;
}

const notRead = (kind: string) =>
  `not read: drover reads .yaml, .yml and .json files (and files without an extension) in ${kind}_vars/`;

async function statOrUndefined(path: string, out: FoundVarsFolders) {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A missing group_vars/ is the usual case; a link to nothing is a mistake worth naming.
    if (code === 'ENOENT' && !(await isLink(path))) return undefined;
    out.problems.push({ file: path, message: `cannot read it (${code ?? String(err)})` });
    return undefined;
  }
}

async function isLink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A folder's entries in lexical order, hidden files and backups left out. */
async function listing(dir: string, out: FoundVarsFolders): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((e) => !skipped(e)).sort();
  } catch (err) {
    out.problems.push({
      file: dir,
      message: `cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    });
    return [];
  }
}
