import type { SerialStep } from './types.js';

/**
 * Splits a play's hosts into batches as Ansible's `serial` does: each step is a count or a
 * percentage of all the play's hosts (rounded down, at least 1); the last step repeats until
 * every host is in a batch, and the last batch takes what is left.
 */
export function splitBatches<T>(hosts: readonly T[], serial: readonly SerialStep[]): T[][] {
  if (hosts.length === 0) return [];
  if (serial.length === 0) return [[...hosts]];
  const sizes = serial.map((step) =>
    Math.max(1, typeof step === 'number' ? step : Math.floor((hosts.length * step.percent) / 100)),
  );
  const batches: T[][] = [];
  let start = 0;
  for (let i = 0; start < hosts.length; i++) {
    const size = sizes[Math.min(i, sizes.length - 1)] as number;
    batches.push(hosts.slice(start, start + size));
    start += size;
  }
  return batches;
}
