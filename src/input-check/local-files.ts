import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * The local files a run reads (templates, JSON Schemas, files to copy), confined to the
 * project around the playbook, the inventory's folder and drover's own files (its templates and
 * schemas, for a playbook of another project): a templated path
 * (`templates/consul/{{consul_role}}.json.hbs`) must not reach the rest of the machine, whatever
 * a var says. Symbolic links are followed before the check, so a link cannot lead out either.
 */
export class LocalFiles {
  /** The two folders, links resolved, and as given (a path is first checked as written). */
  readonly #roots: { label: string; path: string }[];
  readonly #lexicalRoots: { path: string }[];
  readonly #texts = new Map<string, string>();
  /** By path as given: every host names the same few files. */
  readonly #resolved = new Map<string, { file: string } | { problem: string }>();

  constructor(
    private readonly baseDir: string,
    inventoryDir: string,
    droverDir: string,
  ) {
    const roots = [
      { label: 'the project', path: baseDir },
      { label: "the inventory's folder", path: inventoryDir },
      { label: "drover's own files", path: droverDir },
    ];
    this.#roots = roots
      .map((r) => ({ label: r.label, path: real(r.path) }))
      .filter((r, i, all) => all.findIndex((o) => o.path === r.path) === i);
    this.#lexicalRoots = [...this.#roots, ...roots.map((r) => ({ path: resolve(r.path) }))];
  }

  /** The file a relative (or absolute) path names, or why it cannot be used. */
  resolve(path: string): { file: string } | { problem: string } {
    let found = this.#resolved.get(path);
    if (!found) this.#resolved.set(path, (found = this.#resolve(path)));
    return found;
  }

  #resolve(path: string): { file: string } | { problem: string } {
    const abs = resolve(this.baseDir, path);
    const outside = (at: string) => {
      const named = this.#roots.map((r) => `${r.label} (${r.path})`);
      const roots =
        named.length > 1 ? `${named.slice(0, -1).join(', ')} and ${named[named.length - 1]}` : named[0];
      return { problem: `${at} is outside ${roots}; drover reads templates and schemas only there` };
    };
    // As written first (`../../etc/x` is refused whether or not it exists), then with links resolved.
    if (!this.#inRoots(abs, this.#lexicalRoots)) return outside(abs);
    let target: string;
    try {
      target = realpathSync(abs);
    } catch {
      return { problem: `file not found (${abs})` };
    }
    return this.#inRoots(target, this.#roots) ? { file: target } : outside(`${abs} (a link to ${target})`);
  }

  #inRoots(path: string, roots: readonly { path: string }[]): boolean {
    return roots.some((root) => inside(root.path, path));
  }

  read(file: string): string {
    let text = this.#texts.get(file);
    if (text === undefined) {
      text = readFileSync(file, 'utf8');
      this.#texts.set(file, text);
    }
    return text;
  }
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
