import type { Vars } from '../types.js';
import type { Chain, GroupAcc, HostAcc, ResolvedChain, Walk } from './model.js';
import { sameValue, writtenVar } from './written.js';

/**
 * The third stage: moves every host along the chain of the groups it is in, from one pass over
 * the groups' members in file order.
 */
export function assignChains({ groups, hosts }: Walk, membersOf: (group: string) => Set<string>): void {
  const step = (acc: HostAcc, g: GroupAcc) => {
    let next = acc.chain.next.get(g);
    if (!next) {
      next = { groups: [...acc.chain.groups, g], next: new Map() };
      acc.chain.next.set(g, next);
    }
    acc.chain = next;
  };
  for (const g of groups.values()) {
    if (g.name === 'all') for (const acc of hosts.values()) step(acc, g);
    else if (g.children.length === 0) for (const acc of g.directAccs) step(acc, g);
    else {
      for (const h of membersOf(g.name)) {
        const acc = hosts.get(h);
        if (acc) step(acc, g);
      }
    }
  }
}

/**
 * A chain's precedence order and merged vars, worked out on first use and kept on the chain.
 * Between groups at the same depth the later in the file wins: an override, warned about when
 * the values differ.
 */
export function chainResolver(depthOf: (group: string) => number): (chain: Chain) => ResolvedChain {
  return (chain) => {
    if (chain.resolved) return chain.resolved;
    const byPrecedence = [...chain.groups].sort(
      (a, b) => depthOf(a.name) - depthOf(b.name) || a.order - b.order,
    );
    const vars: Vars = {};
    const setters = new Map<string, GroupAcc[]>();
    for (const g of byPrecedence) {
      for (const key in g.written) {
        const list = setters.get(key);
        if (list) list.push(g);
        else setters.set(key, [g]);
        vars[key] = g.vars[key];
      }
    }
    const overrides: ResolvedChain['overrides'] = [];
    for (const [key, list] of setters) {
      const [prev, winner] = list.slice(-2);
      if (!prev || !winner || depthOf(prev.name) !== depthOf(winner.name)) continue;
      if (sameValue(writtenVar(prev.written, key)?.raw, writtenVar(winner.written, key)?.raw)) continue;
      overrides.push({ key, prev, winner, id: `${prev.name}|${winner.name}|${key}` });
    }
    const groupNames = chain.groups.map((g) => g.name);
    // Ansible's implicit group: hosts that belong to no group but `all`.
    if (chain.groups.length <= 1) groupNames.splice(1, 0, 'ungrouped');
    chain.resolved = { byPrecedence, vars, overrides, groupNames };
    return chain.resolved;
  };
}
