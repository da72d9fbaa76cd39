import type { SourceLocation } from '../../errors.js';
import { formatPath, type DocPath } from '../../config/yaml-file.js';
import type { HostAcc, Source } from './model.js';
import { ownWritten, pathOf, writtenVar, type Written } from './written.js';

export function location(src: Source, path: DocPath): SourceLocation {
  // Built whole (no spread): one per host, every one of the same shape.
  const at = src.locate(path);
  const text = src.pathText ? src.pathText(path) : formatPath(path);
  return at
    ? { file: src.file, line: at.line, column: at.column, path: text }
    : { file: src.file, path: text };
}

/**
 * Inventory.locateVar: where the value a host has for `name` was written, by the same
 * precedence as its vars (host_vars/ files, the host's entries, then its groups' winner). It
 * keeps the hosts' accumulators (what they wrote, their chains), and nothing else of the walk.
 */
export function varLocator(
  hosts: ReadonlyMap<string, HostAcc>,
): (host: string, name: string) => SourceLocation | undefined {
  const at = (w: Written): SourceLocation => location(w.src, pathOf(w));
  const locateVar = (host: string, name: string): SourceLocation | undefined => {
    const acc = hosts.get(host);
    if (!acc) return undefined;
    const own = ownWritten(acc, name);
    if (own) return at(own);
    // The groups' layers as chainResolver merged them, the last setter first.
    const chain = acc.chain.resolved?.byPrecedence ?? [];
    for (let i = chain.length - 1; i >= 0; i--) {
      const folder = chain[i]?.folder;
      const w = folder && writtenVar(folder.written, name);
      if (w) return at(w);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const g = chain[i];
      const w = g && writtenVar(g.written, name);
      if (w) return at(w);
    }
    // bind_addr defaults to address (see buildHosts): a bad one was written as the address,
    // and a range's host without one has its name, written where the range is.
    if (name === 'bind_addr') return locateVar(host, 'address');
    return name === 'address' && acc.fromRange ? location(acc.firstSrc, acc.firstPath) : undefined;
  };
  return locateVar;
}
