import type { SourceLocation } from '../../errors.js';
import { formatPath, type DocPath, type YamlFile } from '../../config/yaml-file.js';
import type { HostAcc } from './model.js';
import { pathOf, writtenVar, type Written } from './written.js';

export function location(yaml: YamlFile, path: DocPath): SourceLocation {
  // Built whole (no spread): one per host, every one of the same shape.
  const at = yaml.locate(path);
  return at
    ? { file: yaml.file, line: at.line, column: at.column, path: formatPath(path) }
    : { file: yaml.file, path: formatPath(path) };
}

/**
 * Inventory.locateVar: where the value a host has for `name` was written, by the same
 * precedence as its vars. It keeps the hosts' accumulators (what they wrote, their chains), and
 * nothing else of the walk.
 */
export function varLocator(
  hosts: ReadonlyMap<string, HostAcc>,
  file: string,
  locate: YamlFile['locate'],
): (host: string, name: string) => SourceLocation | undefined {
  const at = (w: Written): SourceLocation => {
    const path = pathOf(w);
    return { file, ...locate(path), path: formatPath(path) };
  };
  const locateVar = (host: string, name: string): SourceLocation | undefined => {
    const acc = hosts.get(host);
    if (!acc) return undefined;
    const own = writtenVar(acc.written, name);
    if (own) return at(own);
    const chain = acc.chain.resolved?.byPrecedence ?? [];
    for (let i = chain.length - 1; i >= 0; i--) {
      const g = chain[i];
      const w = g ? writtenVar(g.written, name) : undefined;
      if (w) return at(w);
    }
    // bind_addr defaults to address (see buildHosts): a bad one was written as the address.
    return name === 'bind_addr' ? locateVar(host, 'address') : undefined;
  };
  return locateVar;
}
