import type { Host } from '../types.js';
import type { Findings } from './findings.js';
import type { Walk } from './model.js';
import { ownWritten, pathOf } from './written.js';

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
      if (!acc) continue;
      const written = ownWritten(acc, 'address');
      const message = `address ${host.address} is also the address of host "${other}"`;
      if (written) findings.problem(written.src, pathOf(written), message);
      else findings.problem(acc.firstSrc, acc.firstPath, message);
    } else byAddress.set(host.address, host.name);
  }
}

/** A name that is both a host and a group is legal, and a pattern then selects both. */
export function warnHostGroupNames({ groups, hosts }: Walk, findings: Findings): void {
  for (const [name, acc] of hosts) {
    if (groups.has(name)) {
      findings.warn(
        acc.firstSrc,
        acc.firstPath,
        `"${name}" is both a host and a group; patterns select both`,
      );
    }
  }
}
