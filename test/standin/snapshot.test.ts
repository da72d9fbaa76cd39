/**
 * Consul snapshots in the stand-in on 127.0.0.201-209: `GET /v1/snapshot` (forwarded to the
 * leader, `?stale` answered by the server asked, acl:write), the archive it returns (a gzip'd
 * tar of meta.json, state.bin and SHA256SUMS, read here with node:zlib and a tar reader of this
 * file's own), `PUT /v1/snapshot` into a second, fresh cluster (the state replaced on every
 * server, the cluster's own raft configuration kept, the first cluster's ACL tokens valid
 * afterwards), Consul's texts for damaged archives, and `consul snapshot save|restore|inspect`.
 *
 *   c1: servers 201-203 and a client 204, ACLs on with an initial management token
 *   c2: servers 205-207, ACLs on, bootstrapped through the API (its token dies with the restore)
 *   208: a server alone with bootstrap_expect 2, so without a leader; 209: nothing listens
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Agent, cleanup, consulCall, runCli, tempDir, waitFor, type HttpResult } from './harness.js';

const C1_SERVERS = ['127.0.0.201', '127.0.0.202', '127.0.0.203'];
const C1_CLIENT = '127.0.0.204';
const C2_SERVERS = ['127.0.0.205', '127.0.0.206', '127.0.0.207'];
const LONE = '127.0.0.208';
const NOBODY = '127.0.0.209';
const C1_SECRET = '6d1f0c9e-2b7a-4c33-8e51-9a0b7c2d4e61';
const C1_ACL = { acl: { enabled: true, default_policy: 'deny', tokens: { initial_management: C1_SECRET } } };
const C2_ACL = { acl: { enabled: true, default_policy: 'deny' } };

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request with a binary body and answer (the harness's helpers read text). */
function raw(
  ip: string,
  path: string,
  o: { method?: string; token?: string; body?: Buffer } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = o.token ? { 'X-Consul-Token': o.token } : {};
    const req = http.request(
      { host: ip, port: 8500, path, method: o.method ?? 'GET', headers, timeout: 30000, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(o.body);
  });
}

// --- a tar reader and writer of this file's own (ustar, as archive/tar writes it) ---------------

interface Entry {
  name: string;
  mode: number;
  mtime: number;
  type: string;
  data: Buffer;
}

function untar(tar: Buffer): Entry[] {
  const out: Entry[] = [];
  for (let pos = 0; pos + 512 <= tar.length;) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, b: number): string =>
      h
        .subarray(a, b)
        .toString('latin1')
        .replace(/\0[^]*$/, '');
    const oct = (a: number, b: number): number => parseInt(str(a, b).trim() || '0', 8);
    let sum = 0;
    h.forEach((b, i) => (sum += i >= 148 && i < 156 ? 32 : b));
    assert.equal(oct(148, 156), sum, 'tar header checksum');
    assert.equal(h.subarray(257, 265).toString('latin1'), 'ustar\u000000', 'ustar magic and version');
    const size = oct(124, 136);
    out.push({
      name: str(0, 100),
      mode: oct(100, 108),
      mtime: oct(136, 148),
      type: str(156, 157),
      data: tar.subarray(pos + 512, pos + 512 + size),
    });
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

function tar(entries: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    const put = (off: number, len: number, v: number): void => {
      h.write(`${v.toString(8).padStart(len - 1, '0')}\0`, off, 'latin1');
    };
    h.write(e.name, 0, 'latin1');
    put(100, 8, 0o600);
    put(108, 8, 0);
    put(116, 8, 0);
    put(124, 12, e.data.length);
    put(136, 12, Math.floor(Date.now() / 1000));
    h.write('0', 156, 'latin1');
    h.write('ustar\u000000', 257, 'latin1');
    h.fill(32, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    parts.push(h, e.data, Buffer.alloc((512 - (e.data.length % 512)) % 512));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sums = (files: [string, Buffer][]): Buffer =>
  Buffer.from(files.map(([n, d]) => `${sha(d)}  ${n}\n`).join(''));

interface Meta {
  Version: number;
  ID: string;
  Index: number;
  Term: number;
  Peers: string;
  Configuration: { Servers: { Suffrage: number; ID: string; Address: string }[] };
  ConfigurationIndex: number;
  Size: number;
}

/** An archive built here from parts (meta.json re-encoded, SHA256SUMS recomputed unless given). */
function archive(
  meta: Meta | Buffer,
  state: Buffer,
  o: { sums?: Buffer; extra?: [string, Buffer] } = {},
): Buffer {
  const metaJson = Buffer.isBuffer(meta) ? meta : Buffer.from(`${JSON.stringify(meta)}\n`);
  const files: { name: string; data: Buffer }[] = [
    { name: 'meta.json', data: metaJson },
    { name: 'state.bin', data: state },
  ];
  if (o.extra) files.push({ name: o.extra[0], data: o.extra[1] });
  files.push({
    name: 'SHA256SUMS',
    data:
      o.sums ??
      sums([
        ['meta.json', metaJson],
        ['state.bin', state],
      ]),
  });
  return gzipSync(tar(files));
}

/** state.bin's records: a type byte, a JSON row, a newline; `bytes` counts the header with the first. */
function records(state: Buffer): {
  header: { LastIndex: number };
  rows: { type: number; row: any; bytes: number }[];
} {
  const end = state.indexOf(10);
  const header = JSON.parse(state.subarray(0, end).toString()) as { LastIndex: number };
  const rows: { type: number; row: any; bytes: number }[] = [];
  let counted = 0;
  for (let pos = end + 1; pos < state.length;) {
    const next = state.indexOf(10, pos + 1);
    rows.push({
      type: state[pos]!,
      row: JSON.parse(state.subarray(pos + 1, next).toString()),
      bytes: next + 1 - counted,
    });
    counted = pos = next + 1;
  }
  return { header, rows };
}

/** raft's encodePeers: msgpack of the voters' addresses as raw strings. */
function decodePeers(b64: string): string[] {
  const b = Buffer.from(b64, 'base64');
  assert.equal(b[0]! & 0xf0, 0x90, 'a msgpack fixarray');
  const out: string[] = [];
  let pos = 1;
  for (let i = 0; i < (b[0]! & 0x0f); i++) {
    assert.equal(b[pos]! & 0xe0, 0xa0, 'a msgpack fixraw');
    const n = b[pos]! & 0x1f;
    out.push(b.subarray(pos + 1, pos + 1 + n).toString());
    pos += 1 + n;
  }
  return out;
}

/** formatter.go ByteSize: one decimal, rounded half to even as strconv.FormatFloat does. */
function byteSize(n: number): string {
  if (n === 0) return '0';
  const [unit, size] = (
    [
      ['KB', 1024],
      ['B', 1],
    ] as const
  ).find(([, s]) => n >= s)!;
  const q = Math.floor((n * 10) / size);
  const rest = n * 10 - q * size;
  const t = 2 * rest > size || (2 * rest === size && q % 2 === 1) ? q + 1 : q;
  const text = `${Math.floor(t / 10)}.${t % 10}`.replace(/\.0$/, '');
  return `${text}${unit}`;
}

/** tabwriter(minwidth 8, padding 6): every column but the last padded to its widest cell + 6. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.slice(0, -1).map((_, i) => Math.max(8, ...rows.map((r) => r[i]!.length + 6)));
  return rows.map((r) => r.map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c)).join(''));
}

const TYPE_NAMES: Record<number, string> = {
  0: 'Register',
  2: 'KVS',
  5: 'Tombstone',
  9: 'Autopilot',
  11: 'ACLBootstrap',
  13: 'ConnectCA',
  16: 'Index',
  17: 'ACLToken',
  19: 'ACLPolicy',
  31: 'SystemMetadata',
};

interface Token {
  AccessorID: string;
  SecretID: string;
  CreateIndex: number;
}

describe('stand-in snapshots (save, restore into a fresh cluster, inspect)', () => {
  let root: string;
  const c1: Agent[] = [];
  const c2: Agent[] = [];
  let client: Agent;
  let lone: Agent;
  let c2Secret = '';
  let reader: Token;
  let saved: { body: Buffer; meta: Meta; state: Buffer; index: number };

  const call = (ip: string, path: string, o: Parameters<typeof consulCall>[2] = {}): Promise<HttpResult> =>
    consulCall(ip, path, o);
  const raftOf = async (a: Agent, token: string): Promise<Record<string, string>> => {
    const r = await call(a.ip, '/v1/agent/self', { token });
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { Stats: { raft: Record<string, string> } }).Stats.raft;
  };
  const leaderOf = async (agents: Agent[]): Promise<string> => {
    const leaders = await Promise.all(agents.map((a) => a.leader().catch(() => '')));
    return leaders[0] && leaders.every((l) => l === leaders[0]) ? leaders[0] : '';
  };
  const byAddr = (agents: Agent[], addr: string): Agent => agents.find((a) => `${a.ip}:8300` === addr)!;
  const denied = (accessor: string): string =>
    `Permission denied: token with AccessorID '${accessor}' lacks permission 'acl:write'`;

  before(async () => {
    root = tempDir('standin-snapshot-');
    for (const [i, ip] of C1_SERVERS.entries())
      c1.push(
        new Agent(
          { ip, name: `c1-server-${i + 1}`, server: true, retryJoin: C1_SERVERS, extra: C1_ACL },
          root,
        ).start(),
      );
    client = new Agent(
      {
        ip: C1_CLIENT,
        name: 'c1-client',
        retryJoin: C1_SERVERS,
        extra: { ...C1_ACL, acl: { ...C1_ACL.acl, tokens: { ...C1_ACL.acl.tokens, agent: C1_SECRET } } },
      },
      root,
    ).start();
    for (const [i, ip] of C2_SERVERS.entries())
      c2.push(
        new Agent(
          { ip, name: `c2-server-${i + 1}`, server: true, retryJoin: C2_SERVERS, extra: C2_ACL },
          root,
        ).start(),
      );
    lone = new Agent({ ip: LONE, name: 'lone', server: true, bootstrapExpect: 2 }, root).start();

    await waitFor('a leader agreed in c1 (and by its client)', () => leaderOf([...c1, client]), 30000);
    await waitFor('a leader agreed in c2', () => leaderOf(c2), 30000);
    await waitFor(
      "c1's initial management token",
      async () => (await call(C1_SERVERS[0]!, '/v1/acl/token/self', { token: C1_SECRET })).status === 200,
      20000,
    );
    c2Secret = await waitFor(
      'c2 bootstrapped through the API',
      async () => {
        const r = await call(C2_SERVERS[1]!, '/v1/acl/bootstrap', { method: 'PUT' });
        return r.status === 200 ? (JSON.parse(r.body) as Token).SecretID : '';
      },
      20000,
    );

    const put = async (
      ip: string,
      path: string,
      token: string,
      body?: unknown,
      method = 'PUT',
    ): Promise<string> => {
      const r = await call(ip, path, { method, token, ...(body === undefined ? {} : { body }) });
      assert.equal(r.status, 200, `${method} ${path}: ${r.body}`);
      return r.body;
    };
    await put(C1_CLIENT, '/v1/kv/app/config', C1_SECRET, 'v1');
    await put(C1_CLIENT, '/v1/kv/app/db/url', C1_SECRET, 'postgres://db');
    await put(C1_CLIENT, '/v1/kv/tmp', C1_SECRET, 'gone');
    await put(C1_CLIENT, '/v1/kv/tmp', C1_SECRET, undefined, 'DELETE');
    await put(C1_CLIENT, '/v1/operator/autopilot/configuration', C1_SECRET, { MaxTrailingLogs: 333 });
    await put(C1_CLIENT, '/v1/acl/policy', C1_SECRET, {
      Name: 'kv-read',
      Rules: 'key_prefix "" {\n  policy = "read"\n}\n',
    });
    reader = JSON.parse(
      await put(C1_CLIENT, '/v1/acl/token', C1_SECRET, {
        Description: 'reader',
        Policies: [{ Name: 'kv-read' }],
      }),
    ) as Token;
    await put(C2_SERVERS[0]!, '/v1/kv/only-in-2', c2Secret, 'c2');
  });

  after(cleanup);

  it('saves from a client through the leader: a gzip tar of meta.json, state.bin, SHA256SUMS', async () => {
    const r = await raw(C1_CLIENT, '/v1/snapshot', { token: C1_SECRET });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers['content-type'], 'application/x-gzip');
    assert.equal(r.headers['x-consul-knownleader'], 'true');
    assert.match(String(r.headers['x-consul-lastcontact']), /^\d+$/);
    const index = Number(r.headers['x-consul-index']);

    const entries = untar(gunzipSync(r.body));
    assert.deepEqual(
      entries.map((e) => [e.name, e.mode, e.type]),
      [
        ['meta.json', 0o600, '0'],
        ['state.bin', 0o600, '0'],
        ['SHA256SUMS', 0o600, '0'],
      ],
    );
    const [metaFile, stateFile, sumsFile] = entries as [Entry, Entry, Entry];
    assert.ok(entries.every((e) => e.mtime === metaFile.mtime));
    assert.ok(Math.abs(metaFile.mtime - Date.now() / 1000) < 120, 'ModTime is now');
    assert.deepEqual(
      sumsFile.data.toString().split('\n').sort(),
      ['', `${sha(metaFile.data)}  meta.json`, `${sha(stateFile.data)}  state.bin`].sort(),
    );

    assert.ok(metaFile.data.toString().endsWith('}\n'), 'json.Encoder ends meta.json with a newline');
    const meta = JSON.parse(metaFile.data.toString()) as Meta;
    assert.deepEqual(Object.keys(meta), [
      'Version',
      'ID',
      'Index',
      'Term',
      'Peers',
      'Configuration',
      'ConfigurationIndex',
      'Size',
    ]);
    assert.equal(meta.Version, 1);
    assert.equal(meta.Index, index);
    assert.match(meta.ID, new RegExp(`^${meta.Term}-${meta.Index}-\\d{13}$`));
    assert.equal(meta.Size, stateFile.data.length);
    const config = JSON.parse(
      (await call(C1_CLIENT, '/v1/operator/raft/configuration', { token: C1_SECRET })).body,
    ) as {
      Servers: { ID: string; Address: string; Voter: boolean }[];
      Index: number;
    };
    assert.deepEqual(
      [...meta.Configuration.Servers].sort((a, b) => (a.Address < b.Address ? -1 : 1)),
      config.Servers.map((s) => ({ Suffrage: 0, ID: s.ID, Address: s.Address })).sort((a, b) =>
        a.Address < b.Address ? -1 : 1,
      ),
    );
    assert.equal(meta.ConfigurationIndex, config.Index);
    assert.deepEqual(
      decodePeers(meta.Peers).sort(),
      C1_SERVERS.map((ip) => `${ip}:8300`),
    );

    const { header, rows } = records(stateFile.data);
    assert.equal(header.LastIndex, meta.Index);
    const kv = rows
      .filter((x) => x.type === 2)
      .map((x) => [x.row.key, Buffer.from(x.row.value, 'base64').toString()]);
    assert.deepEqual(kv, [
      ['app/config', 'v1'],
      ['app/db/url', 'postgres://db'],
    ]);
    assert.deepEqual(
      rows.filter((x) => x.type === 5).map((x) => x.row.Key),
      ['tmp'],
    );
    assert.ok(rows.some((x) => x.type === 17 && x.row.AccessorID === reader.AccessorID));

    // The leader cut the raft snapshot (the client's server only forwarded the request).
    const leader = byAddr(c1, await leaderOf(c1));
    assert.equal(Number((await raftOf(leader, C1_SECRET)).last_snapshot_index), meta.Index);
    saved = { body: r.body, meta, state: stateFile.data, index };
  });

  it('answers ?stale from the follower asked, at its own applied index', async () => {
    const leaderAddr = await leaderOf(c1);
    const follower = c1.find((a) => `${a.ip}:8300` !== leaderAddr)!;
    const r = await raw(follower.ip, '/v1/snapshot?stale', { token: C1_SECRET });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers['x-consul-knownleader'], 'true');
    const meta = JSON.parse(untar(gunzipSync(r.body))[0]!.data.toString()) as Meta;
    assert.equal(Number(r.headers['x-consul-index']), meta.Index);
    assert.equal(Number((await raftOf(follower, C1_SECRET)).last_snapshot_index), meta.Index);
  });

  it('needs acl:write: other tokens and the anonymous token get 403', async () => {
    for (const [method, path] of [
      ['GET', '/v1/snapshot'],
      ['PUT', '/v1/snapshot'],
    ] as const) {
      const r = await raw(C1_CLIENT, path, {
        method,
        token: reader.SecretID,
        ...(method === 'PUT' ? { body: saved.body } : {}),
      });
      assert.deepEqual([r.status, r.body.toString()], [403, denied(reader.AccessorID)]);
    }
    const anon = await raw(C1_SERVERS[0]!, '/v1/snapshot');
    assert.deepEqual(
      [anon.status, anon.body.toString()],
      [
        403,
        "Permission denied: anonymous token lacks permission 'acl:write'. The anonymous token is used implicitly when a request does not specify a token.",
      ],
    );
    const unknown = await raw(C1_SERVERS[0]!, '/v1/snapshot', {
      token: 'b0b0b0b0-0000-4000-8000-000000000000',
    });
    assert.deepEqual([unknown.status, unknown.body.toString()], [403, 'ACL not found']);
    const cli = await runCli(['snapshot', 'save', join(root, 'denied.snap')], {
      CONSUL_HTTP_ADDR: `${C1_CLIENT}:8500`,
      CONSUL_HTTP_TOKEN: reader.SecretID,
    });
    assert.deepEqual(
      [cli.code, cli.stderr],
      [1, `Error saving snapshot: Unexpected response code: 403 (${denied(reader.AccessorID)})\n`],
    );
    assert.ok(!existsSync(join(root, 'denied.snap.unverified')));
  });

  it('answers No cluster leader at once without a leader; ?stale takes nothing before anything was applied', async () => {
    const t0 = Date.now();
    const r = await raw(lone.ip, '/v1/snapshot');
    assert.deepEqual([r.status, r.body.toString()], [500, 'No cluster leader']);
    assert.ok(Date.now() - t0 < 3000, 'a snapshot is not held for rpc_hold_timeout');
    const stale = await raw(lone.ip, '/v1/snapshot?stale');
    assert.deepEqual(
      [stale.status, stale.body.toString()],
      [500, 'Raft error when taking snapshot: nothing new to snapshot'],
    );
    const put = await raw(lone.ip, '/v1/snapshot', { method: 'PUT', body: saved.body });
    assert.deepEqual([put.status, put.body.toString()], [500, 'No cluster leader']);
    const putStale = await raw(lone.ip, '/v1/snapshot?stale', { method: 'PUT', body: saved.body });
    assert.deepEqual([putStale.status, putStale.body.toString()], [500, 'stale not allowed for restore']);
  });

  it("refuses damaged archives with Consul's texts and leaves the cluster as it was", async () => {
    const { meta, state } = saved;
    const metaJson = Buffer.from(`${JSON.stringify(meta)}\n`);
    const flipped = Buffer.from(state);
    flipped.writeUInt8(flipped.readUInt8(40) ^ 0x01, 40);
    const withType = (t: number): Buffer => Buffer.concat([state, Buffer.from([t]), Buffer.from('{}\n')]);
    const plusType = (t: number): Buffer => archive({ ...meta, Size: withType(t).length }, withType(t));
    const tarred = gunzipSync(archive(meta, state));
    const cases: [string, Buffer, string][] = [
      [
        'not gzip',
        Buffer.from('this is not a snapshot'),
        'failed to decompress snapshot: gzip: invalid header',
      ],
      [
        'a byte of state.bin changed',
        archive(metaJson, flipped, {
          sums: sums([
            ['meta.json', metaJson],
            ['state.bin', state],
          ]),
        }),
        'failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin"',
      ],
      [
        'another file',
        archive(meta, state, { extra: ['extra.txt', Buffer.from('x')] }),
        'failed to read snapshot file: unexpected file "extra.txt" in snapshot',
      ],
      [
        'no hash for state.bin',
        archive(metaJson, state, { sums: sums([['meta.json', metaJson]]) }),
        'failed to read snapshot file: failed checking integrity of snapshot: file missing for "state.bin"',
      ],
      [
        'a hash for a file that is not there',
        archive(metaJson, state, {
          sums: sums([
            ['meta.json', metaJson],
            ['state.bin', state],
            ['notes.txt', state],
          ]),
        }),
        'failed to read snapshot file: failed checking integrity of snapshot: list missing hash for "notes.txt"',
      ],
      [
        'a tar header that does not add up to its checksum',
        gzipSync(Buffer.concat([Buffer.from('x'), tarred.subarray(1)])),
        'failed to read snapshot file: failed reading snapshot: archive/tar: invalid tar header',
      ],
      [
        'data after the tar',
        gzipSync(Buffer.concat([tarred, Buffer.from('trailing')])),
        '8 unread uncompressed bytes remain',
      ],
      [
        'a meta.json field of the wrong type',
        archive(Buffer.from(`${JSON.stringify({ ...meta, Index: 'seven' })}\n`), state),
        'failed to read snapshot file: failed to decode snapshot metadata: json: cannot unmarshal string into Go struct field SnapshotMeta.Index of type uint64',
      ],
      ['an entry type the stand-in does not know', plusType(50), 'Unrecognized msg type 50'],
      [
        'an Enterprise entry type',
        plusType(70),
        'msg type <70> is a Consul Enterprise log entry. Consul CE cannot restore it',
      ],
      [
        'a Size that is not state.bin',
        archive({ ...meta, Size: meta.Size + 1 }, state),
        `Raft error when restoring snapshot: failed to write snapshot, size didn't match (${meta.Size} != ${meta.Size + 1})`,
      ],
      [
        'a newer snapshot version',
        archive({ ...meta, Version: 2 }, state),
        'Raft error when restoring snapshot: unsupported snapshot version 2',
      ],
    ];
    const leader = byAddr(c2, await leaderOf(c2));
    const snapshotBefore = Number((await raftOf(leader, c2Secret)).last_snapshot_index);
    for (const [what, body, text] of cases) {
      const r = await raw(C2_SERVERS[2]!, '/v1/snapshot', { method: 'PUT', token: c2Secret, body });
      assert.deepEqual([r.status, r.body.toString()], [500, text], what);
    }
    const stale = await raw(C2_SERVERS[2]!, '/v1/snapshot?stale', {
      method: 'PUT',
      token: c2Secret,
      body: saved.body,
    });
    assert.deepEqual([stale.status, stale.body.toString()], [500, 'stale not allowed for restore']);
    assert.equal(Number((await raftOf(leader, c2Secret)).last_snapshot_index), snapshotBefore);
    assert.equal((await call(leader.ip, '/v1/kv/only-in-2?raw', { token: c2Secret })).body, 'c2');
    assert.equal((await call(leader.ip, '/v1/kv/app/config', { token: c2Secret })).status, 404);
  });

  it("restores into the fresh cluster: every server has c1's state, c2 keeps its peers and its leader", async () => {
    const leaderBefore = await leaderOf(c2);
    const leader = byAddr(c2, leaderBefore);
    const follower = c2.find((a) => a !== leader)!;
    const lastBefore = Number((await raftOf(leader, c2Secret)).last_log_index);
    const file = join(root, 'c1.snap');
    writeFileSync(file, saved.body);
    // Through a follower, which forwards the restore to the leader.
    const r = await runCli(['snapshot', 'restore', file], {
      CONSUL_HTTP_ADDR: `${follower.ip}:8500`,
      CONSUL_HTTP_TOKEN: c2Secret,
    });
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'Restored snapshot\n', '']);
    // At max(last index, the snapshot's index) + 1: a hole in the log, so followers need the snapshot.
    const logged = /restored user snapshot: index=(\d+)/.exec(leader.out);
    assert.ok(logged, "the leader's log says where it restored");
    const restoredAt = Number(logged[1]);
    assert.ok(restoredAt >= Math.max(lastBefore, saved.meta.Index) + 1, `restored at ${restoredAt}`);

    // c2's own token went with its state; c1's tokens are the valid ones now.
    const gone = await call(leader.ip, '/v1/acl/token/self', { token: c2Secret });
    assert.deepEqual([gone.status, gone.body], [403, 'ACL not found']);
    for (const a of c2) {
      await waitFor(
        `${a.name} has c1's keys`,
        async () => (await call(a.ip, '/v1/kv/app/config?stale&raw', { token: C1_SECRET })).body === 'v1',
        15000,
      );
      assert.equal((await call(a.ip, '/v1/kv/only-in-2?stale', { token: C1_SECRET })).status, 404);
      const raft = await raftOf(a, C1_SECRET);
      assert.equal(Number(raft.last_snapshot_index), restoredAt, `${a.name}'s snapshot`);
      assert.ok(Number(raft.commit_index) > saved.meta.Index, `${a.name}'s commit index`);
      const peers = JSON.parse((await call(a.ip, '/v1/status/peers')).body) as string[];
      assert.deepEqual(
        [...peers].sort(),
        C2_SERVERS.map((ip) => `${ip}:8300`),
      );
    }
    for (const a of c2.filter((x) => x !== leader)) assert.match(a.out, /Installed remote snapshot/);
    assert.equal(await leaderOf(c2), leaderBefore);

    const self = await call(follower.ip, '/v1/acl/token/self', { token: reader.SecretID });
    assert.equal((JSON.parse(self.body) as Token).AccessorID, reader.AccessorID);
    const bootstrap = await call(leader.ip, '/v1/acl/bootstrap', { method: 'PUT' });
    const c1Management = JSON.parse(
      (await call(C1_SERVERS[0]!, '/v1/acl/token/self', { token: C1_SECRET })).body,
    ) as Token;
    assert.deepEqual(
      [bootstrap.status, bootstrap.body],
      [403, `Permission denied: ACL bootstrap no longer allowed (reset index: ${c1Management.CreateIndex})`],
    );
    const autopilot = JSON.parse(
      (await call(leader.ip, '/v1/operator/autopilot/configuration', { token: C1_SECRET })).body,
    ) as { MaxTrailingLogs: number };
    assert.equal(autopilot.MaxTrailingLogs, 333);
    // Restored entries keep their indexes; new writes come after the restored snapshot.
    const kv = await call(leader.ip, '/v1/kv/app/config', { token: C1_SECRET });
    const entry = (JSON.parse(kv.body) as { ModifyIndex: number }[])[0]!;
    assert.equal(Number(kv.headers['x-consul-index']), entry.ModifyIndex);
    assert.ok(entry.ModifyIndex <= saved.meta.Index);
    assert.equal(
      (await call(follower.ip, '/v1/kv/after', { method: 'PUT', token: C1_SECRET, body: 'x' })).body,
      'true',
    );
    const written = await call(leader.ip, '/v1/kv/after', { token: C1_SECRET });
    assert.ok(Number(written.headers['x-consul-index']) > restoredAt);
  });

  it('consul snapshot save and inspect print what Consul prints', async () => {
    const env = { CONSUL_HTTP_ADDR: `${C1_CLIENT}:8500`, CONSUL_HTTP_TOKEN: C1_SECRET };
    const none = await runCli(['snapshot', 'save'], env);
    assert.deepEqual([none.code, none.stderr], [1, 'Missing FILE argument\n']);
    const two = await runCli(['snapshot', 'save', 'a', 'b'], env);
    assert.deepEqual([two.code, two.stderr], [1, 'Too many arguments (expected 1, got 2)\n']);
    const nobody = await runCli(['snapshot', 'save', join(root, 'x.snap')], {
      CONSUL_HTTP_ADDR: `${NOBODY}:8500`,
    });
    assert.deepEqual(
      [nobody.code, nobody.stderr],
      [
        1,
        `Error saving snapshot: Get "http://${NOBODY}:8500/v1/snapshot": dial tcp ${NOBODY}:8500: connect: connection refused\n`,
      ],
    );

    const file = join(root, 'backup.snap');
    const r = await runCli(['snapshot', 'save', file], env);
    assert.equal(r.code, 0, r.stderr);
    const m = /^Saved and verified snapshot to index (\d+)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(!existsSync(`${file}.unverified`));
    const entries = untar(gunzipSync(readFileSync(file)));
    const meta = JSON.parse(entries[0]!.data.toString()) as Meta;
    assert.equal(meta.Index, Number(m[1]));

    const { rows } = records(entries[1]!.data);
    const stats = new Map<string, { count: number; size: number }>();
    for (const x of rows) {
      const s = stats.get(TYPE_NAMES[x.type]!) ?? { count: 0, size: 0 };
      stats.set(TYPE_NAMES[x.type]!, { count: s.count + 1, size: s.size + x.bytes });
    }
    const sorted = [...stats].sort(([a, x], [b, y]) => y.size - x.size || (a < b ? -1 : 1));
    const total = rows.reduce((n, x) => n + x.bytes, 0);
    const head = table([
      [' ID', meta.ID],
      [' Size', String(meta.Size)],
      [' Index', String(meta.Index)],
      [' Term', String(meta.Term)],
      [' Version', String(meta.Version)],
    ]);
    const types = table([
      [' Type', 'Count', 'Size'],
      [' ----', '----', '----'],
      ...sorted.map(([name, s]) => [` ${name}`, String(s.count), byteSize(s.size)]),
      [' ----', '----', '----'],
      [' Total', '', byteSize(total)],
    ]);
    const inspect = await runCli(['snapshot', 'inspect', file]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.stdout, `${[...head, '', ...types].join('\n')}\n`);

    const kvRows = rows.filter((x) => x.type === 2);
    const prefixes = new Map<string, { count: number; size: number }>();
    for (const x of kvRows) {
      const p = (x.row.key as string).split('/').slice(0, 2).join('/');
      const s = prefixes.get(p) ?? { count: 0, size: 0 };
      prefixes.set(p, { count: s.count + 1, size: s.size + x.bytes });
    }
    assert.deepEqual([...prefixes.keys()].sort(), ['app/config', 'app/db']);
    const kvTable = table([
      [' Key Name', 'Count', 'Size'],
      [' ----', '----', '----'],
      ...[...prefixes]
        .sort(([a, x], [b, y]) => y.size - x.size || (a < b ? -1 : 1))
        .map(([name, s]) => [` ${name}`, String(s.count), byteSize(s.size)]),
      [' ----', '----', '----'],
      [' Total', '', byteSize(kvRows.reduce((n, x) => n + x.bytes, 0))],
    ]);
    const detailed = await runCli(['snapshot', 'inspect', '-kvdetails', file]);
    assert.equal(detailed.stdout, `${[...head, '', ...types, '', ...kvTable].join('\n')}\n`);

    const missing = await runCli(['snapshot', 'inspect', join(root, 'nope.snap')]);
    assert.deepEqual(
      [missing.code, missing.stderr],
      [1, `Error opening snapshot file: open ${join(root, 'nope.snap')}: no such file or directory\n`],
    );
    const junk = join(root, 'junk.snap');
    writeFileSync(junk, 'not a snapshot');
    const bad = await runCli(['snapshot', 'inspect', junk]);
    assert.deepEqual(
      [bad.code, bad.stderr],
      [1, 'Error reading snapshot: failed to decompress snapshot: gzip: invalid header\n'],
    );
  });

  it('consul snapshot restore reports what the server refused, with the token from CONSUL_HTTP_TOKEN_FILE', async () => {
    const junk = join(root, 'junk.snap');
    writeFileSync(junk, 'not a snapshot');
    const tokenFile = join(root, 'token');
    writeFileSync(tokenFile, `${C1_SECRET}\n`);
    const env = { CONSUL_HTTP_ADDR: `${C2_SERVERS[0]}:8500`, CONSUL_HTTP_TOKEN_FILE: tokenFile };
    const bad = await runCli(['snapshot', 'restore', junk], env);
    assert.deepEqual(
      [bad.code, bad.stdout, bad.stderr],
      [
        1,
        '',
        'Error restoring snapshot: Unexpected response code: 500 (failed to decompress snapshot: gzip: invalid header)\n',
      ],
    );
    const missing = await runCli(['snapshot', 'restore', join(root, 'nope.snap')], env);
    assert.deepEqual(
      [missing.code, missing.stderr],
      [1, `Error opening snapshot file: open ${join(root, 'nope.snap')}: no such file or directory\n`],
    );
    writeFileSync(tokenFile, `${reader.SecretID}\n`);
    const refused = await runCli(['snapshot', 'restore', join(root, 'c1.snap')], env);
    assert.deepEqual(
      [refused.code, refused.stderr],
      [1, `Error restoring snapshot: Unexpected response code: 403 (${denied(reader.AccessorID)})\n`],
    );
  });
});
