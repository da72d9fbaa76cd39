import type { Host } from '../types.js';
import type { Findings } from './findings.js';
import type { Walk } from './model.js';
import { pathOf, writtenVar } from './written.js';

/**
 * The last stage: what is wrong only across hosts. Two inventory hosts on one address would be
 * one machine configured twice (two Consul agents fighting over the same ports and data dir).
 */
export function checkAddresses(built: ReadonlyMap<string, Host>, { hosts }: Walk, findings: Findings): void {
  const byAddress = new Map<string, string>();
  for (const host of built.values()) {
    const other = byAddress.get(host.address);
    if (other !== undefined) {
      const acc = hosts.get(host.name);
      const written = acc ? writtenVar(acc.written, 'address') : undefined;
      findings.problem(
        written ? pathOf(written) : (acc?.firstPath ?? []),
        `address ${host.address} is also the address of host "${other}"`,
      );
    } else byAddress.set(host.address, host.name);
  }
}

/** A name that is both a host and a group is legal, and a pattern then selects both. */
export function warnHostGroupNames({ groups, hosts }: Walk, findings: Findings): void {
  for (const name of hosts.keys()) {
    if (groups.has(name)) {
      findings.warn(
        hosts.get(name)?.firstPath ?? [],
        `"${name}" is both a host and a group; patterns select both`,
      );
    }
  }
}
