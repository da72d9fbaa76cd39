import type { SerialStep } from './types.js';

/**
 * Splits a play's hosts into batches as Ansible's `serial` does: each step is a count or a
 * percentage of all the play's hosts (rounded down, at least 1); the last step repeats until
 * every host is in a batch, and the last batch takes what is left.
 */
export function splitBatches<T>(hosts: readonly T[], serial: readonly SerialStep[]): T[][] {
  const batches: T[][] = [];
  let start = 0;
  for (const size of batchSizes(hosts.length, serial)) {
    batches.push(hosts.slice(start, start + size));
    start += size;
  }
  return batches;
}

/**
 * The batch sizes `serial` gives for `total` hosts, in order; they add up to `total`. The
 * runner fills each batch only when it starts, so a play's `order` can pick its hosts afresh.
 */
export function batchSizes(total: number, serial: readonly SerialStep[]): number[] {
  if (total <= 0) return [];
  if (serial.length === 0) return [total];
  const steps = serial.map((step) =>
    Math.max(1, typeof step === 'number' ? step : Math.floor((total * step.percent) / 100)),
  );
  const sizes: number[] = [];
  let left = total;
  for (let i = 0; left > 0; i++) {
    const size = Math.min(left, steps[Math.min(i, steps.length - 1)] as number);
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/**
 * One `serial` value as written or as a template rendered it: a count (`2`, `"2"`), a
 * percentage (`"25%"`), or a list of those. Returns the steps, or a message saying what is wrong.
 */
export function parseSerial(value: unknown): SerialStep[] | string {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) return 'an empty list';
  const steps: SerialStep[] = [];
  for (const step of list) {
    const text = typeof step === 'number' ? String(step) : typeof step === 'string' ? step.trim() : undefined;
    if (text !== undefined && /^[0-9]+$/.test(text) && Number(text) >= 1) {
      steps.push(Number(text));
    } else if (text !== undefined && /^[0-9]+(\.[0-9]+)?%$/.test(text)) {
      const percent = Number(text.slice(0, -1));
      if (!(percent > 0 && percent <= 100))
        return `"${text}": a percentage must be above 0% and at most 100%`;
      steps.push({ percent });
    } else {
      return `${JSON.stringify(step)}: expected a count of at least 1 or a percentage like "25%"`;
    }
  }
  return steps;
}
