import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * OpenSSH known_hosts, enough to check host keys strictly: plain and `[host]:port` names,
 * comma-separated patterns with `*`, `?` and `!negation`, hashed `|1|salt|hash` names, and the
 * `@revoked` marker. `@cert-authority` lines are skipped (drover does not do host certificates).
 */
export interface KnownHostEntry {
  /** 1-based line in the file, for messages. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns, or a hashed name. */
  hosts: { kind: 'patterns'; patterns: string[] } | { kind: 'hashed'; salt: Buffer; hash: Buffer };
  /** e.g. `ssh-ed25519`. */
  keyType: string;
  /** Base64 of the key blob. */
  key: string;
}

/** Name OpenSSH looks up: `host` on port 22, `[host]:port` elsewhere. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: OpenSSH ignores the line too
    }
    const [names, keyType, key] = fields;
    if (!names || !keyType || !key) return;
    const hashed = /^\|1\|([^|]+)\|([^|]+)$/.exec(names);
    entries.push({
      line: i + 1,
      ...(marker && { marker }),
      hosts: hashed
        ? {
            kind: 'hashed',
            salt: Buffer.from(hashed[1] ?? '', 'base64'),
            hash: Buffer.from(hashed[2] ?? '', 'base64'),
          }
        : { kind: 'patterns', patterns: names.split(',') },
      keyType,
      key,
    });
  });
  return entries;
}

export function entryMatchesHost(entry: KnownHostEntry, name: string): boolean {
  if (entry.hosts.kind === 'hashed') {
    const digest = createHmac('sha1', entry.hosts.salt).update(name).digest();
    return digest.length === entry.hosts.hash.length && timingSafeEqual(digest, entry.hosts.hash);
  }
  let matched = false;
  for (const pattern of entry.hosts.patterns) {
    const negated = pattern.startsWith('!');
    if (globMatch(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false; // a matching negation wins over any positive match
      matched = true;
    }
  }
  return matched;
}

function globMatch(pattern: string, name: string): boolean {
  // Most entries are plain names: no RegExp to build (a connection checks every line of the file).
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern.toLowerCase() === name.toLowerCase();
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

export type HostKeyVerdict =
  | { status: 'known'; line: number }
  | { status: 'unknown' }
  /** The host is listed with a key of this type, but a different one: possible interception. */
  | { status: 'changed'; line: number }
  /** The host is listed only with keys of other types; accepting this one would be a downgrade path. */
  | { status: 'other-type'; line: number; knownTypes: string[] }
  | { status: 'revoked'; line: number };

/** Checks a presented key (type + base64 blob) against the entries for `name`. */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  name: string,
  keyType: string,
  key: string,
): HostKeyVerdict {
  const forHost = entries.filter((e) => e.marker !== 'cert-authority' && entryMatchesHost(e, name));
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key === key);
  if (revoked) return { status: 'revoked', line: revoked.line };
  const plain = forHost.filter((e) => e.marker === undefined);
  const exact = plain.find((e) => e.keyType === keyType && e.key === key);
  if (exact) return { status: 'known', line: exact.line };
  const sameType = plain.find((e) => e.keyType === keyType);
  if (sameType) return { status: 'changed', line: sameType.line };
  const first = plain[0];
  if (first)
    return { status: 'other-type', line: first.line, knownTypes: [...new Set(plain.map((e) => e.keyType))] };
  return { status: 'unknown' };
}

/** Key types known for `name`, so the client can ask the server for one of those first. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  return [
    ...new Set(
      entries.filter((e) => e.marker === undefined && entryMatchesHost(e, name)).map((e) => e.keyType),
    ),
  ];
}

/** The key type inside an SSH public key blob: its first length-prefixed string. */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/**
 * Parsed files by path, with the stat they were read at: a run that connects to many hosts reads
 * and parses the file once, and a file changed on disk (or by appendKnownHost) is read again.
 */
const parsed = new Map<string, { stamp: string; entries: Promise<KnownHostEntry[]> }>();

export async function loadKnownHosts(path: string): Promise<KnownHostEntry[]> {
  try {
    const st = await stat(path);
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const cached = parsed.get(path);
    if (cached?.stamp === stamp) return await cached.entries;
    const entries = readFile(path, 'utf8').then(parseKnownHosts);
    parsed.set(path, { stamp, entries });
    entries.catch(() => parsed.delete(path));
    return await entries;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Appends `name keyType key`, making sure it starts on a line of its own. */
export async function appendKnownHost(
  path: string,
  name: string,
  keyType: string,
  key: string,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const current = await readFile(path, 'utf8');
    if (current.length > 0 && !current.endsWith('\n')) prefix = '\n';
  } catch {
    // A missing file is created by appendFile.
  }
  await appendFile(path, `${prefix}${name} ${keyType} ${key}\n`, { mode: 0o600 });
}
