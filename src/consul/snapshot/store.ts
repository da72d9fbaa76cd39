import { mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { besideInventory } from '../../paths.js';
import { replacePrivateFile, syncedTempBeside } from '../../util/private-file.js';
import { readSnapshotArchive, sha256Hex, SnapshotArchiveError, type SnapshotArchive } from './archive.js';

/**
 * Where drover keeps the snapshots it takes, and how it names them: one folder beside the
 * inventory (mode 0700; a snapshot holds every ACL token and KV secret of the cluster, so each
 * file is 0600), one file per snapshot named after what a restore must know before it sends
 * one back, and beside each its sha256 in `sha256sum -c` form:
 *
 *     inventories/prod.snapshots/consul-dc1-1.20.1-4821-20261208T013000Z.snap
 *     inventories/prod.snapshots/consul-dc1-1.20.1-4821-20261208T013000Z.snap.sha256
 *
 * The Consul version is the leader's when it was taken: a snapshot may only go back into
 * servers at least that new (an older server's state machine refuses or panics on entries it
 * does not know).
 */

export interface SnapshotName {
  datacenter: string;
  /** The leader's Consul version when it was taken. */
  version: string;
  /** The raft index it was taken at (X-Consul-Index). */
  index: number;
  takenAt: Date;
}

export interface KeptSnapshot extends SnapshotName {
  file: string;
  sha256: string;
}

const SUFFIX = '.snap';
const NAME = /^consul-(.+?)-(\d+\.\d+\.\d+\S*?)-(\d+)-(\d{8}T\d{6}Z)\.snap$/;

/** `inventories/prod.yaml` -> `inventories/prod.snapshots`; `consul_snapshot_dir` relative to the inventory. */
export function snapshotDir(inventoryFile: string, configured?: string): string {
  if (configured && configured !== '')
    return isAbsolute(configured) ? configured : resolve(dirname(inventoryFile), configured);
  return besideInventory(inventoryFile, '.snapshots');
}

export function snapshotFileName(n: SnapshotName): string {
  const stamp = n.takenAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `consul-${n.datacenter}-${n.version}-${n.index}-${stamp}${SUFFIX}`;
}

/** What a snapshot's file name says; undefined for a name drover did not give. */
export function parseSnapshotFileName(file: string): SnapshotName | undefined {
  const m = NAME.exec(basename(file));
  if (!m) return undefined;
  const [, datacenter, version, index, stamp] = m as unknown as [string, string, string, string, string];
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  return { datacenter, version, index: Number(index), takenAt: new Date(iso) };
}

/**
 * Keeps a snapshot as `consul snapshot save` does: the bytes go to `NAME.unverified` (on disk,
 * 0600), are read back and checked as a restore would check them, and only then take the
 * name; then the checksum file. A run cut short leaves no file under a snapshot's name that
 * would not restore.
 */
export async function keepSnapshot(dir: string, name: SnapshotName, bytes: Buffer): Promise<KeptSnapshot> {
  await makeSnapshotDir(dir);
  const file = join(dir, snapshotFileName(name));
  const tmp = await syncedTempBeside(`${file}.unverified`, bytes, 0o600);
  try {
    readSnapshotArchive(await readFile(tmp));
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const sha256 = sha256Hex(bytes);
  await replacePrivateFile(`${file}.sha256`, `${sha256}  ${basename(file)}\n`, 0o600);
  return { ...name, file, sha256 };
}

/**
 * The folder, made if missing (0700), but not its parents: a folder whose parent does not exist
 * is a mistyped path, and Node's recursive mkdir never returns on some file systems (/proc).
 */
async function makeSnapshotDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new Error(`cannot make the snapshot folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** The snapshots drover keeps in `dir` (files it named), oldest first. */
export async function listSnapshots(dir: string): Promise<(SnapshotName & { file: string })[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .flatMap((n) => {
      const parsed = parseSnapshotFileName(n);
      return parsed ? [{ ...parsed, file: join(dir, n) }] : [];
    })
    .sort((a, b) => a.takenAt.getTime() - b.takenAt.getTime() || a.index - b.index);
}

/** Removes a datacenter's oldest snapshots (and their checksums) beyond the newest `keep`; returns them. */
export async function pruneSnapshots(dir: string, datacenter: string, keep: number): Promise<string[]> {
  const ofDc = (await listSnapshots(dir)).filter((s) => s.datacenter === datacenter);
  const old = ofDc.slice(0, Math.max(0, ofDc.length - keep)).map((s) => s.file);
  for (const file of old) {
    await unlink(file);
    await unlink(`${file}.sha256`).catch(() => undefined);
  }
  return old;
}

export interface LoadedSnapshot {
  file: string;
  bytes: Buffer;
  archive: SnapshotArchive;
  /** What its name says, when drover named it. */
  name: SnapshotName | undefined;
  sha256: string;
  /** `ok` when a checksum file beside it matches; `none` when there is none. */
  checksum: 'ok' | 'none';
}

/**
 * A snapshot file read and checked before anything uses it: its checksum file (when there is
 * one) must match, and the archive must be one a restore accepts.
 */
export async function loadSnapshot(file: string): Promise<LoadedSnapshot> {
  const bytes = await readFile(file);
  const sha256 = sha256Hex(bytes);
  let listed: string | undefined;
  try {
    listed = (await readFile(`${file}.sha256`, 'utf8')).split(/\s+/, 1)[0];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (listed !== undefined && listed !== sha256)
    throw new SnapshotArchiveError(
      `its sha256 is ${sha256}, but ${basename(file)}.sha256 says ${listed}: the file changed since it was saved`,
    );
  return {
    file,
    bytes,
    archive: readSnapshotArchive(bytes),
    name: parseSnapshotFileName(file),
    sha256,
    checksum: listed === undefined ? 'none' : 'ok',
  };
}
