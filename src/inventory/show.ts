import { UsageError } from '../errors.js';
import { redactSecrets } from '../shell/secret.js';
import type { Inventory } from './types.js';

/** One group in `drover inventory --list`; empty keys are left out, as Ansible does. */
export interface GroupListing {
  hosts?: string[];
  children?: string[];
}

/** The shape of `ansible-inventory --list`: `_meta.hostvars` plus one entry per group. */
export interface InventoryListing {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: GroupListing | { hostvars: Record<string, Record<string, unknown>> };
}

/**
 * `drover inventory --list`: a JSON-able object like `ansible-inventory --list`. Every secret is
 * the string `<redacted>` here, so the result is safe to print or serialise by any means.
 * Hostvars are the merged vars (with inventory_hostname and bind_addr), keys sorted.
 */
export function inventoryList(inv: Inventory): InventoryListing {
  const hostvars: Record<string, Record<string, unknown>> = {};
  for (const host of inv.hosts.values()) {
    hostvars[host.name] = Object.fromEntries(
      Object.keys(host.vars)
        .sort()
        .map((k) => [k, redactSecrets(host.vars[k])]),
    );
  }
  const out: InventoryListing = { _meta: { hostvars } };
  for (const group of inv.groups.values()) {
    const entry: GroupListing = {};
    // `all` lists no hosts: Ansible shows them through their groups and `ungrouped`.
    if (group.name !== 'all' && group.directHosts.length > 0) entry.hosts = [...group.directHosts];
    if (group.children.length > 0) entry.children = [...group.children];
    if (group.name === 'all' || entry.hosts || entry.children) out[group.name] = entry;
  }
  return out;
}

/**
 * `drover inventory --graph [group]`: the tree `ansible-inventory --graph` prints, children before
 * hosts, both in inventory order (as current Ansible does):
 *
 *   @all:
 *     |--@ungrouped:
 *     |--@servers:
 *     |  |--s1
 */
export function inventoryGraph(inv: Inventory, start = 'all'): string {
  if (!inv.groups.has(start)) throw new UsageError(`no group "${start}" in ${inv.file}`);
  const lines: string[] = [];
  const walk = (name: string, depth: number) => {
    lines.push(indent(`@${name}:`, depth));
    const group = inv.groups.get(name);
    for (const child of group?.children ?? []) walk(child, depth + 1);
    if (name !== 'all') for (const host of group?.directHosts ?? []) lines.push(indent(host, depth + 1));
  };
  walk(start, 0);
  return lines.join('\n');
}

const indent = (text: string, depth: number) => (depth > 0 ? `${'  |'.repeat(depth)}--${text}` : text);
