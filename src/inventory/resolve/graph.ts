import type { Findings } from './findings.js';
import { RESERVED_GROUPS, type GroupAcc, type Walk } from './model.js';

/**
 * The second stage: what the children graph must be for the rest to make sense. Every group
 * named is defined somewhere, there is a host, and no group contains itself. Returns whether the
 * graph is acyclic: depth and membership below assume it.
 */
export function checkGraph({ groups, hosts }: Walk, findings: Findings): boolean {
  for (const group of groups.values()) {
    if (!RESERVED_GROUPS.has(group.name) && !group.defined) {
      findings.problem(
        group.firstSrc,
        group.firstPath,
        `unknown group "${group.name}": it is listed as a child but never defined ` +
          '(give it hosts, vars or children somewhere; write "hosts: {}" for a group that is empty on purpose)',
      );
    }
  }
  const all = groups.get('all');
  if (hosts.size === 0 && all) findings.problem(all.firstSrc, ['all'], 'the inventory has no hosts');
  return !findCycles(groups, findings);
}

/** Reports each cycle in the children graph once, at the edge that closes it. */
function findCycles(groups: ReadonlyMap<string, GroupAcc>, findings: Findings): boolean {
  const state = new Map<string, 'visiting' | 'done'>();
  let found = false;
  const visit = (name: string, stack: string[]) => {
    state.set(name, 'visiting');
    const g = groups.get(name);
    const path = [...stack, name];
    for (const child of g?.children ?? []) {
      const s = state.get(child);
      if (s === 'visiting') {
        found = true;
        const loop = [...path.slice(path.indexOf(child)), child];
        const place = g?.childPlaces.get(child);
        if (place)
          findings.problem(place.src, place.path, `group "${child}" contains itself (${loop.join(' > ')})`);
      } else if (s === undefined) visit(child, path);
    }
    state.set(name, 'done');
  };
  visit('all', []);
  return found;
}

/** A group's depth: its longest distance from `all`. Deeper groups override shallower ones. */
export function depths(groups: ReadonlyMap<string, GroupAcc>): (name: string) => number {
  const parents = new Map<string, string[]>();
  for (const g of groups.values()) {
    for (const c of g.children) {
      const list = parents.get(c);
      if (list) list.push(g.name);
      else parents.set(c, [g.name]);
    }
  }
  const depth = new Map<string, number>();
  const depthOf = (name: string): number => {
    let d = depth.get(name);
    if (d === undefined) {
      d = Math.max(-1, ...(parents.get(name) ?? []).map(depthOf)) + 1;
      depth.set(name, d);
    }
    return d;
  };
  return depthOf;
}

/** A group's hosts, its own and its descendants', in inventory (first-mention) order. */
export function memberships(groups: ReadonlyMap<string, GroupAcc>): (name: string) => Set<string> {
  const members = new Map<string, Set<string>>();
  const membersOf = (name: string): Set<string> => {
    let set = members.get(name);
    if (!set) {
      const g = groups.get(name);
      set = new Set(g?.directHosts ?? []);
      for (const c of g?.children ?? []) for (const h of membersOf(c)) set.add(h);
      members.set(name, set);
    }
    return set;
  };
  return membersOf;
}
