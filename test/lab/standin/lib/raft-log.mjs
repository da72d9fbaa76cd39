// The raft log, stable store and snapshot store in data_dir/raft/, in the roles hashicorp/raft
// gives raft.db and snapshots/:
//   standin-raft.json      current term and vote (rewritten atomically, before any reply)
//   standin-log.jsonl      a header line {base, baseTerm}, then one entry per line; appends are
//                          fsynced per batch, so an acknowledged entry survives a crash
//   standin-snapshot.json  the latest snapshot: index, term, configuration and FSM state
// Entries at or below `base` were compacted away after a snapshot (the last TrailingLogs are
// kept, so a follower that is a little behind still catches up from the log).
import fs from 'node:fs';
import path from 'node:path';

const META = 'standin-raft.json';
const LOG = 'standin-log.jsonl';
const SNAPSHOT = 'standin-snapshot.json';

function writeAtomic(file, text) {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try { fs.writeSync(fd, text); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  fs.renameSync(tmp, file);
}

function readJson(file) {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return null; }
}

export class RaftLog {
  constructor(dataDir) {
    this.dir = path.join(dataDir, 'raft');
    fs.mkdirSync(this.dir, { recursive: true });
    this.snapshot = readJson(path.join(this.dir, SNAPSHOT));
    const meta = readJson(path.join(this.dir, META)) ?? {};
    this.term = meta.term ?? 0;
    this.votedFor = meta.votedFor ?? null;
    this.base = this.snapshot?.index ?? 0;
    this.baseTerm = this.snapshot?.term ?? 0;
    this.entries = [];
    if (meta.lastLogIndex !== undefined && !meta.version && !this.snapshot) this.upgradeV1(meta);
    else this.readLog();
    if (!fs.existsSync(path.join(this.dir, LOG))) this.rewrite([]);
    this.fd ??= fs.openSync(path.join(this.dir, LOG), 'a');
  }

  /**
   * Data dirs written by the previous stand-in kept only indexes and the peer configuration:
   * they become a snapshot at that index (with an empty state store), so the cluster keeps its
   * peers and terms across the upgrade.
   */
  upgradeV1(meta) {
    const config = { servers: meta.config?.servers ?? [] };
    this.saveSnapshot({ index: meta.lastLogIndex, term: meta.lastLogTerm, config, configIndex: meta.config?.index ?? 0, state: null });
    this.rewrite([]);
    this.saveMeta();
  }

  readLog() {
    let text = '';
    try { text = fs.readFileSync(path.join(this.dir, LOG), 'utf8'); } catch { return; }
    const lines = text.split('\n');
    const head = lines[0] ? safeParse(lines[0]) : null;
    const isHead = head?.base !== undefined;
    if (isHead) {
      this.base = head.base;
      this.baseTerm = head.baseTerm;
    }
    for (const line of lines.slice(isHead ? 1 : 0)) {
      const e = line ? safeParse(line) : null;
      // A torn last line (a crash mid-append) was never acknowledged: it is dropped.
      if (!e || e.index !== this.lastIndex + 1) break;
      this.entries.push(e);
    }
  }

  // --- stable store ----------------------------------------------------------------------------

  saveMeta() {
    writeAtomic(path.join(this.dir, META), JSON.stringify({ version: 2, term: this.term, votedFor: this.votedFor }));
  }

  setTerm(term, votedFor = null) {
    this.term = term;
    this.votedFor = votedFor;
    this.saveMeta();
  }

  // --- log ---------------------------------------------------------------------------------------

  get lastIndex() { return this.entries.length ? this.entries[this.entries.length - 1].index : this.base; }
  get lastTerm() { return this.entries.length ? this.entries[this.entries.length - 1].term : this.baseTerm; }
  get firstIndex() { return this.base + 1; }

  get(index) {
    return index > this.base ? this.entries[index - this.base - 1] : undefined;
  }

  /** The term of the entry at index; undefined when it was compacted away or does not exist. */
  termAt(index) {
    if (index === 0) return 0;
    if (index === this.base) return this.baseTerm;
    return this.get(index)?.term;
  }

  /** Entries from..to (inclusive): at most max of them, and past the first at most maxBytes of JSON. */
  slice(from, to, max = Infinity, maxBytes = Infinity) {
    const start = Math.max(from, this.base + 1) - this.base - 1;
    const end = Math.min(to, this.lastIndex, from + max - 1) - this.base;
    const out = this.entries.slice(start, Math.max(start, end));
    let bytes = 0;
    for (let i = 0; i < out.length; i++) {
      bytes += JSON.stringify(out[i]).length;
      if (i > 0 && bytes > maxBytes) return out.slice(0, i);
    }
    return out;
  }

  /** Appends entries (contiguous after lastIndex) and fsyncs them. */
  append(entries) {
    if (!entries.length) return;
    fs.writeSync(this.fd, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    fs.fsyncSync(this.fd);
    for (const e of entries) this.entries.push(e);
  }

  /** Drops every entry after index (a follower's conflicting suffix). */
  truncateAfter(index) {
    this.entries.length = Math.max(0, index - this.base);
    this.rewrite(this.entries);
  }

  rewrite(entries) {
    const head = JSON.stringify({ base: this.base, baseTerm: this.baseTerm });
    if (this.fd !== undefined) fs.closeSync(this.fd);
    writeAtomic(path.join(this.dir, LOG), [head, ...entries.map((e) => JSON.stringify(e))].join('\n') + '\n');
    this.fd = fs.openSync(path.join(this.dir, LOG), 'a');
  }

  // --- snapshots -----------------------------------------------------------------------------------

  saveSnapshot(snap) {
    writeAtomic(path.join(this.dir, SNAPSHOT), JSON.stringify(snap));
    this.snapshot = snap;
  }

  /** After a local snapshot at snap.index: keep `trailing` entries before it, drop the rest. */
  compact(snap, trailing) {
    this.saveSnapshot(snap);
    const keepFrom = Math.max(this.base, snap.index - trailing);
    if (keepFrom <= this.base) return;
    this.baseTerm = this.termAt(keepFrom);
    this.entries = this.entries.filter((e) => e.index > keepFrom);
    this.base = keepFrom;
    this.rewrite(this.entries);
  }

  /** After installing a leader's snapshot: the log restarts at it (keeping a matching suffix). */
  resetTo(snap) {
    this.saveSnapshot(snap);
    const keep = this.termAt(snap.index) === snap.term ? this.entries.filter((e) => e.index > snap.index) : [];
    this.base = snap.index;
    this.baseTerm = snap.term;
    this.entries = keep;
    this.rewrite(keep);
  }

  close() {
    if (this.fd !== undefined) { fs.closeSync(this.fd); this.fd = undefined; }
  }
}

function safeParse(line) {
  try { return JSON.parse(line); } catch { return null; }
}
