// `consul snapshot save|restore|inspect`, with the texts and exit codes of Consul's
// command/snapshot/{save,restore,inspect} (inspect's pretty layout is formatter.go's tabwriter).
import fs from 'node:fs';
import path from 'node:path';
import { HTTP_FLAGS, UsageError, merge, parseFlags } from './flags.mjs';
import { clientError, request, send } from './http-client.mjs';
import { decodeMeta, goQuote, readArchive } from '../snapshot-archive.mjs';
import { readRecords, typeName } from '../snapshot-state.mjs';
import { tabwrite } from '../tabwriter.mjs';

// Snapshots can take a while on a big state; the api client waits without a timeout.
const SNAPSHOT_TIMEOUT_MS = 300000;

/** The FILE argument, or the error Consul prints. */
function fileArg(args, io) {
  if (args.length === 0) { io.err('Missing FILE argument'); return null; }
  if (args.length > 1) { io.err(`Too many arguments (expected 1, got ${args.length})`); return null; }
  return args[0];
}

/** An *os.PathError's text. */
function pathError(op, file, e) {
  const why = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory', EEXIST: 'file exists' }[e.code] ?? e.message;
  return `${op} ${file}: ${why}`;
}

/** filepath.Ext: from the last dot of the last element. */
function goExt(file) {
  const dot = file.lastIndexOf('.');
  return dot > file.lastIndexOf('/') ? file.slice(dot) : '';
}

/** api.QueryOptions as the client encodes them (url.Values sorted): dc, then stale. */
function saveQuery(flags) {
  const q = [];
  if (flags.datacenter) q.push(`dc=${encodeURIComponent(flags.datacenter)}`);
  if (flags.stale) q.push('stale=');
  return q.length ? `?${q.join('&')}` : '';
}

export async function snapshotSave(argv, io) {
  const { flags, args } = parseFlags(argv, merge(HTTP_FLAGS, { strings: ['append-filename'] }));
  let file = fileArg(args, io);
  if (file === null) return 1;
  const connect = clientError(flags);
  if (connect) { io.err(`Error connecting to Consul agent: ${connect}`); return 1; }
  const append = flags['append-filename'] ?? '';
  if (append.length > 0) {
    const wanted = append.split(',');
    let self;
    try { self = JSON.parse((await request(flags, 'GET', '/v1/agent/self')).body); } catch (e) {
      io.err(`Error connecting to Consul agent and fetching datacenter/version: ${e.message}`);
      return 1;
    }
    const ext = goExt(file);
    let base = file.slice(0, file.length - ext.length);
    if (wanted.includes('version') && typeof self.Config?.Version === 'string') base += `-${self.Config.Version}`;
    if (wanted.includes('dc') && typeof self.Config?.Datacenter === 'string') base += `-${self.Config.Datacenter}`;
    if (wanted.includes('node') && typeof self.Config?.NodeName === 'string') base += `-${self.Config.NodeName}`;
    if (wanted.includes('status') && self.Stats?.consul?.leader !== undefined) base += self.Stats.consul.leader === 'true' ? '-leader' : '-follower';
    file = base + ext;
  }
  let r;
  try { r = await send(flags, 'GET', `/v1/snapshot${saveQuery(flags)}`, { timeoutMs: SNAPSHOT_TIMEOUT_MS }); } catch (e) {
    io.err(`Error saving snapshot: ${e.message}`);
    return 1;
  }
  if (r.status !== 200) { io.err(`Error saving snapshot: Unexpected response code: ${r.status} (${r.body.toString()})`); return 1; }
  const indexText = String(r.headers['x-consul-index'] ?? '');
  if (indexText !== '' && !/^\d+$/.test(indexText)) {
    io.err(`Error saving snapshot: Failed to parse X-Consul-Index: strconv.ParseUint: parsing ${goQuote(indexText)}: invalid syntax`);
    return 1;
  }
  const unverified = `${file}.unverified`;
  // safeio.WriteToFile: a temp file beside it, renamed into place, 0600.
  const temp = `${unverified}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, r.body, { mode: 0o600 });
    fs.renameSync(temp, unverified);
  } catch (e) {
    try { fs.unlinkSync(temp); } catch { /* not there */ }
    io.err(`Error writing unverified snapshot file: ${pathError('open', unverified, e)}`);
    return 1;
  }
  try {
    let data;
    try { data = fs.readFileSync(unverified); } catch (e) { io.err(`Error opening snapshot file for verify: ${pathError('open', unverified, e)}`); return 1; }
    try { readArchive(data); } catch (e) { io.err(`Error verifying snapshot file: ${e.message}`); return 1; }
    try { fs.renameSync(unverified, file); } catch (e) {
      io.err(`Error renaming ${goQuote(unverified)} to ${goQuote(file)}: ${pathError('rename', `${unverified} ${file}`, e)}`);
      return 1;
    }
  } finally {
    try { fs.unlinkSync(unverified); } catch { /* renamed */ }
  }
  io.out(`Saved and verified snapshot to index ${indexText === '' ? 0 : indexText}`);
  return 0;
}

export async function snapshotRestore(argv, io) {
  const { flags, args } = parseFlags(argv, HTTP_FLAGS);
  const file = fileArg(args, io);
  if (file === null) return 1;
  const connect = clientError(flags);
  if (connect) { io.err(`Error connecting to Consul agent: ${connect}`); return 1; }
  let data;
  try {
    if (fs.statSync(file).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    data = fs.readFileSync(file);
  } catch (e) {
    io.err(`Error opening snapshot file: ${pathError('open', file, e)}`);
    return 1;
  }
  // Restore(nil, f): only the client's datacenter goes with it, never stale.
  const q = flags.datacenter ? `?dc=${encodeURIComponent(flags.datacenter)}` : '';
  let r;
  try {
    r = await send(flags, 'PUT', `/v1/snapshot${q}`, { payload: data, headers: { 'Content-Type': 'application/octet-stream' }, timeoutMs: SNAPSHOT_TIMEOUT_MS });
  } catch (e) {
    io.err(`Error restoring snapshot: ${e.message}`);
    return 1;
  }
  if (r.status !== 200) { io.err(`Error restoring snapshot: Unexpected response code: ${r.status} (${r.body.toString()})`); return 1; }
  io.out('Restored snapshot');
  return 0;
}

/** formatter.go ByteSize: one decimal (rounded half to even, as strconv does), `.0` trimmed. */
export function byteSize(bytes) {
  if (bytes === 0) return '0';
  const units = [['TB', 2 ** 40], ['GB', 2 ** 30], ['MB', 2 ** 20], ['KB', 2 ** 10], ['B', 1]];
  const [unit, size] = units.find(([, s]) => bytes >= s);
  const b = BigInt(bytes) * 10n;
  const d = BigInt(size);
  let tenths = b / d;
  const rest = b % d;
  if (rest * 2n > d || (rest * 2n === d && tenths % 2n === 1n)) tenths += 1n;
  const text = `${tenths / 10n}.${tenths % 10n}`;
  return `${text.endsWith('.0') ? text.slice(0, -2) : text}${unit}`;
}

/** sortTypeStats: by size, largest first, then by name. */
const sortStats = (list) => list.sort((a, b) => (a.Sum === b.Sum ? (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0) : b.Sum - a.Sum));

function prettyFormat(meta, stats, statsKV, total, totalKV) {
  let t = ` ID\t${meta.ID}\n Size\t${meta.Size}\n Index\t${meta.Index}\n Term\t${meta.Term}\n Version\t${meta.Version}\n`;
  t += '\n Type\tCount\tSize\n ----\t----\t----';
  for (const s of stats) t += `\n ${s.Name}\t${s.Count}\t${byteSize(s.Sum)}`;
  t += `\n ----\t----\t----\n Total\t\t${byteSize(total)}`;
  if (statsKV) {
    t += '\n\n Key Name\tCount\tSize\n ----\t----\t----';
    for (const s of statsKV) t += `\n ${s.Name}\t${s.Count}\t${byteSize(s.Sum)}`;
    t += `\n ----\t----\t----\n Total\t\t${byteSize(totalKV)}`;
  }
  return tabwrite(t, { minwidth: 8, padding: 6 });
}

export function snapshotInspect(argv, io) {
  const { flags, args } = parseFlags(argv, { bools: ['kvdetails'], strings: ['kvdepth', 'kvfilter', 'format'] });
  let depth = 2;
  if (flags.kvdepth !== undefined) {
    if (!/^[+-]?\d+$/.test(flags.kvdepth)) throw new UsageError(`invalid value ${goQuote(flags.kvdepth)} for flag -kvdepth: parse error`);
    depth = Number(flags.kvdepth);
  }
  const filter = flags.kvfilter ?? '';
  const format = flags.format ?? 'pretty';
  const file = fileArg(args, io);
  if (file === null) return 1;
  let data;
  try {
    if (fs.statSync(file).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    data = fs.readFileSync(file);
  } catch (e) {
    io.err(`Error opening snapshot file: ${pathError('open', file, e)}`);
    return 1;
  }
  let meta;
  let state;
  if (path.posix.basename(file).toLowerCase() === 'state.bin') {
    // A raw raft snapshot: its meta.json must be beside it.
    const metaFile = path.posix.join(path.posix.dirname(file), 'meta.json');
    let raw;
    try { raw = fs.readFileSync(metaFile, 'utf8'); } catch (e) { io.err(`Error reading meta.json from internal snapshot dir: ${pathError('open', metaFile, e)}`); return 1; }
    try { meta = decodeMeta(raw) ?? decodeMeta('{}'); } catch (e) { io.err(`Error parsing meta.json from internal snapshot dir: ${e.message}`); return 1; }
    state = data;
  } else {
    try { ({ meta, state } = readArchive(data)); } catch (e) { io.err(`Error reading snapshot: ${e.message}`); return 1; }
  }
  const stats = new Map();
  const kv = new Map();
  let total = 0;
  let totalKV = 0;
  try {
    readRecords(state, (type, row, size) => {
      const s = stats.get(type) ?? { Name: typeName(type), Sum: 0, Count: 0 };
      s.Sum += size;
      s.Count++;
      total += size;
      stats.set(type, s);
      if (!flags.kvdetails || s.Name !== 'KVS' || typeof row?.key !== 'string') return;
      if (filter && !row.key.startsWith(filter)) return;
      const parts = row.key.split('/');
      const prefix = parts.slice(0, Math.min(depth, parts.length)).join('/');
      const k = kv.get(prefix) ?? { Name: prefix, Sum: 0, Count: 0 };
      k.Sum += size;
      k.Count++;
      totalKV += size;
      kv.set(prefix, k);
    });
  } catch (e) {
    io.err(`Error extracting snapshot data: ${e.message}`);
    return 1;
  }
  if (format !== 'pretty' && format !== 'json') { io.err(`Error outputting enhanced snapshot data: Unknown format: ${format}`); return 1; }
  const info = { ID: meta.ID, Size: meta.Size, Index: meta.Index, Term: meta.Term, Version: meta.Version };
  const typeStats = sortStats([...stats.values()]);
  const kvStats = kv.size ? sortStats([...kv.values()]) : null;
  if (format === 'json') {
    io.out(JSON.stringify({ Meta: info, Stats: typeStats, StatsKV: kvStats, TotalSize: total, TotalSizeKV: totalKV }, null, 3));
  } else {
    io.out(prettyFormat(info, typeStats, kvStats, total, totalKV));
  }
  return 0;
}
