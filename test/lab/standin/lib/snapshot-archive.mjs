// Consul's snapshot archive (snapshot/archive.go, snapshot/snapshot.go): a gzip'd tar holding
// meta.json (raft's SnapshotMeta as JSON, from json.Encoder, so with a trailing newline),
// state.bin (the state store, lib/snapshot-state.mjs) and SHA256SUMS (`<hex>  <name>\n` for the
// other two, in Go's random map order). Every entry is mode 0600 with the same ModTime.
//
// Reading follows Go's readers step by step, so a damaged archive fails with Consul's texts in
// Consul's order: compress/gzip (header, multistream, CRC-32 and size trailer), archive/tar
// (checksum, V7/USTAR/GNU/STAR headers, PAX and GNU long names, padding), the json.Decoder of
// meta.json into raft.SnapshotMeta, fmt.Sscanf("%x  %s") per SHA256SUMS line, and
// concludeGzipRead for what follows the tar's end.
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { decodeJsonValue } from './json-value.mjs';

// --- small Go helpers -------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** IEEE CRC-32, as hash/crc32 (gzip's trailer). */
export function crc32(buf, crc = 0) {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** strconv.Quote (what %q prints) for a byte string: invalid UTF-8 as \x.., controls escaped. */
export function goQuote(input) {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(String(input));
  const ESC = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 34: '\\"', 92: '\\\\' };
  let out = '"';
  for (let i = 0; i < buf.length; ) {
    const b = buf[i];
    if (b < 0x80) {
      if (ESC[b]) out += ESC[b];
      else if (b < 0x20 || b === 0x7f) out += `\\x${b.toString(16).padStart(2, '0')}`;
      else out += String.fromCharCode(b);
      i++;
      continue;
    }
    const len = b >= 0xf8 ? 0 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
    const chunk = len ? buf.subarray(i, i + len) : null;
    const text = chunk && chunk.length === len ? chunk.toString('utf8') : '';
    const cp = text.codePointAt(0);
    if (!len || text.length === 0 || cp === 0xfffd || text.length > 2) {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    if (cp < 0xa0) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += text;
    i += len;
  }
  return `${out}"`;
}

/** Go's unicode.IsSpace (fmt's scanner uses the same table). */
function isSpace(cp) {
  return (cp >= 0x09 && cp <= 0x0d) || cp === 0x20 || cp === 0x85 || cp === 0xa0 || cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000;
}

// --- writing --------------------------------------------------------------------------------------

const BLOCK = 512;

/** archive/tar formatter.formatOctal: zero-padded octal leaving room for a NUL. */
function putOctal(block, off, len, value) {
  const s = value.toString(8).padStart(len - 1, '0');
  block.write(s, off, 'latin1');
  block[off + s.length] = 0;
}

/** One USTAR header as Go's tar.Writer writes a regular file without a Format (ModTime in seconds). */
function ustarHeader(name, size, mtimeSeconds, mode = 0o600) {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 'latin1');
  putOctal(h, 100, 8, mode);
  putOctal(h, 108, 8, 0);
  putOctal(h, 116, 8, 0);
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, mtimeSeconds);
  h[156] = 0x30; // TypeReg '0' (a zero Typeflag is promoted to it)
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  putOctal(h, 329, 8, 0);
  putOctal(h, 337, 8, 0);
  // The checksum field counts as spaces, then holds 6 octal digits, a NUL and a space.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  putOctal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

function tarEntry(name, data, mtimeSeconds) {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return [ustarHeader(name, data.length, mtimeSeconds), data, Buffer.alloc(pad)];
}

const shuffled = (list) => {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};

/** msgpack of [][]byte, as raft's encodePeers writes it (go-msgpack, raw strings). */
function msgpackPeers(addresses) {
  const parts = [];
  const n = addresses.length;
  if (n < 16) parts.push(Buffer.from([0x90 | n]));
  else { const b = Buffer.alloc(3); b[0] = 0xdc; b.writeUInt16BE(n, 1); parts.push(b); }
  for (const a of addresses) {
    const s = Buffer.from(a);
    if (s.length < 32) parts.push(Buffer.from([0xa0 | s.length]));
    else if (s.length < 65536) { const b = Buffer.alloc(3); b[0] = 0xda; b.writeUInt16BE(s.length, 1); parts.push(b); }
    else { const b = Buffer.alloc(5); b[0] = 0xdb; b.writeUInt32BE(s.length, 1); parts.push(b); }
    parts.push(s);
  }
  return Buffer.concat(parts);
}

/**
 * raft's SnapshotMeta for a snapshot of the stand-in's raft: Peers holds the voters' addresses
 * (encodePeers), Configuration every server with its Suffrage (0 voter, 1 nonvoter).
 */
export function snapshotMeta(snap, size) {
  const servers = snap.config?.servers ?? [];
  return {
    Version: 1,
    ID: snap.id,
    Index: snap.index,
    Term: snap.term,
    Peers: msgpackPeers(servers.filter((s) => s.voter).map((s) => s.address)).toString('base64'),
    Configuration: { Servers: servers.map((s) => ({ Suffrage: s.voter ? 0 : 1, ID: s.id, Address: s.address })) },
    ConfigurationIndex: snap.configIndex ?? 0,
    Size: size,
  };
}

/** snapshot.New: meta.json, state.bin and SHA256SUMS in a tar, gzip'd (Go's header: OS unknown). */
export function writeArchive(meta, state, now = Date.now()) {
  const mtime = Math.round(now / 1000);
  const metaJson = Buffer.from(`${JSON.stringify(meta)}\n`);
  const sums = shuffled([['meta.json', metaJson], ['state.bin', state]])
    .map(([name, data]) => `${crypto.createHash('sha256').update(data).digest('hex')}  ${name}\n`)
    .join('');
  const tar = Buffer.concat([
    ...tarEntry('meta.json', metaJson, mtime),
    ...tarEntry('state.bin', state, mtime),
    ...tarEntry('SHA256SUMS', Buffer.from(sums), mtime),
    Buffer.alloc(2 * BLOCK),
  ]);
  const gz = zlib.gzipSync(tar);
  gz[9] = 0xff;
  return gz;
}

// --- reading: compress/gzip -----------------------------------------------------------------------

/** gzip.Reader.readHeader at pos: the deflate data's offset, or the error Go returns. */
function gzipHeader(buf, pos) {
  const left = buf.length - pos;
  if (left < 10) return { error: left === 0 ? 'EOF' : 'unexpected EOF' };
  if (buf[pos] !== 0x1f || buf[pos + 1] !== 0x8b || buf[pos + 2] !== 8) return { error: 'gzip: invalid header' };
  const flg = buf[pos + 3];
  let p = pos + 10;
  if (flg & 4) {
    if (buf.length - p < 2) return { error: 'unexpected EOF' };
    const n = buf.readUInt16LE(p);
    p += 2;
    if (buf.length - p < n) return { error: 'unexpected EOF' };
    p += n;
  }
  for (const bit of [8, 16]) {
    if (!(flg & bit)) continue;
    const end = buf.indexOf(0, p);
    if (end < 0) return { error: buf.length - p >= 512 ? 'gzip: invalid header' : 'unexpected EOF' };
    if (end - p >= 512) return { error: 'gzip: invalid header' };
    p = end + 1;
  }
  if (flg & 2) {
    if (buf.length - p < 2) return { error: 'unexpected EOF' };
    if (buf.readUInt16LE(p) !== (crc32(buf.subarray(pos, p)) & 0xffff)) return { error: 'gzip: invalid header' };
    p += 2;
  }
  return { pos: p };
}

const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

/**
 * compress/flate over buf[start..]: the output and the input consumed when the stream ends, else
 * what came out before the error and Go's error (unexpected EOF when the data stops, a corrupt
 * input reported at the first input offset zlib cannot go past).
 */
function inflate(buf, start) {
  const input = buf.subarray(start);
  try {
    const r = zlib.inflateRawSync(input, { info: true });
    return { data: r.buffer, consumed: r.engine.bytesWritten };
  } catch (e) {
    if (e.code === 'Z_BUF_ERROR') return { data: zlib.inflateRawSync(input, SYNC), error: 'unexpected EOF' };
    let lo = 0;
    let hi = input.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      try { zlib.inflateRawSync(input.subarray(0, mid), SYNC); lo = mid; } catch { hi = mid - 1; }
    }
    let data = Buffer.alloc(0);
    try { data = zlib.inflateRawSync(input.subarray(0, lo), SYNC); } catch { /* nothing came out */ }
    return { data, error: `flate: corrupt input before offset ${lo + 1}` };
  }
}

/**
 * gzip.NewReader + Read to the end: throws the header error of the first member; otherwise the
 * uncompressed bytes and the error a read past them gets (null: a clean EOF).
 */
function gunzip(buf) {
  const first = gzipHeader(buf, 0);
  if (first.error) throw new Error(`failed to decompress snapshot: ${first.error}`);
  const out = [];
  let p = first.pos;
  for (;;) {
    const r = inflate(buf, p);
    out.push(r.data);
    if (r.error) return { data: Buffer.concat(out), tailError: r.error };
    p += r.consumed;
    if (buf.length - p < 8) return { data: Buffer.concat(out), tailError: 'unexpected EOF' };
    if (buf.readUInt32LE(p) !== crc32(r.data) || buf.readUInt32LE(p + 4) !== (r.data.length >>> 0)) {
      return { data: Buffer.concat(out), tailError: 'gzip: invalid checksum' };
    }
    p += 8;
    if (p === buf.length) return { data: Buffer.concat(out), tailError: null };
    const next = gzipHeader(buf, p);
    if (next.error) return { data: Buffer.concat(out), tailError: next.error };
    p = next.pos;
  }
}

/** The decompressed stream: reads in Go's terms (io.ReadFull, a tar entry's reader). */
class Stream {
  constructor({ data, tailError }) {
    this.data = data;
    this.tailError = tailError;
    this.pos = 0;
  }

  get left() { return this.data.length - this.pos; }

  /** io.ReadFull: [bytes, error]; EOF only when nothing was read. */
  readFull(n) {
    const take = Math.min(n, this.left);
    const bytes = this.data.subarray(this.pos, this.pos + take);
    this.pos += take;
    if (take === n) return [bytes, null];
    return [bytes, this.tailError ?? (take === 0 ? 'EOF' : 'unexpected EOF')];
  }

  /** tryReadFull: a short read at the end of the data is EOF. */
  tryReadFull(n) {
    const take = Math.min(n, this.left);
    this.pos += take;
    if (take === n) return null;
    return this.tailError ?? 'EOF';
  }

  /** A whole tar entry of `size` bytes: [bytes, error], unexpected EOF when it is cut short. */
  readEntry(size) {
    const take = Math.min(size, this.left);
    const bytes = this.data.subarray(this.pos, this.pos + take);
    this.pos += take;
    return [bytes, take === size ? null : this.tailError ?? 'unexpected EOF'];
  }
}

// --- reading: archive/tar -----------------------------------------------------------------------

const ERR_HEADER = 'archive/tar: invalid tar header';
const ERR_FIELD_TOO_LONG = 'archive/tar: header field too long';
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

class TarError extends Error {}

/** archive/tar parser: a string up to its first NUL. */
const cstring = (b) => { const i = b.indexOf(0); return i < 0 ? b : b.subarray(0, i); };

function parseOctal(b, p) {
  let s = 0;
  let e = b.length;
  while (s < e && (b[s] === 0x20 || b[s] === 0)) s++;
  while (e > s && (b[e - 1] === 0x20 || b[e - 1] === 0)) e--;
  if (s === e) return 0n;
  const text = cstring(b.subarray(s, e)).toString('latin1');
  if (!/^[0-7]+$/.test(text) || BigInt(`0o${text}`) >= 1n << 64n) { p.err = true; return 0n; }
  return BigInt(`0o${text}`);
}

/** parseNumeric: base-256 when the high bit is set, else octal. */
function parseNumeric(b, p) {
  if (b.length && b[0] & 0x80) {
    const inv = b[0] & 0x40 ? 0xff : 0;
    let x = 0n;
    for (let i = 0; i < b.length; i++) {
      let c = b[i] ^ inv;
      if (i === 0) c &= 0x7f;
      if (x >> 56n > 0n) { p.err = true; return 0n; }
      x = (x << 8n) | BigInt(c);
    }
    if (x >> 63n > 0n) { p.err = true; return 0n; }
    return inv ? -x - 1n : x;
  }
  return parseOctal(b, p);
}

function blockFormat(blk) {
  const p = {};
  const value = parseOctal(blk.subarray(148, 156), p);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : blk[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  if (p.err || (value !== BigInt(unsigned) && value !== BigInt(signed))) return 'unknown';
  const magic = blk.subarray(257, 263).toString('latin1');
  const version = blk.subarray(263, 265).toString('latin1');
  const trailer = blk.subarray(508, 512).toString('latin1');
  if (magic === 'ustar\0' && trailer === 'tar\0') return 'star';
  if (magic === 'ustar\0') return 'ustar';
  if (magic === 'ustar ' && version === ' \0') return 'gnu';
  return 'v7';
}

/** Reader.readHeader: a header, or null at the end of the archive (io.EOF). */
function readHeader(s) {
  let [blk, err] = s.readFull(BLOCK);
  if (err === 'EOF') return null;
  if (err) throw new TarError(err);
  if (blk.every((b) => b === 0)) {
    [blk, err] = s.readFull(BLOCK);
    if (err === 'EOF') return null;
    if (err) throw new TarError(err);
    if (blk.every((b) => b === 0)) return null;
    throw new TarError(ERR_HEADER);
  }
  const format = blockFormat(blk);
  if (format === 'unknown') throw new TarError(ERR_HEADER);
  const p = {};
  const hdr = {
    typeflag: String.fromCharCode(blk[156]),
    name: cstring(blk.subarray(0, 100)),
    size: parseNumeric(blk.subarray(124, 136), p),
  };
  parseNumeric(blk.subarray(100, 108), p);
  parseNumeric(blk.subarray(108, 116), p);
  parseNumeric(blk.subarray(116, 124), p);
  parseNumeric(blk.subarray(136, 148), p);
  if (format !== 'v7') {
    parseNumeric(blk.subarray(329, 337), p);
    parseNumeric(blk.subarray(337, 345), p);
    let prefix = Buffer.alloc(0);
    if (format === 'ustar') prefix = cstring(blk.subarray(345, 500));
    else if (format === 'star') {
      prefix = cstring(blk.subarray(345, 476));
      parseNumeric(blk.subarray(476, 488), p);
      parseNumeric(blk.subarray(488, 500), p);
    } else {
      const p2 = {};
      if (blk[345] !== 0) parseNumeric(blk.subarray(345, 357), p2);
      if (blk[357] !== 0) parseNumeric(blk.subarray(357, 369), p2);
      if (p2.err) {
        const s2 = cstring(blk.subarray(345, 500));
        if (s2.every((b) => b < 0x80)) prefix = s2;
      }
    }
    if (prefix.length) hdr.name = Buffer.concat([prefix, Buffer.from('/'), hdr.name]);
  }
  if (p.err) throw new TarError(ERR_HEADER);
  return hdr;
}

/** parsePAX: the records of an extended header ("%d %s=%s\n" each). */
function parsePax(buf) {
  const out = new Map();
  let s = buf.toString('latin1');
  while (s.length) {
    const sp = s.indexOf(' ');
    if (sp < 0) throw new TarError(ERR_HEADER);
    const nStr = s.slice(0, sp);
    const n = /^[+-]?\d+$/.test(nStr) ? Number(nStr) : NaN;
    if (!Number.isSafeInteger(n) || n < 5 || n > s.length) throw new TarError(ERR_HEADER);
    const rest = s.slice(sp + 1);
    const m = n - (nStr.length + 1);
    if (m <= 0 || rest[m - 1] !== '\n') throw new TarError(ERR_HEADER);
    const rec = rest.slice(0, m - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0) throw new TarError(ERR_HEADER);
    const [k, v] = [rec.slice(0, eq), rec.slice(eq + 1)];
    const nulIn = ['path', 'linkpath', 'uname', 'gname'].includes(k) ? v : k;
    if (nulIn.includes('\0')) throw new TarError(ERR_HEADER);
    out.set(k, v);
    s = rest.slice(m);
  }
  return out;
}

/** readSpecialFile: a PAX or GNU long-name entry's data, at most 1 MiB. */
function specialFile(s, size) {
  const limit = 1 << 20;
  const [bytes, err] = s.readEntry(size > BigInt(limit) ? limit + 1 : Number(size));
  if (bytes.length > limit) throw new TarError(ERR_FIELD_TOO_LONG);
  if (err) throw new TarError(err);
  return bytes;
}

/** Reader.Next: the next file (name and size), or null at the end; its data is read by the caller. */
function nextEntry(s, state) {
  let pax = null;
  let longName = null;
  for (;;) {
    if (state.pad) {
      const err = s.tryReadFull(state.pad);
      if (err === 'EOF') return null;
      if (err) throw new TarError(err);
      state.pad = 0;
    }
    const hdr = readHeader(s);
    if (!hdr) return null;
    const dataSize = HEADER_ONLY.has(hdr.typeflag) ? 0n : hdr.size;
    if (dataSize < 0n) throw new TarError(ERR_HEADER);
    const pad = dataSize % 512n === 0n ? 0 : 512 - Number(dataSize % 512n);
    if (hdr.typeflag === 'x' || hdr.typeflag === 'g') {
      const records = parsePax(specialFile(s, dataSize));
      state.pad = pad;
      if (hdr.typeflag === 'g') return { name: records.get('path') ? Buffer.from(records.get('path'), 'latin1') : hdr.name, size: 0n };
      pax = records;
      continue;
    }
    if (hdr.typeflag === 'L' || hdr.typeflag === 'K') {
      const data = specialFile(s, dataSize);
      state.pad = pad;
      if (hdr.typeflag === 'L') longName = cstring(data);
      continue;
    }
    let size = dataSize;
    if (pax) {
      for (const [k, v] of pax) {
        if (v === '') continue;
        if (k === 'path') hdr.name = Buffer.from(v, 'latin1');
        else if (k === 'size' || k === 'uid' || k === 'gid') {
          if (!/^[+-]?\d+$/.test(v)) throw new TarError(ERR_HEADER);
          if (k === 'size') size = HEADER_ONLY.has(hdr.typeflag) ? 0n : BigInt(v);
        }
      }
    }
    if (longName && longName.length) hdr.name = longName;
    if (size < 0n) throw new TarError(ERR_HEADER);
    state.pad = size % 512n === 0n ? 0 : 512 - Number(size % 512n);
    return { name: hdr.name, size };
  }
}

// --- reading: raft.SnapshotMeta (encoding/json) ------------------------------------------------------

const GO_KIND = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'number' : typeof v === 'string' ? 'string' : 'object');

const zeroMeta = () => ({ Version: 0, ID: '', Index: 0, Term: 0, Peers: null, Configuration: { Servers: null }, ConfigurationIndex: 0, Size: 0 });

/**
 * json.Decoder.Decode(&metadata) into a *raft.SnapshotMeta (`into`, updated in place as Go
 * updates the struct): field names match case-insensitively, the last duplicate wins, the first
 * type error is returned (Go keeps decoding the rest). `null` sets the pointer to nil: null is
 * returned, and the caller's struct is no longer the one decoded into.
 */
export function decodeMeta(text, into = zeroMeta()) {
  const v = decodeJsonValue(text);
  if (v === null) return null;
  const meta = into;
  let first = null;
  const fail = (msg) => { first ??= msg; };
  const typeErr = (val, struct, field, type) => fail(`json: cannot unmarshal ${GO_KIND(val) === 'number' ? `number ${val}` : GO_KIND(val)} into Go struct field ${struct}.${field} of type ${type}`);
  const kindErr = (val, struct, field, type) => fail(`json: cannot unmarshal ${GO_KIND(val)} into Go struct field ${struct}.${field} of type ${type}`);
  if (GO_KIND(v) !== 'object') throw new Error(`json: cannot unmarshal ${GO_KIND(v)} into Go value of type raft.SnapshotMeta`);
  const int = (val, struct, field, type, unsigned) => {
    if (val === null) return undefined;
    if (typeof val !== 'number') { kindErr(val, struct, field, type); return undefined; }
    if (!Number.isInteger(val) || (unsigned && val < 0) || Math.abs(val) > 2 ** 63) { typeErr(val, struct, field, type); return undefined; }
    return val;
  };
  const str = (val, struct, field, type) => {
    if (val === null) return undefined;
    if (typeof val !== 'string') { kindErr(val, struct, field, type); return undefined; }
    return val;
  };
  const FIELDS = {
    version: (x) => { const n = int(x, 'SnapshotMeta', 'Version', 'raft.SnapshotVersion', false); if (n !== undefined) meta.Version = n; },
    id: (x) => { const s = str(x, 'SnapshotMeta', 'ID', 'string'); if (s !== undefined) meta.ID = s; },
    index: (x) => { const n = int(x, 'SnapshotMeta', 'Index', 'uint64', true); if (n !== undefined) meta.Index = n; },
    term: (x) => { const n = int(x, 'SnapshotMeta', 'Term', 'uint64', true); if (n !== undefined) meta.Term = n; },
    configurationindex: (x) => { const n = int(x, 'SnapshotMeta', 'ConfigurationIndex', 'uint64', true); if (n !== undefined) meta.ConfigurationIndex = n; },
    size: (x) => { const n = int(x, 'SnapshotMeta', 'Size', 'int64', false); if (n !== undefined) meta.Size = n; },
    peers: (x) => {
      if (x === null) { meta.Peers = null; return; }
      if (typeof x === 'string') {
        const clean = x.replace(/[\r\n]/g, '');
        const bad = clean.search(/[^A-Za-z0-9+/=]/);
        const padAt = clean.indexOf('=');
        if (bad >= 0 || clean.length % 4 !== 0 || (padAt >= 0 && (padAt < clean.length - 2 || !/^=+$/.test(clean.slice(padAt))))) {
          const at = bad >= 0 ? bad : padAt >= 0 && padAt < clean.length - 2 ? padAt : clean.length - (clean.length % 4 || 4);
          fail(`illegal base64 data at input byte ${at}`);
          return;
        }
        meta.Peers = clean;
        return;
      }
      if (Array.isArray(x)) {
        const bytes = [];
        for (const b of x) {
          if (b === null) { bytes.push(0); continue; }
          if (typeof b !== 'number') { kindErr(b, 'SnapshotMeta', 'Peers', 'uint8'); return; }
          if (!Number.isInteger(b) || b < 0 || b > 255) { typeErr(b, 'SnapshotMeta', 'Peers', 'uint8'); return; }
          bytes.push(b);
        }
        meta.Peers = Buffer.from(bytes).toString('base64');
        return;
      }
      kindErr(x, 'SnapshotMeta', 'Peers', '[]uint8');
    },
    configuration: (x) => {
      if (x === null) return;
      if (GO_KIND(x) !== 'object') { kindErr(x, 'SnapshotMeta', 'Configuration', 'raft.Configuration'); return; }
      for (const [k, list] of Object.entries(x)) {
        if (k.toLowerCase() !== 'servers') continue;
        if (list === null) { meta.Configuration.Servers = null; continue; }
        if (!Array.isArray(list)) { kindErr(list, 'Configuration', 'Configuration.Servers', '[]raft.Server'); continue; }
        meta.Configuration.Servers = list.map((s) => {
          const out = { Suffrage: 0, ID: '', Address: '' };
          if (s === null) return out;
          if (GO_KIND(s) !== 'object') { kindErr(s, 'Configuration', 'Configuration.Servers', 'raft.Server'); return out; }
          for (const [f, val] of Object.entries(s)) {
            const key = f.toLowerCase();
            if (key === 'suffrage') { const n = int(val, 'Server', 'Configuration.Servers.Suffrage', 'raft.ServerSuffrage', false); if (n !== undefined) out.Suffrage = n; }
            else if (key === 'id') { const t = str(val, 'Server', 'Configuration.Servers.ID', 'raft.ServerID'); if (t !== undefined) out.ID = t; }
            else if (key === 'address') { const t = str(val, 'Server', 'Configuration.Servers.Address', 'raft.ServerAddress'); if (t !== undefined) out.Address = t; }
          }
          return out;
        });
      }
    },
  };
  for (const [k, val] of Object.entries(v)) FIELDS[k.toLowerCase()]?.(val);
  if (first) throw new Error(first);
  return meta;
}

// --- reading: SHA256SUMS (hashList.DecodeAndVerify) ---------------------------------------------------

/** fmt.Sscanf(line, "%x  %s", &sha, &file), with fmt's errors. */
function scanSumLine(line) {
  const r = [...line].map((c) => c.codePointAt(0));
  let i = 0;
  const skip = () => { while (i < r.length && isSpace(r[i])) i++; };
  const hex = (c) => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
  skip();
  if (i >= r.length) throw new Error('EOF');
  const bytes = [];
  while (i < r.length && hex(r[i])) {
    if (i + 1 >= r.length) throw new Error('unexpected EOF');
    if (!hex(r[i + 1])) throw new Error('illegal hex digit');
    bytes.push(parseInt(String.fromCodePoint(r[i], r[i + 1]), 16));
    i += 2;
  }
  if (!bytes.length) throw new Error('no hex data for %x string');
  if (i < r.length && !isSpace(r[i])) throw new Error('expected space in input to match format');
  skip();
  if (i >= r.length) throw new Error('EOF');
  const start = i;
  while (i < r.length && !isSpace(r[i])) i++;
  return { sha: Buffer.from(bytes), file: String.fromCodePoint(...r.slice(start, i)) };
}

function verifySums(text, digests) {
  const seen = new Set();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    if (raw.length >= 64 * 1024) throw new Error('bufio.Scanner: token too long');
    const { sha, file } = scanSumLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    const have = digests.get(file);
    if (!have) throw new Error(`list missing hash for ${goQuote(file)}`);
    if (!sha.equals(have)) throw new Error(`hash check failed for ${goQuote(file)}`);
    seen.add(file);
  }
  // Go ranges over a map here: which of two missing files is named first is random.
  for (const file of shuffled([...digests.keys()])) if (!seen.has(file)) throw new Error(`file missing for ${goQuote(file)}`);
}

// --- reading: the archive ----------------------------------------------------------------------

/**
 * snapshot.Read / snapshot.Verify: { meta, state } of a good archive; otherwise throws with
 * Consul's text (`failed to decompress snapshot: ...`, `failed to read snapshot file: ...`,
 * `%d unread uncompressed bytes remain`, or a gzip error found after the tar's end).
 */
export function readArchive(buf) {
  const s = new Stream(gunzip(buf));
  const wrap = (msg) => new Error(`failed to read snapshot file: ${msg}`);
  const parts = { 'meta.json': [], 'state.bin': [] };
  let sums = '';
  const meta = zeroMeta();
  // After a meta.json of `null`, Go decodes any later one into a struct the caller never sees.
  let target = meta;
  const tarState = { pad: 0 };
  let pending = null;
  for (;;) {
    let entry;
    try {
      if (pending) throw new TarError(pending);
      entry = nextEntry(s, tarState);
    } catch (e) {
      if (e instanceof TarError) throw wrap(`failed reading snapshot: ${e.message}`);
      throw e;
    }
    if (!entry) break;
    const name = entry.name.toString('utf8');
    const size = entry.size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(entry.size);
    if (name === 'meta.json') {
      const [bytes, err] = s.readEntry(size);
      parts['meta.json'].push(bytes);
      try { target = decodeMeta(bytes.toString('utf8'), target ?? zeroMeta()); } catch (e) {
        const cut = err && (e.message === 'EOF' || e.message === 'unexpected EOF');
        throw wrap(`failed to decode snapshot metadata: ${cut ? err : e.message}`);
      }
      // The decoder stopped at the value's end; the rest of the entry is read by the next Next.
      pending = err;
    } else if (name === 'state.bin') {
      const [bytes, err] = s.readEntry(size);
      parts['state.bin'].push(bytes);
      if (err) throw wrap(`failed to read or write snapshot data: ${err}`);
    } else if (name === 'SHA256SUMS') {
      const [bytes, err] = s.readEntry(size);
      if (err) throw wrap(`failed to read snapshot hashes: ${err}`);
      sums += bytes.toString('utf8');
    } else {
      throw wrap(`unexpected file ${goQuote(entry.name)} in snapshot`);
    }
  }
  const state = Buffer.concat(parts['state.bin']);
  const digests = new Map(Object.entries(parts).map(([k, v]) => [k, crypto.createHash('sha256').update(Buffer.concat(v)).digest()]));
  try { verifySums(sums, digests); } catch (e) { throw wrap(`failed checking integrity of snapshot: ${e.message}`); }
  // concludeGzipRead: the stream must end where the tar did.
  if (s.tailError) throw new Error(s.tailError);
  if (s.left) throw new Error(`${s.left} unread uncompressed bytes remain`);
  return { meta, state };
}
