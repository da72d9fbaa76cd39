import type { DocPath } from '../../config/yaml-file.js';
import { isPlainObject } from '../var-values.js';
import type { Source } from './model.js';

/** A var as written, kept to compare repeated definitions and to locate problems. */
export interface Written {
  raw: unknown;
  /** The mapping it was written in (a host entry or a group's `vars`) and its key there. */
  parent: DocPath;
  key: string;
  /** The file it was written in. */
  src: Source;
}

export const pathOf = (w: Written): DocPath => extended(w.parent, w.key);

/**
 * `path` and one or two more segments, in an array of exactly that length: a big inventory keeps
 * one per host, and both a spread (which leaves room to grow) and concat (generic, slow) cost
 * several times as much.
 */
export function extended(path: DocPath, a: string, b?: string): DocPath {
  const n = path.length;
  const out = new Array<string | number>(b === undefined ? n + 1 : n + 2);
  for (let i = 0; i < n; i++) out[i] = path[i] as string | number;
  out[n] = a;
  if (b !== undefined) out[n + 1] = b;
  return out;
}

/**
 * Vars as written, by name: a plain object rather than a Map or a prototype-less object (both
 * kept as hash tables, several times the memory), as a big inventory keeps one per host. Read
 * it with `writtenVar`, which does not see Object.prototype's names.
 */
export type WrittenVars = Record<string, Written>;
export const writtenVars = (): WrittenVars => ({});
export const writtenVar = (w: WrittenVars, name: string): Written | undefined =>
  Object.prototype.hasOwnProperty.call(w, name) ? w[name] : undefined;

/** Where a host's own value of `name` was written: its host_vars/ files over its inventory entries. */
export const ownWritten = (
  acc: { written: WrittenVars; folder: { written: WrittenVars } | undefined },
  name: string,
): Written | undefined =>
  (acc.folder && writtenVar(acc.folder.written, name)) || writtenVar(acc.written, name);

/** Structural equality of YAML values; mapping key order does not matter. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameValue(a[k], b[k]));
  }
  return false;
}
