import type { RandomSource } from '../../src/tls/random-source.js';

/** Bytes counting up from `start`, so that serial numbers (and the CA's name) are known in advance. */
export function countingRandom(start = 1): RandomSource {
  let next = start;
  return (length) => Uint8Array.from({ length }, () => next++ & 0xff);
}
