import { randomBytes } from 'node:crypto';

/**
 * Consul's gossip encryption key: 32 random bytes, base64 (what `consul keygen` prints). Consul
 * also accepts 16- and 24-byte keys (AES-128/192), so those validate too.
 */
export function generateGossipKey(): string {
  return randomBytes(32).toString('base64');
}

/** True for a base64 string of 16, 24 or 32 bytes. Never echoes the value in messages. */
export function isValidGossipKey(key: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0) return false;
  const bytes = Buffer.from(key, 'base64');
  return [16, 24, 32].includes(bytes.length) && bytes.toString('base64') === key;
}

/**
 * The keys in an agent's `data_dir/serf/local.keyring`: a JSON list of base64 keys, the primary
 * (the one that encrypts) first. Undefined when the text is not such a list.
 */
export function parseKeyringFile(text: string): string[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || !value.every((k) => typeof k === 'string')) return undefined;
  return value as string[];
}

/** Where a wanted key stands against an agent's keyring. */
export type KeyringStanding =
  /** No keyring yet: the agent takes the configured key on its first start. */
  | 'new'
  /** The wanted key is the agent's primary key: nothing to do. */
  | 'primary'
  /** Installed but not primary: a rotation was left half done. */
  | 'installed'
  /** Not in the keyring: Consul would ignore the configured key. */
  | 'foreign'
  /** The agent has a keyring, but no key is wanted (encryption cannot be turned off by config). */
  | 'unwanted'
  /** No keyring and no key: gossip is not encrypted. */
  | 'off';

export function keyringStanding(
  keyring: readonly string[] | undefined,
  wanted: string | undefined,
): KeyringStanding {
  const ring = keyring && keyring.length > 0 ? keyring : undefined;
  if (!ring) return wanted ? 'new' : 'off';
  if (!wanted) return 'unwanted';
  if (ring[0] === wanted) return 'primary';
  return ring.includes(wanted) ? 'installed' : 'foreign';
}
