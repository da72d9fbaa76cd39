/**
 * Snapshot files as drover checks and keeps them: Consul's archive (gzip'd tar of meta.json,
 * state.bin, SHA256SUMS) refused with a restore's own words when it would not restore, and
 * the store beside the inventory (names, modes, checksums, retention).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { archive, meta, sha, STATE, tar } from './snapshot-fixture.js';
import { readSnapshotArchive, SnapshotArchiveError } from '../../src/consul/snapshot/archive.js';
import {
  keepSnapshot,
  listSnapshots,
  loadSnapshot,
  parseSnapshotFileName,
  pruneSnapshots,
  snapshotDir,
  snapshotFileName,
} from '../../src/consul/snapshot/store.js';

const refusal = (bytes: Buffer): string => {
  try {
    readSnapshotArchive(bytes);
  } catch (err) {
    assert.ok(err instanceof SnapshotArchiveError, String(err));
    return err.message;
  }
  assert.fail('the archive was accepted');
};

describe('snapshot archives', () => {
  it('reads a good one: the raft meta and the state', () => {
    const a = readSnapshotArchive(archive());
    assert.equal(a.meta.index, 42);
    assert.equal(a.meta.term, 2);
    assert.equal(a.meta.id, '2-42-1765155000000');
    assert.deepEqual(a.meta.servers, [{ id: 'a577b288', address: '10.213.0.11:8300' }]);
    assert.deepEqual(a.state, STATE);
  });

  it('refuses what a restore would refuse, in its words', () => {
    assert.equal(
      refusal(Buffer.from('not a snapshot')),
      'failed to decompress snapshot: gzip: invalid header',
    );
    const flipped = Buffer.from(STATE);
    flipped[3] = flipped[3]! ^ 1;
    assert.equal(
      refusal(archive({ state: flipped, meta: meta() })),
      'failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin"',
    );
    assert.equal(
      refusal(archive({ extra: ['notes.txt', Buffer.from('x')] })),
      'failed to read snapshot file: unexpected file "notes.txt" in snapshot',
    );
    assert.equal(
      refusal(archive({ sums: `${sha(meta())}  meta.json\n` })),
      'failed to read snapshot file: failed checking integrity of snapshot: file missing for "state.bin"',
    );
    assert.equal(
      refusal(
        archive({ sums: `${sha(meta())}  meta.json\n${sha(STATE)}  state.bin\n${sha(STATE)}  other\n` }),
      ),
      'failed to read snapshot file: failed checking integrity of snapshot: list missing hash for "other"',
    );
    const badMeta = Buffer.from('{not json');
    assert.match(
      refusal(archive({ meta: badMeta, sums: `${sha(badMeta)}  meta.json\n${sha(STATE)}  state.bin\n` })),
      /^failed to read snapshot file: failed to decode snapshot metadata: /,
    );
    const truncated = gzipSync(tar([['meta.json', meta()]]).subarray(0, 700));
    assert.match(refusal(truncated), /^failed to read snapshot file: failed reading snapshot: /);
  });

  it('refuses a state whose size is not the one its meta gives', () => {
    const m = meta(STATE.length + 1);
    assert.equal(
      refusal(archive({ meta: m, sums: `${sha(m)}  meta.json\n${sha(STATE)}  state.bin\n` })),
      `failed to read snapshot file: failed to write snapshot, size didn't match (${STATE.length} != ${STATE.length + 1})`,
    );
  });
});

describe('the snapshot store beside the inventory', () => {
  const inventory = () => join(mkdtempSync(join(tmpdir(), 'drover-snap-')), 'prod.yaml');

  it('names a snapshot with its datacenter, Consul version, index and time, and reads the name back', () => {
    const name = {
      datacenter: 'eu-west-1',
      version: '1.21.0-rc1',
      index: 4821,
      takenAt: new Date('2026-12-08T01:30:00.123Z'),
    };
    const file = snapshotFileName(name);
    assert.equal(file, 'consul-eu-west-1-1.21.0-rc1-4821-20261208T013000Z.snap');
    assert.deepEqual(parseSnapshotFileName(`/x/${file}`), {
      ...name,
      takenAt: new Date('2026-12-08T01:30:00Z'),
    });
    assert.equal(parseSnapshotFileName('backup.snap'), undefined);
    assert.equal(snapshotDir('/srv/inv/prod.yaml'), '/srv/inv/prod.snapshots');
    assert.equal(snapshotDir('/srv/inv/prod.yaml', 'backups'), '/srv/inv/backups');
    assert.equal(snapshotDir('/srv/inv/prod.yaml', '/var/backups/consul'), '/var/backups/consul');
  });

  it('keeps a checked snapshot 0600 in a 0700 folder, with a sha256sum line beside it', async () => {
    const dir = snapshotDir(inventory());
    const bytes = archive();
    const kept = await keepSnapshot(
      dir,
      { datacenter: 'dc1', version: '1.20.1', index: 42, takenAt: new Date() },
      bytes,
    );
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(kept.file).mode & 0o777, 0o600);
    assert.deepEqual(readFileSync(kept.file), bytes);
    assert.equal(
      readFileSync(`${kept.file}.sha256`, 'utf8'),
      `${sha(bytes)}  ${kept.file.split('/').pop()}\n`,
    );
    assert.deepEqual(
      readdirSync(dir).sort(),
      [kept.file.split('/').pop(), `${kept.file.split('/').pop()}.sha256`].sort(),
      'no .unverified or temp file is left',
    );
    const loaded = await loadSnapshot(kept.file);
    assert.equal(loaded.checksum, 'ok');
    assert.equal(loaded.archive.meta.index, 42);
  });

  it('keeps nothing under a snapshot name that would not restore', async () => {
    const dir = snapshotDir(inventory());
    await assert.rejects(
      keepSnapshot(
        dir,
        { datacenter: 'dc1', version: '1.20.1', index: 42, takenAt: new Date() },
        Buffer.from('<html>proxy error</html>'),
      ),
      /failed to decompress snapshot/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it('refuses a kept file changed since it was saved', async () => {
    const dir = snapshotDir(inventory());
    const kept = await keepSnapshot(
      dir,
      { datacenter: 'dc1', version: '1.20.1', index: 42, takenAt: new Date() },
      archive(),
    );
    writeFileSync(kept.file, archive({ state: Buffer.from(STATE), meta: meta() }).subarray(0, 20));
    await assert.rejects(loadSnapshot(kept.file), /the file changed since it was saved/);
  });

  it('removes a datacenter’s oldest beyond keep, and only that datacenter’s', async () => {
    const dir = snapshotDir(inventory());
    const at = (n: number) => new Date(Date.UTC(2026, 11, 8, 1, n));
    for (let n = 0; n < 4; n++)
      await keepSnapshot(
        dir,
        { datacenter: 'east', version: '1.20.1', index: 10 + n, takenAt: at(n) },
        archive(),
      );
    await keepSnapshot(dir, { datacenter: 'west', version: '1.20.1', index: 5, takenAt: at(0) }, archive());
    const removed = await pruneSnapshots(dir, 'east', 2);
    assert.deepEqual(
      removed.map((f) => parseSnapshotFileName(f)?.index),
      [10, 11],
    );
    assert.deepEqual(
      (await listSnapshots(dir)).map((s) => `${s.datacenter}:${s.index}`),
      ['west:5', 'east:12', 'east:13'],
    );
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.sha256')).length, 3);
  });
});
