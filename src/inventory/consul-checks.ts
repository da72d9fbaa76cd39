import type { ConfigProblem, SourceLocation } from '../errors.js';
import type { Inventory } from './types.js';

export interface ConsulInventoryReport {
  /** The inventory cannot describe a working Consul cluster; nothing should be deployed. */
  errors: ConfigProblem[];
  /** It works, but is weaker than it looks (e.g. an even number of servers). */
  warnings: ConfigProblem[];
}

/**
 * Checks that an inventory describes a sane Consul cluster: servers in `servers`, clients in
 * `clients`. Pure; run by the consul commands after loadInventory, which knows nothing of Consul.
 */
export function checkConsulInventory(inv: Inventory): ConsulInventoryReport {
  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const at = (origin: SourceLocation | undefined, message: string): ConfigProblem => ({
    ...(origin ?? { file: inv.file }),
    message,
  });

  const servers = inv.groups.get('servers');
  if (!servers) {
    errors.push(at(undefined, 'no "servers" group: a Consul cluster needs servers (3 or 5)'));
    return { errors, warnings };
  }
  if (servers.hosts.length === 0) {
    errors.push(
      at(servers.origin, 'the "servers" group has no hosts: a Consul cluster needs servers (3 or 5)'),
    );
    return { errors, warnings };
  }
  // Quorum and bootstrap_expect are per datacenter: one inventory may describe several.
  const byDc = serversByDatacenter(inv, servers.hosts);
  for (const [dc, hosts] of byDc) {
    const n = hosts.length;
    const where = byDc.size > 1 ? `datacenter "${dc}": ` : '';
    if (n === 1) {
      warnings.push(
        at(
          servers.origin,
          `${where}1 server tolerates no failure; use 3 or 5 servers for anything that matters`,
        ),
      );
    } else if (n % 2 === 0) {
      // Quorum is floor(n/2)+1, so n and n-1 servers survive the same number of failures.
      warnings.push(
        at(
          servers.origin,
          `${where}${n} servers tolerate no more failures than ${n - 1}; use ${n - 1} or ${n + 1} servers`,
        ),
      );
    }
  }

  // A client joins the servers of its own datacenter; with none it could never join.
  const clientDcs = serversByDatacenter(inv, inv.groups.get('clients')?.hosts ?? []);
  for (const [dc, hosts] of clientDcs) {
    if (byDc.has(dc)) continue;
    const named = dc === '(default)' ? 'that sets no consul_datacenter' : `"${dc}"`;
    errors.push(
      at(
        inv.hosts.get(hosts[0] as string)?.origin,
        `client${hosts.length === 1 ? '' : 's'} ${hosts.map((h) => `"${h}"`).join(', ')} in datacenter ${named}, ` +
          `which has no server: set consul_datacenter the same on a datacenter's servers and clients`,
      ),
    );
  }

  const clients = new Set(inv.groups.get('clients')?.hosts ?? []);
  for (const name of servers.hosts) {
    if (clients.has(name)) {
      errors.push(
        at(
          inv.hosts.get(name)?.origin,
          `host "${name}" is in both "servers" and "clients": a Consul agent is either a server or a client`,
        ),
      );
    }
  }

  // bootstrap_expect must equal the server count of the datacenter: too high and it never elects
  // a leader; too low and two halves can bootstrap separate clusters.
  for (const [dc, hosts] of byDc) {
    const n = hosts.length;
    const reported = new Set<unknown>();
    for (const name of hosts) {
      const expect = inv.hosts.get(name)?.vars['consul_bootstrap_expect'];
      if (expect === undefined || expect === n || reported.has(expect)) continue;
      reported.add(expect);
      const count = byDc.size > 1 ? `${n} servers in datacenter "${dc}"` : `${n} servers`;
      errors.push(
        at(
          servers.origin,
          `consul_bootstrap_expect is ${String(expect)} for host "${name}" but there are ${count}; ` +
            `set it to ${n} or remove it`,
        ),
      );
    }
  }
  return { errors, warnings };
}

/**
 * Hosts grouped by their `consul_datacenter` inventory var, in inventory order. Hosts that do
 * not set it share one datacenter (the playbook's default), so older inventories are one group.
 */
export function serversByDatacenter(inv: Inventory, hosts: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of hosts) {
    const dc = inv.hosts.get(name)?.vars['consul_datacenter'];
    const key = typeof dc === 'string' && dc !== '' ? dc : '(default)';
    const list = out.get(key);
    if (list) list.push(name);
    else out.set(key, [name]);
  }
  return out;
}

/**
 * The inventory with an empty `clients` group when it has none: a cluster of servers only is a
 * legitimate Consul cluster, and the Consul playbooks' `servers:clients` must not fail on it as
 * an unknown name would (docs/inventory.md: an empty group is not an error). `servers` is never
 * added: a Consul inventory without it is refused by checkConsulInventory.
 */
export function withConsulRoleGroups(inv: Inventory): Inventory {
  if (inv.groups.has('clients')) return inv;
  const groups = new Map(inv.groups);
  groups.set('clients', { name: 'clients', vars: {}, children: [], directHosts: [], hosts: [] });
  return { ...inv, groups };
}
