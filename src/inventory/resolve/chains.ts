import type { Vars } from '../types.js';
import type { Chain, GroupAcc, HostAcc, ResolvedChain, Walk } from './model.js';
import { sameValue, type Written, type WrittenVars } from './written.js';

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
 * Ansible's order (its VARIABLE_PRECEDENCE default): the inventory files' group vars, `all`
 * first and deeper groups over shallower, then the group_vars/ files in the same group order
 * over all of them. Between groups at the same depth the later in the inventory wins: an
 * override, warned about when the values differ.
 */
export function chainResolver(depthOf: (group: string) => number): (chain: Chain) => ResolvedChain {
  return (chain) => {
    if (chain.resolved) return chain.resolved;
    const byPrecedence = [...chain.groups].sort(
      (a, b) => depthOf(a.name) - depthOf(b.name) || a.order - b.order,
    );
    const vars: Vars = {};
    // Who set each var, as an index into `setters`: the last one and the one before it (a tie is
    // two groups of one layer at one depth). Numbers, not an object per var: 60k vars are fine.
    const setters: { g: GroupAcc; written: WrittenVars; layer: number }[] = [];
    const last = new Map<string, number>();
    const before = new Map<string, number>();
    const merge = (g: GroupAcc, written: WrittenVars, from: Vars, layer: number) => {
      const slot = setters.push({ g, written, layer }) - 1;
      for (const key in written) {
        const prev = last.get(key);
        if (prev !== undefined) before.set(key, prev);
        last.set(key, slot);
        vars[key] = from[key];
      }
    };
    for (const g of byPrecedence) merge(g, g.written, g.vars, 0);
    for (const g of byPrecedence) if (g.folder) merge(g, g.folder.written, g.folder.vars, 1);
    const overrides: ResolvedChain['overrides'] = [];
    for (const [key, p] of before) {
      const prev = setters[p];
      const winner = setters[last.get(key) as number];
      if (!prev || !winner || prev.layer !== winner.layer) continue;
      if (depthOf(prev.g.name) !== depthOf(winner.g.name)) continue;
      const won = winner.written[key] as Written;
      if (sameValue((prev.written[key] as Written).raw, won.raw)) continue;
      overrides.push({
        key,
        prev: prev.g,
        winner: winner.g,
        won,
        id: `${prev.g.name}|${winner.g.name}|${key}${winner.layer > 0 ? '|group_vars' : ''}`,
      });
    }
    const groupNames = chain.groups.map((g) => g.name);
    // Ansible's implicit group: hosts that belong to no group but `all`.
    if (chain.groups.length <= 1) groupNames.splice(1, 0, 'ungrouped');
    chain.resolved = { byPrecedence, vars, overrides, groupNames };
    return chain.resolved;
  };
}
