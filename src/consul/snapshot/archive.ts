import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

/**
 * A Consul snapshot as `GET /v1/snapshot` sends it and `consul snapshot save` stores it
 * (snapshot/archive.go): a gzip'd tar of exactly `meta.json` (raft's SnapshotMeta), `state.bin`
 * (the server state) and `SHA256SUMS` (`<hex>  <name>` per file). drover checks a snapshot the
 * way `snapshot.Verify` does before it keeps one or sends one back: a file that would fail a
 * restore is refused here, with Consul's own wording, before any server sees it.
 */

/** raft's SnapshotMeta, as meta.json holds it. */
export interface SnapshotMeta {
  /** `term-index-unixmillis`. */
  id: string;
  index: number;
  term: number;
  /** raft's snapshot format version (1). */
  version: number;
  /** Bytes of state.bin. */
  size: number;
  /** The raft servers of the cluster it was taken from (a restore keeps the target's own). */
  servers: { id: string; address: string }[];
}

export interface SnapshotArchive {
  meta: SnapshotMeta;
  /** state.bin, the server state (Consul's FSM encoding). */
  state: Buffer;
}

/** A file that is not a snapshot Consul would restore; the message is Consul's. */
export class SnapshotArchiveError extends Error {}

const EXPECTED = ['meta.json', 'state.bin'] as const;
const BLOCK = 512;

/** Reads and checks a snapshot; throws SnapshotArchiveError with the text a restore would fail with. */
export function readSnapshotArchive(file: Buffer): SnapshotArchive {
  let tar: Buffer;
  try {
    tar = gunzipSync(file);
  } catch (err) {
    throw new SnapshotArchiveError(`failed to decompress snapshot: ${gzipReason(err)}`);
  }
  const entries = new Map<string, Buffer>();
  let sums: Buffer | undefined;
  try {
    for (const { name, data } of tarEntries(tar)) {
      if (name === 'SHA256SUMS') sums = data;
      else if ((EXPECTED as readonly string[]).includes(name)) entries.set(name, data);
      else throw new SnapshotArchiveError(`unexpected file ${JSON.stringify(name)} in snapshot`);
    }
    const metaBytes = entries.get('meta.json');
    const meta = metaBytes ? parseMeta(metaBytes) : undefined;
    verifySums(sums ?? Buffer.alloc(0), entries);
    const state = entries.get('state.bin') ?? Buffer.alloc(0);
    if (!meta) throw new SnapshotArchiveError('file missing for "meta.json"');
    if (meta.size !== state.length)
      throw new SnapshotArchiveError(
        `failed to write snapshot, size didn't match (${state.length} != ${meta.size})`,
      );
    return { meta, state };
  } catch (err) {
    if (err instanceof SnapshotArchiveError)
      throw new SnapshotArchiveError(`failed to read snapshot file: ${err.message}`);
    throw err;
  }
}

/** The sha256 of a whole file, hex, as `sha256sum` prints it. */
export const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Go's gzip errors for what Node's zlib reports. */
function gzipReason(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'Z_DATA_ERROR') return 'gzip: invalid header';
  if (code === 'Z_BUF_ERROR') return 'unexpected EOF';
  return err instanceof Error ? err.message : String(err);
}

/** A ustar archive's regular files, in order (what Go's archive/tar writer makes for short names). */
function* tarEntries(tar: Buffer): Generator<{ name: string; data: Buffer }> {
  let at = 0;
  while (at + BLOCK <= tar.length) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) return;
    if (!checksumMatches(header))
      throw new SnapshotArchiveError('failed reading snapshot: archive/tar: invalid tar header');
    const prefix = cString(header.subarray(345, 500));
    const base = cString(header.subarray(0, 100));
    const name = prefix ? `${prefix}/${base}` : base;
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] ?? 0);
    at += BLOCK;
    if (size === undefined || at + size > tar.length)
      throw new SnapshotArchiveError('failed reading snapshot: unexpected EOF');
    const data = tar.subarray(at, at + size);
    at += Math.ceil(size / BLOCK) * BLOCK;
    // Regular files only ('0' or NUL); anything else is a file Consul's reader would not expect.
    if (type !== '0' && type !== '\0')
      throw new SnapshotArchiveError(`unexpected file ${JSON.stringify(name)} in snapshot`);
    yield { name, data };
  }
  throw new SnapshotArchiveError('failed reading snapshot: unexpected EOF');
}

function checksumMatches(header: Buffer): boolean {
  const stored = octal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  return stored === sum;
}

const cString = (b: Buffer): string => {
  const end = b.indexOf(0);
  return b.subarray(0, end === -1 ? b.length : end).toString('utf8');
};

function octal(b: Buffer): number | undefined {
  const text = cString(b).trim();
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

function parseMeta(bytes: Buffer): SnapshotMeta {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new SnapshotArchiveError(`failed to decode snapshot metadata: ${(err as Error).message}`);
  }
  const o = (v ?? {}) as Record<string, unknown>;
  const num = (k: string): number => {
    const n = o[k];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      throw new SnapshotArchiveError(`failed to decode snapshot metadata: ${k} is not a count`);
    return n;
  };
  const conf = (o['Configuration'] ?? {}) as { Servers?: unknown };
  const servers = Array.isArray(conf.Servers)
    ? conf.Servers.map((s) => {
        const r = (s ?? {}) as Record<string, unknown>;
        return { id: String(r['ID'] ?? ''), address: String(r['Address'] ?? '') };
      })
    : [];
  return {
    id: typeof o['ID'] === 'string' ? o['ID'] : '',
    index: num('Index'),
    term: num('Term'),
    version: num('Version'),
    size: num('Size'),
    servers,
  };
}

/** hashList.DecodeAndVerify: every listed hash matches, and every file has one. */
function verifySums(sums: Buffer, entries: Map<string, Buffer>): void {
  const seen = new Set<string>();
  for (const line of sums.toString('utf8').split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (!m) throw new SnapshotArchiveError('failed checking integrity of snapshot: unexpected EOF');
    const [, hex, file] = m as unknown as [string, string, string];
    if (!(EXPECTED as readonly string[]).includes(file))
      throw new SnapshotArchiveError(
        `failed checking integrity of snapshot: list missing hash for ${JSON.stringify(file)}`,
      );
    if (hex !== sha256Hex(entries.get(file) ?? Buffer.alloc(0)))
      throw new SnapshotArchiveError(
        `failed checking integrity of snapshot: hash check failed for ${JSON.stringify(file)}`,
      );
    seen.add(file);
  }
  for (const file of EXPECTED)
    if (!seen.has(file))
      throw new SnapshotArchiveError(
        `failed checking integrity of snapshot: file missing for ${JSON.stringify(file)}`,
      );
}
