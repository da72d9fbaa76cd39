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
  const n = servers.hosts.length;
  if (n === 0) {
    errors.push(
      at(servers.origin, 'the "servers" group has no hosts: a Consul cluster needs servers (3 or 5)'),
    );
    return { errors, warnings };
  }
  if (n === 1) {
    warnings.push(
      at(servers.origin, '1 server tolerates no failure; use 3 or 5 servers for anything that matters'),
    );
  } else if (n % 2 === 0) {
    // Quorum is floor(n/2)+1, so n and n-1 servers survive the same number of failures.
    warnings.push(
      at(
        servers.origin,
        `${n} servers tolerate no more failures than ${n - 1}; use ${n - 1} or ${n + 1} servers`,
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

  // bootstrap_expect must equal the server count: too high and the cluster never elects a
  // leader; too low and two halves can bootstrap separate clusters.
  const reported = new Set<unknown>();
  for (const name of servers.hosts) {
    const expect = inv.hosts.get(name)?.vars['consul_bootstrap_expect'];
    if (expect === undefined || expect === n || reported.has(expect)) continue;
    reported.add(expect);
    errors.push(
      at(
        servers.origin,
        `consul_bootstrap_expect is ${String(expect)} for host "${name}" but there are ${n} servers; ` +
          `set it to ${n} or remove it`,
      ),
    );
  }
  return { errors, warnings };
}
