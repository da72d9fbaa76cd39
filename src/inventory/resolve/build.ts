import type { Group, Host, Vars } from '../types.js';
import type { Findings } from './findings.js';
import { location } from './locate.js';
import type { Chain, ResolvedChain, Walk } from './model.js';
import { ownWritten, pathOf } from './written.js';

const NO_VARS: Vars = Object.freeze({});

/** The fourth stage's groups: each with its hosts in inventory order, and the implicit `ungrouped`. */
export function buildGroups(
  { groups, hosts }: Walk,
  membersOf: (group: string) => Set<string>,
): Map<string, Group> {
  const ungrouped = [...hosts.values()].filter((h) => h.chain.groups.length <= 1).map((h) => h.name);
  const hostOrder = (a: string, b: string) => (hosts.get(a)?.order ?? 0) - (hosts.get(b)?.order ?? 0);
  const inOrder = (names: string[]): string[] => {
    for (let i = 1; i < names.length; i++) {
      if (hostOrder(names[i - 1] as string, names[i] as string) > 0) return names.sort(hostOrder);
    }
    return names;
  };

  const out = new Map<string, Group>();
  for (const g of groups.values()) {
    const isAll = g.name === 'all';
    out.set(g.name, {
      name: g.name,
      // Its group_vars/ files over what the inventory files say, as a host in it gets them.
      vars: g.folder ? { ...g.vars, ...g.folder.vars } : g.vars,
      children: isAll ? ['ungrouped', ...g.children] : g.children,
      directHosts: g.directHosts,
      // Only a group with children needs its members gathered (as a set: a host may be in several).
      hosts: inOrder(
        isAll ? [...hosts.keys()] : g.children.length === 0 ? [...g.directHosts] : [...membersOf(g.name)],
      ),
      origin: location(g.firstSrc, g.firstPath),
    });
    if (isAll) {
      out.set('ungrouped', {
        name: 'ungrouped',
        vars: {},
        children: [],
        directHosts: ungrouped,
        hosts: ungrouped,
      });
    }
  }
  return out;
}

/**
 * The fourth stage's hosts: group vars by precedence, then the host's own (its inventory entries,
 * then its host_vars/ files), then what drover sets (`inventory_hostname`, `bind_addr` defaulting
 * to `address`). A host without an address is a problem and left out, but for a host of a range
 * (`web[01:20].example.com`), whose address is then its name.
 */
export function buildHosts(
  { hosts }: Walk,
  resolveChain: (chain: Chain) => ResolvedChain,
  findings: Findings,
): Map<string, Host> {
  // Same-depth overrides are legal but easy to get wrong; warn once per (groups, var).
  const warned = new Set<string>();
  const out = new Map<string, Host>();
  for (const host of hosts.values()) {
    const chain = resolveChain(host.chain);
    for (const o of chain.overrides) {
      if (ownWritten(host, o.key) || warned.has(o.id)) continue;
      warned.add(o.id);
      findings.warn(
        o.won.src,
        pathOf(o.won),
        `group "${o.winner.name}" overrides ${o.key} from group "${o.prev.name}" for host "${host.name}" ` +
          `only because it comes later in ${o.won.src === o.prev.firstSrc && o.won.src === o.winner.firstSrc ? 'the file' : 'the inventory'} (both are at the same depth)`,
      );
    }
    // Copied key by key: every host's vars then share one hidden class (a spread gave each its own).
    const vars: Vars = {};
    for (const key in chain.vars) vars[key] = chain.vars[key];
    for (const key in host.vars) vars[key] = host.vars[key];
    if (host.folder) for (const key in host.folder.vars) vars[key] = host.folder.vars[key];
    host.vars = NO_VARS;
    vars['inventory_hostname'] = host.name;

    let address = vars['address'];
    if (address === undefined && host.fromRange) vars['address'] = address = host.name;
    if (typeof address !== 'string') {
      findings.problem(host.firstSrc, host.firstPath, 'missing required key "address"');
      continue;
    }
    if (vars['bind_addr'] === undefined) vars['bind_addr'] = address;
    out.set(host.name, {
      name: host.name,
      address,
      groups: chain.groupNames,
      vars,
      origin: location(host.firstSrc, host.firstPath),
    });
  }
  return out;
}
