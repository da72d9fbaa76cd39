/**
 * Output formats that drifted from Consul 1.20, on 127.0.0.95-98 (and the runtime config the
 * stand-in's raft and KV read their limits from):
 *  - `consul operator raft list-peers`: the columns and cells of Consul's
 *    command/operator/raft/listpeers/operator_raft_list.go, which reads one
 *    GET /v1/operator/raft/configuration and each server's `LastIndex` in it;
 *  - `consul keyring -remove KEY` and the DELETE /v1/operator/keyring it sends: a JSON body
 *    `{"Key":"..."}` (api/operator_keyring.go; the Go client writes it with json.Encoder, so with a
 *    trailing newline), read however it is framed (Content-Length or chunked), decoded the way
 *    Consul's decodeBody does (the first JSON value, keys matched case-insensitively).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { Agent, cleanup, parseTable, runCli, tempDir, waitFor } from './harness.js';
import { LoopbackTransport } from './loopback-transport.js';
import { parseRaftPeersTable } from '../../src/consul/parse/raft-peers-table.js';
import { keyringChangeStep, parseKeyringList } from '../../src/consul/api/keyring.js';
import { StepExecutor } from '../../src/runner/step-executor.js';
import { Secret } from '../../src/shell/secret.js';
import type { HttpRequest, HttpResponse } from '../../src/ssh/transport.js';
// @ts-expect-error plain ESM JavaScript without type declarations
import { formatRaftPeers } from '../lab/standin/lib/cli/status-commands.mjs';
// @ts-expect-error plain ESM JavaScript without type declarations
import { buildRuntime } from '../lab/standin/lib/config.mjs';
// @ts-expect-error plain ESM JavaScript without type declarations
import { raftTiming } from '../lab/standin/lib/raft-timing.mjs';

const format = formatRaftPeers as (conf: unknown) => string;

const server = (id: string, node: string, leader: boolean, lastIndex: number | undefined, extra = {}) => ({
  ID: id,
  Node: node,
  Address: `127.0.0.${id}:8300`,
  Leader: leader,
  ProtocolVersion: '3',
  Voter: true,
  ...(lastIndex === undefined ? {} : { LastIndex: lastIndex }),
  ...extra,
});

describe('consul operator raft list-peers, formatted as Consul 1.20 does', () => {
  it('prints Commit Index and Trails Leader By: - for the leader, 1 commit, N commits, 0 commits', () => {
    const text = format({
      Servers: [
        server('1', 'alice', false, 1167),
        server('2', 'bob', true, 1167),
        server('3', 'carol', false, 1166),
        server('4', 'dave', false, 1159, { Voter: false, ProtocolVersion: '' }),
      ],
      Index: 42,
    });
    assert.equal(
      text,
      [
        'Node   ID  Address         State     Voter  RaftProtocol  Commit Index  Trails Leader By',
        'alice  1   127.0.0.1:8300  follower  true   3             1167          0 commits',
        'bob    2   127.0.0.2:8300  leader    true   3             1167          -',
        'carol  3   127.0.0.3:8300  follower  true   3             1166          1 commit',
        'dave   4   127.0.0.4:8300  follower  false  <=1           1159          8 commits',
      ].join('\n'),
    );
    // drover reads exactly this layout.
    assert.deepEqual(
      parseRaftPeersTable(text).map((p) => [p.node, p.state, p.commitIndex, p.trailsLeaderBy]),
      [
        ['alice', 'follower', 1167, 0],
        ['bob', 'leader', 1167, 0],
        ['carol', 'follower', 1166, 1],
        ['dave', 'follower', 1159, 8],
      ],
    );
  });

  it('computes in uint64 as Consul does: a missing LastIndex is 0, no leader or a server ahead wraps around', () => {
    const text = format({
      Servers: [server('1', 'alice', false, undefined), server('2', 'bob', false, 5)],
    });
    assert.equal(
      text,
      [
        'Node   ID  Address         State     Voter  RaftProtocol  Commit Index  Trails Leader By',
        'alice  1   127.0.0.1:8300  follower  true   3             0             0 commits',
        'bob    2   127.0.0.2:8300  follower  true   3             5             18446744073709551611 commits',
      ].join('\n'),
    );
    assert.equal(
      format({ Servers: [server('1', 'alice', true, 10), server('2', 'bob', false, 11)] }).split('\n')[2],
      'bob    2   127.0.0.2:8300  follower  true   3             11            18446744073709551615 commits',
    );
  });
});

type Runtime = Record<string, unknown> & { raw: Record<string, unknown> };
const build = buildRuntime as (cfg: Record<string, unknown>) => Runtime;
const timing = raftTiming as (rt: Runtime) => {
  snapshotThreshold: number;
  snapshotIntervalMs: number;
  trailingLogs: number;
};

describe('runtime config: raft snapshot settings and limits.kv_max_value_size', () => {
  const base = { data_dir: tmpdir(), bind_addr: '127.0.0.95' };

  it("has Consul's defaults: 16384 entries, 30s, 10240 trailing logs, 512 KiB values", () => {
    const rt = build(base);
    assert.equal(rt.raftSnapshotThreshold, 16384);
    assert.equal(rt.raftSnapshotIntervalMs, 30000);
    assert.equal(rt.raftTrailingLogs, 10240);
    assert.deepEqual(rt.limits, { kvMaxValueSize: 512 * 1024 });
  });

  it('takes them from the config, and raft reads them from the runtime config, not the raw files', () => {
    const rt = build({
      ...base,
      raft_snapshot_threshold: 30,
      raft_snapshot_interval: '1500ms',
      raft_trailing_logs: 10,
      limits: { kv_max_value_size: 1024 },
    });
    assert.deepEqual(
      [rt.raftSnapshotThreshold, rt.raftSnapshotIntervalMs, rt.raftTrailingLogs, rt.limits],
      [30, 1500, 10, { kvMaxValueSize: 1024 }],
    );
    rt.raw = {
      raft_snapshot_threshold: 1,
      raft_snapshot_interval: '1h',
      raft_trailing_logs: 1,
      limits: { kv_max_value_size: 1 },
    };
    const t = timing(rt);
    assert.deepEqual([t.snapshotThreshold, t.snapshotIntervalMs, t.trailingLogs], [30, 1500, 10]);
  });
});

/**
 * One raw HTTP request with the body framed as asked: `length` with a Content-Length, `chunks`
 * with Transfer-Encoding: chunked (one chunk per write), `unframed` with neither (what node:http
 * does by default for a DELETE body).
 */
function rawRequest(
  host: string,
  method: string,
  path: string,
  body: { length: string } | { chunks: string[] } | { unframed: string } | null,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (body && 'length' in body) headers['Content-Length'] = String(Buffer.byteLength(body.length));
    if (body && 'chunks' in body) headers['Transfer-Encoding'] = 'chunked';
    const req = http.request({ host, port: 8500, method, path, headers, timeout: 15000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body && 'length' in body) req.end(body.length);
    else if (body && 'unframed' in body) req.end(body.unframed);
    else if (body) {
      const chunks = [...body.chunks];
      const next = (): void => {
        const c = chunks.shift();
        if (c === undefined) req.end();
        else req.write(c, () => setTimeout(next, 20));
      };
      next();
    } else req.end();
  });
}

/**
 * LoopbackTransport, but with a request body framed as src/ssh/node-ssh-transport.ts frames it
 * (Content-Length). LoopbackTransport itself sends a DELETE body unframed (node:http's default for
 * DELETE), which neither Consul nor the stand-in reads as a body.
 */
class FramedLoopbackTransport extends LoopbackTransport {
  override http(req: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const body = req.body ?? '';
      const r = http.request(
        {
          host: req.host,
          port: req.port,
          path: req.path,
          method: req.method ?? 'GET',
          timeout: (req.timeoutSeconds ?? 5) * 1000,
          headers:
            req.body === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: {}, body: text }));
        },
      );
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.on('error', reject);
      r.end(body);
    });
  }
}

describe('live: list-peers and keyring -remove against a cluster on 127.0.0.95-98', () => {
  const IPS = ['127.0.0.95', '127.0.0.96', '127.0.0.97'];
  let servers: Agent[];
  let client: Agent;
  const keys: string[] = [];

  async function keygen(): Promise<string> {
    const r = await runCli(['keygen']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  }

  /** key -> [installed, of members] in the LAN pool, from the client's answer. */
  async function lanKeys(): Promise<Record<string, string>> {
    const r = await client.http('/v1/operator/keyring');
    assert.equal(r.status, 200, r.body);
    const lan = parseKeyringList(r.body).find((p) => !p.wan)!;
    return Object.fromEntries(lan.keys.map((k) => [k.key.reveal(), `${k.installed}/${lan.numNodes}`]));
  }

  async function install(key: string): Promise<void> {
    const r = await client.cli('keyring', '-install', key);
    assert.equal(r.code, 0, r.stderr);
  }

  before(async () => {
    const root = tempDir('standin-formats-');
    for (let i = 0; i < 6; i++) keys.push(await keygen());
    servers = IPS.map((ip, i) =>
      new Agent(
        { ip, name: `fmt-server-${i + 1}`, server: true, retryJoin: IPS, encrypt: keys[0]! },
        root,
      ).start(),
    );
    client = new Agent(
      {
        ip: '127.0.0.98',
        name: 'fmt-client',
        retryJoin: IPS,
        encrypt: keys[0]!,
        extra: { limits: { kv_max_value_size: 1024 } },
      },
      root,
    ).start();
    await waitFor(
      'three voters and a healthy autopilot state',
      async () => {
        const r = await servers[0]!.http('/v1/operator/autopilot/health');
        if (r.status !== 200) return false;
        const h = JSON.parse(r.body) as { Servers: { Voter: boolean }[] };
        return h.Servers.filter((s) => s.Voter).length === 3;
      },
      30000,
    );
    await waitFor('four members', async () => (await lanKeys())[keys[0]!] === '4/4', 20000);
  });

  after(cleanup);

  it('list-peers prints the Consul 1.20 table, which drover parses', async () => {
    const r = await client.cli('operator', 'raft', 'list-peers');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      /^Node {2,}ID {2,}Address {2,}State {2,}Voter {2,}RaftProtocol {2,}Commit Index {2,}Trails Leader By$/,
    );
    const cols = [
      'Node',
      'ID',
      'Address',
      'State',
      'Voter',
      'RaftProtocol',
      'Commit Index',
      'Trails Leader By',
    ];
    const rows = parseTable(r.stdout, cols);
    assert.equal(rows.length, 3);
    const leader = rows.filter((p) => p.State === 'leader');
    assert.equal(leader.length, 1);
    assert.equal(leader[0]!['Trails Leader By'], '-');
    const leaderIndex = BigInt(leader[0]!['Commit Index']!);
    for (const p of rows) {
      assert.match(p['Commit Index']!, /^\d+$/);
      assert.notEqual(p['Commit Index'], '0', 'autopilot has stats of every server');
      if (p.State !== 'follower') continue;
      const trails = (leaderIndex - BigInt(p['Commit Index']!) + 2n ** 64n) % 2n ** 64n;
      assert.equal(p['Trails Leader By'], trails === 1n ? '1 commit' : `${trails} commits`);
    }
    const peers = parseRaftPeersTable(r.stdout);
    assert.deepEqual(peers.map((p) => p.node).sort(), ['fmt-server-1', 'fmt-server-2', 'fmt-server-3']);
    assert.ok(peers.every((p) => p.commitIndex !== undefined && p.trailsLeaderBy !== undefined));
    // The cells come from the raft configuration's LastIndex, as in Consul.
    const conf = JSON.parse((await client.http('/v1/operator/raft/configuration')).body) as {
      Servers: { LastIndex: number }[];
    };
    assert.ok(conf.Servers.every((s) => typeof s.LastIndex === 'number'));
  });

  it('list-peers without a reachable agent fails as Consul does', async () => {
    const r = await runCli(['operator', 'raft', 'list-peers', '-http-addr=127.0.0.99:8500']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Error getting peers: Failed to retrieve raft configuration: Get "http:\/\/127\.0\.0\.99:8500\/v1\/operator\/raft\/configuration": dial tcp 127\.0\.0\.99:8500: connect: connection refused/,
    );
  });

  it('consul keyring -remove works, as the Go client sends it', async () => {
    await install(keys[1]!);
    assert.deepEqual(await lanKeys(), { [keys[0]!]: '4/4', [keys[1]!]: '4/4' });
    const r = await client.cli('keyring', '-remove', keys[1]!);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '==> Removing gossip encryption key...\n');
    assert.deepEqual(await lanKeys(), { [keys[0]!]: '4/4' });
  });

  it('DELETE /v1/operator/keyring reads the body framed by Content-Length, with the trailing newline', async () => {
    await install(keys[2]!);
    const r = await rawRequest('127.0.0.98', 'DELETE', '/v1/operator/keyring', {
      length: `${JSON.stringify({ Key: keys[2] })}\n`,
    });
    assert.deepEqual(r, { status: 200, body: '' });
    assert.deepEqual(await lanKeys(), { [keys[0]!]: '4/4' });
  });

  it('DELETE /v1/operator/keyring reads a chunked body split anywhere, and matches "key" case-insensitively', async () => {
    await install(keys[3]!);
    const json = JSON.stringify({ key: keys[3] });
    const r = await rawRequest('127.0.0.95', 'DELETE', '/v1/operator/keyring', {
      chunks: [json.slice(0, 3), json.slice(3, 20), json.slice(20), '\n'],
    });
    assert.deepEqual(r, { status: 200, body: '' });
    assert.deepEqual(await lanKeys(), { [keys[0]!]: '4/4' });
  });

  it('a body with no framing at all is no body, as in Go: 400 Request decode failed: EOF', async () => {
    const r = await rawRequest('127.0.0.97', 'DELETE', '/v1/operator/keyring', {
      unframed: JSON.stringify({ Key: keys[0] }),
    });
    assert.deepEqual(r, { status: 400, body: 'Request decode failed: EOF' });
  });

  it("drover's keyring remove step removes a key through the stand-in, framed as its SSH transport frames it", async () => {
    await install(keys[4]!);
    const steps = new StepExecutor(new FramedLoopbackTransport(), false, () => []);
    await steps.run(
      keyringChangeStep('remove', new Secret(keys[4]!), { host: '127.0.0.96', timeoutSeconds: 15 }),
    );
    assert.deepEqual(await lanKeys(), { [keys[0]!]: '4/4' });
  });

  it('answers a body it cannot decode with 400 Request decode failed, as Consul does', async () => {
    const cases: [string | null, RegExp][] = [
      [null, /^Request decode failed: EOF$/],
      ['   \n', /^Request decode failed: EOF$/],
      [`{"Key":"${keys[5]}"`, /^Request decode failed: unexpected EOF$/],
      ['Key=abc', /^Request decode failed: invalid character 'K' looking for beginning of value$/],
      [
        '{"Key":42}',
        /^Request decode failed: json: cannot unmarshal number into Go struct field keyringArgs\.Key of type string$/,
      ],
      [
        '["a"]',
        /^Request decode failed: json: cannot unmarshal array into Go value of type agent\.keyringArgs$/,
      ],
    ];
    for (const [body, want] of cases) {
      const r = await rawRequest(
        '127.0.0.98',
        'DELETE',
        '/v1/operator/keyring',
        body === null ? { length: '' } : { length: body },
      );
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body}`);
      assert.match(r.body, want, JSON.stringify(body));
    }
  });

  it('limits.kv_max_value_size of the agent that takes the PUT bounds a KV value', async () => {
    assert.equal((await client.http('/v1/kv/fmt/max', 'PUT', 'x'.repeat(1024))).body, 'true');
    const big = await rawRequest('127.0.0.98', 'PUT', '/v1/kv/fmt/max', { length: 'x'.repeat(1025) });
    assert.deepEqual(big, {
      status: 413,
      body: 'Request body(1025 bytes) too large, max size: 1024 bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.',
    });
    // A server with the default (512 KiB) takes the same value.
    assert.equal((await servers[0]!.http('/v1/kv/fmt/max', 'PUT', 'x'.repeat(1025))).body, 'true');
  });

  it('a refused removal reports every pool and member the way Consul joins the errors', async () => {
    const r = await servers[0]!.cli('keyring', '-remove', keys[0]!);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '==> Removing gossip encryption key...\n');
    const text = r.stderr;
    // go-multierror's list: 2 pool errors and 7 member messages (in any order within a pool).
    assert.match(
      text,
      /^error: Unexpected response code: 500 \(9 errors occurred:\n\t\* WAN error: 3\/3 nodes reported failure\n/,
    );
    for (let i = 1; i <= 3; i++) {
      assert.ok(text.includes(`\t* fmt-server-${i}.dc1: Removing the primary key is not allowed\n`), text);
      assert.ok(text.includes(`\t* fmt-server-${i}: Removing the primary key is not allowed\n`), text);
    }
    assert.ok(text.includes('\t* dc1 (LAN) error: 4/4 nodes reported failure\n'), text);
    assert.ok(text.includes('\t* fmt-client: Removing the primary key is not allowed\n'), text);
    assert.deepEqual(await lanKeys(), { [keys[0]!]: '4/4' });
  });
});
