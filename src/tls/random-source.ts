import { randomBytes } from 'node:crypto';

/** Where serial numbers come from; tests pass a fixed one to get the same certificate names. */
export type RandomSource = (length: number) => Uint8Array;

export const systemRandom: RandomSource = (length) => randomBytes(length);

/**
 * A random 128-bit serial as hex, like Consul's `rand.Int(2^128)`. The library encodes it as a
 * positive DER integer (a leading zero byte when the top bit is set), so all 128 bits are kept.
 */
export function serialNumberHex(random: RandomSource): string {
  return Buffer.from(random(16)).toString('hex');
}
