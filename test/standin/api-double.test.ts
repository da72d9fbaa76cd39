/**
 * Conformance of the stand-in's HTTP answers with HashiCorp's own API double,
 * @hashicorp/consul-api-double (the fixtures the Consul UI's tests are served from), on
 * 127.0.0.90-92.
 *
 * How the double's templates are evaluated: the package is a tree of files named like the URL
 * (`v1/health/service/_`, where `_` stands for one path segment), each a JS template literal whose
 * `${...}` expressions build fake data. @hashicorp/api-double serves them: lib/find.js picks the
 * file (the exact path, else the last segment replaced by `_`, walking up), lib/render.js renders
 * it with backtick-template (the file's text evaluated as a template literal) and the variables of
 * vars/index.js: `fake` (faker 5), `location` (pathname with slice/get, search = the query),
 * `range` (array-range), `http` (method, headers, body, cookies) and `env(name, default)`. This file
 * does the same with Node built-ins only: `new Function` over the template text, `env` answering
 * its default (so CONSUL_* variables of the shell cannot change what is compared), and a small
 * seeded stand-in for the faker calls the templates use that returns values of faker's JSON types
 * (random.number a number, random.boolean a boolean, helpers.randomize one of its choices, anything
 * else a word). Each template is rendered for the very request sent to the stand-in, with 16 seeds;
 * the union of those renderings is the double's shape: a key seen in every rendering is required,
 * one seen in some is optional, and every JSON type seen at a path is allowed there.
 *
 * What is compared: key names at every depth and JSON types (string, number, bool, null, array,
 * object). A key the stand-in sends that the double never has, a required key it lacks, or a type
 * the double never has at that path, is a failure, unless ALLOWED lists it with a reason. Objects
 * that are maps in Consul (Meta, TaggedAddresses) are compared by their values' types only.
 *
 * Which endpoints: every one drover calls (DROVER_CALLS, checked against the `/v1/` paths in
 * src/), compared where the package describes it; the package only describes a few, so the
 * endpoints the stand-in serves that the double describes are compared too (EXTRA). drover's own
 * parsers must accept every live answer of the endpoints they read.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, cleanup, tempDir, waitFor, type HttpResult } from './harness.js';
import {
  parseAgentMembers,
  parseAgentSelf,
  parseConnectCaRoots,
  parseAutopilotHealth,
  parseRaftConfiguration,
  parseStatusLeader,
  parseStatusPeers,
} from '../../src/consul/api/api-responses.js';
import { parseCatalogService } from '../../src/consul/api/catalog-responses.js';
import { parseKeyringList } from '../../src/consul/api/keyring.js';
import { prng } from '../seeded-random.js';

const DOUBLE_DIR = dirname(
  createRequire(import.meta.url).resolve('@hashicorp/consul-api-double/package.json'),
);
const DOUBLE_VERSION = (
  JSON.parse(readFileSync(join(DOUBLE_DIR, 'package.json'), 'utf8')) as { version: string }
).version;
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
const SEEDS = 16;

// --- the double's templates, rendered as @hashicorp/api-double renders them ------------------------

/** api-double lib/find.js: the file for a URL path, or undefined when the package has none. */
export function findTemplate(urlPath: string): string | undefined {
  let parts = urlPath.replace(/^\/+/, '').split('/');
  for (let guard = 0; guard < 32 && parts.length > 1; guard++) {
    const file = join(DOUBLE_DIR, ...parts);
    if (existsSync(file) && statSync(file).isFile()) return file;
    if (parts[parts.length - 1] === '_') parts.pop();
    if (parts.length <= 1) return undefined;
    parts = [...parts.slice(0, -1), '_'];
  }
  return undefined;
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];

/** The faker 5 calls the templates make, with faker's result types (strings are plain words). */
function fakeFor(seed: number): unknown {
  const rand = prng(seed);
  const int = (min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));
  const word = (): string => WORDS[int(0, WORDS.length - 1)]!;
  const call = (ns: string, name: string, args: unknown[]): unknown => {
    switch (`${ns}.${name}`) {
      case 'random.number': {
        const o = (typeof args[0] === 'object' && args[0] !== null ? args[0] : { max: args[0] }) as {
          min?: number;
          max?: number;
        };
        return int(o.min ?? 0, o.max ?? 99999);
      }
      case 'random.boolean':
        return rand() < 0.5;
      case 'helpers.randomize': {
        const choices = Array.isArray(args[0]) ? args[0] : ['a', 'b', 'c'];
        return choices[int(0, choices.length - 1)];
      }
      case 'lorem.words':
        return Array.from({ length: typeof args[0] === 'number' ? args[0] : 3 }, word).join(' ');
      case 'internet.ip':
        return `10.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
      case 'random.uuid':
        return '2f1f1c3c-5a5e-4f55-9a8e-1d2c3b4a5f60';
      default:
        return word();
    }
  };
  return new Proxy(
    {},
    {
      get: (_t, ns) =>
        new Proxy(
          {},
          {
            get:
              (_u, name) =>
              (...args: unknown[]) =>
                call(String(ns), String(name), args),
          },
        ),
    },
  );
}

interface DoubleRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
}

/** One rendering of a template (backtick-template over the vars of api-double's vars/index.js). */
function render(template: string, req: DoubleRequest, seed: number): string {
  const split = req.path.split('/');
  const pathname = {
    toString: () => req.path,
    valueOf: () => req.path,
    slice: (a?: number, b?: number) => split.slice(a, b).join('/'),
    isDir: () => req.path.endsWith('/'),
    get: (i: number) => split[i + 1],
  };
  const vars: Record<string, unknown> = {
    fake: fakeFor(seed),
    location: { search: req.query ?? {}, pathname },
    range: (a: unknown, b?: unknown) => {
      const [from, to] =
        b === undefined ? [0, parseInt(String(a))] : [parseInt(String(a)), parseInt(String(b))];
      return Array.from({ length: Math.max(0, to - from) }, (_v, i) => from + i);
    },
    http: { headers: {}, body: {}, method: req.method, cookies: {} },
    env: (_name: string, def?: unknown) => (def === undefined ? null : def),
  };
  // String.raw keeps the JSON escapes of the text as written ("\n" inside a PEM string stays an
  // escape, as the file means it), where a plain template literal would turn them into characters.
  const fn = new Function(...Object.keys(vars), `return String.raw\`${template}\`;`) as (
    ...a: unknown[]
  ) => string;
  return fn(...Object.values(vars));
}

// --- shapes -------------------------------------------------------------------------------------------

type Kind = 'string' | 'number' | 'bool' | 'null' | 'array' | 'object';

interface Shape {
  kinds: Set<Kind>;
  /** How many objects were seen here, and per key in how many of them it was. */
  objects: number;
  keys: Map<string, { seen: number; shape: Shape }>;
  items?: Shape;
}

const kindOf = (v: unknown): Kind =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'boolean'
        ? 'bool'
        : typeof v === 'number'
          ? 'number'
          : typeof v === 'string'
            ? 'string'
            : 'object';

const emptyShape = (): Shape => ({ kinds: new Set(), objects: 0, keys: new Map() });

/** Paths (`[].Node.Meta`) whose objects are maps: their keys are data, only values are compared. */
type MapPaths = readonly string[];
const MAP_KEY = '*';

function addToShape(s: Shape, v: unknown, path: string, maps: MapPaths): void {
  const k = kindOf(v);
  s.kinds.add(k);
  if (k === 'object') {
    s.objects++;
    const entries = Object.entries(v as Record<string, unknown>);
    const isMap = maps.includes(path);
    for (const [key, val] of isMap ? entries.map(([, x]) => [MAP_KEY, x] as const) : entries) {
      let e = s.keys.get(key);
      if (!e) s.keys.set(key, (e = { seen: 0, shape: emptyShape() }));
      e.seen++;
      addToShape(e.shape, val, `${path}.${key}`, maps);
    }
    // A map's one pseudo key is seen once per object at most.
    if (isMap) {
      const e = s.keys.get(MAP_KEY);
      if (e) e.seen = Math.min(e.seen, s.objects);
    }
  } else if (k === 'array') {
    s.items ??= emptyShape();
    for (const item of v as unknown[]) addToShape(s.items, item, `${path}[]`, maps);
  }
}

export interface Mismatch {
  kind: 'extra' | 'missing' | 'type';
  /** `[].Service.Proxy` style; `` is the whole body. */
  path: string;
  detail: string;
}

function compareShape(v: unknown, s: Shape, path: string, maps: MapPaths, out: Mismatch[]): void {
  const k = kindOf(v);
  if (!s.kinds.has(k)) {
    out.push({ kind: 'type', path, detail: `stand-in sends ${k}, the double has ${[...s.kinds].join('|')}` });
    return;
  }
  if (k === 'object') {
    const o = v as Record<string, unknown>;
    if (maps.includes(path)) {
      const values = s.keys.get(MAP_KEY)?.shape;
      if (values)
        for (const val of Object.values(o)) compareShape(val, values, `${path}.${MAP_KEY}`, maps, out);
      return;
    }
    for (const key of Object.keys(o)) {
      const e = s.keys.get(key);
      if (!e) out.push({ kind: 'extra', path: `${path}.${key}`, detail: 'the double never has this key' });
      else compareShape(o[key], e.shape, `${path}.${key}`, maps, out);
    }
    for (const [key, e] of s.keys) {
      if (e.seen === s.objects && !(key in o))
        out.push({ kind: 'missing', path: `${path}.${key}`, detail: 'the double always has this key' });
    }
  } else if (k === 'array' && s.items) {
    for (const item of v as unknown[]) compareShape(item, s.items, `${path}[]`, maps, out);
  }
}

/** The double's shape for a request: the union of SEEDS renderings, or null for an empty template. */
function doubleShape(req: DoubleRequest, maps: MapPaths): Shape | null {
  const file = findTemplate(req.path);
  assert.ok(file, `${DOUBLE_VERSION} has no template for ${req.path}`);
  const template = readFileSync(file, 'utf8');
  if (template.trim() === '') return null;
  const shape = emptyShape();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const text = render(template, req, seed);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new Error(
        `${file} (seed ${seed}) did not render JSON: ${(e as Error).message}\n${text.slice(0, 400)}`,
      );
    }
    addToShape(shape, value, '', maps);
  }
  return shape;
}

// --- what may differ, and why ------------------------------------------------------------------------------

interface Allowed {
  endpoint: string;
  kind: Mismatch['kind'];
  path: string;
  why: string;
}

/**
 * Keys the double is known to omit (it models what the UI reads, from a Consul 1.8/1.9-era
 * snapshot) or keeps from versions before 1.20. Each entry must be hit by the comparison, so the
 * list cannot go stale.
 */
const ALLOWED: readonly Allowed[] = [
  {
    endpoint: 'GET /v1/connect/ca/roots',
    kind: 'extra',
    path: '.TrustDomain',
    why: 'structs.IndexedCARoots.TrustDomain (Consul 1.2+, the SPIFFE trust domain) is always written; the double leaves it out',
  },
  {
    endpoint: 'GET /v1/connect/ca/roots',
    kind: 'extra',
    path: '.Roots[].ExternalTrustDomain',
    why: 'structs.CARoot.ExternalTrustDomain (1.4+) has no omitempty: always written, usually ""; the double predates it',
  },
  {
    endpoint: 'GET /v1/connect/ca/roots',
    kind: 'extra',
    path: '.Roots[].PrivateKeyType',
    why: 'structs.CARoot.PrivateKeyType (1.6+) is always written ("ec"); the double predates it',
  },
  {
    endpoint: 'GET /v1/connect/ca/roots',
    kind: 'extra',
    path: '.Roots[].PrivateKeyBits',
    why: 'structs.CARoot.PrivateKeyBits (1.6+) is always written (256); the double predates it',
  },
  {
    endpoint: 'GET /v1/health/service/:name',
    kind: 'extra',
    path: '[].Service.Weights',
    why: 'structs.NodeService.Weights, sent by Consul since 1.2.3 (never omitted); the UI double does not model weights',
  },
  {
    endpoint: 'GET /v1/health/service/:name',
    kind: 'extra',
    path: '[].Service.Connect',
    why: 'structs.NodeService.Connect is a struct (ServiceConnect), so encoding/json always writes it ({} for a plain service); the double leaves it out',
  },
  {
    endpoint: 'GET /v1/health/service/:name',
    kind: 'extra',
    path: '[].Service.Proxy.Mode',
    why: 'ConnectProxyConfig.Mode (1.10+, no omitempty) is always written; the double renders Proxy as {} for a non-proxy service',
  },
  {
    endpoint: 'GET /v1/health/service/:name',
    kind: 'extra',
    path: '[].Service.Proxy.MeshGateway',
    why: 'ConnectProxyConfig.MeshGateway is a struct, always written as {} (omitempty never drops a struct); missing from the double',
  },
  {
    endpoint: 'GET /v1/health/service/:name',
    kind: 'extra',
    path: '[].Service.Proxy.Expose',
    why: 'ConnectProxyConfig.Expose is a struct, always written as {}; the double has it only for *-proxy services',
  },
  {
    endpoint: 'GET /v1/health/service/:name',
    kind: 'missing',
    path: '[].Service.ProxyDestination',
    why: 'NodeService.ProxyDestination was deprecated in 1.3 and removed with managed proxies (1.6); not in Consul 1.20',
  },
  {
    endpoint: 'GET /v1/health/service/:name',
    kind: 'extra',
    path: '[].Checks[].Interval',
    why: 'structs.HealthCheck.Interval (Consul 1.10+, for the UI) is always written; the double predates it',
  },
  {
    endpoint: 'GET /v1/health/service/:name',
    kind: 'extra',
    path: '[].Checks[].Timeout',
    why: 'structs.HealthCheck.Timeout (Consul 1.10+) is always written; the double predates it',
  },
  {
    endpoint: 'GET /v1/health/service/:name',
    kind: 'extra',
    path: '[].Checks[].ExposedPort',
    why: 'structs.HealthCheck.ExposedPort (Consul 1.7+, Expose paths) is always written; the double predates it',
  },
  {
    endpoint: 'GET /v1/kv/:key',
    kind: 'missing',
    path: '[].Session',
    why: 'structs.DirEntry.Session is `json:",omitempty"`: absent for a key no session holds; the double always fakes one',
  },
];

// --- the endpoints --------------------------------------------------------------------------------------

/** Every HTTP call drover makes (src/), with `_` for a path parameter. */
const DROVER_CALLS: readonly { call: string; where: string }[] = [
  { call: 'GET /v1/status/leader', where: 'src/consul/api/api-responses.ts ENDPOINTS.leader' },
  { call: 'GET /v1/status/peers', where: 'src/consul/api/api-responses.ts ENDPOINTS.peers' },
  { call: 'GET /v1/agent/self', where: 'src/consul/api/api-responses.ts ENDPOINTS.agentSelf' },
  {
    call: 'GET /v1/agent/members',
    where: 'src/consul/api/api-responses.ts ENDPOINTS.agentMembers (also ?wan=1)',
  },
  {
    call: 'GET /v1/operator/autopilot/health',
    where: 'src/consul/api/api-responses.ts ENDPOINTS.autopilotHealth',
  },
  { call: 'GET /v1/operator/raft/configuration', where: 'src/consul/api/api-responses.ts (also ?stale)' },
  { call: 'GET /v1/catalog/service/_', where: 'src/consul/api/api.ts catalogService (also ?dc=)' },
  { call: 'GET /v1/operator/keyring', where: 'src/consul/api/keyring.ts list' },
  { call: 'POST /v1/operator/keyring', where: 'src/consul/api/keyring.ts install' },
  { call: 'PUT /v1/operator/keyring', where: 'src/consul/api/keyring.ts use' },
  { call: 'DELETE /v1/operator/keyring', where: 'src/consul/api/keyring.ts remove' },
  { call: 'PUT /v1/agent/force-leave/_', where: 'src/modules/consul-member.ts (?prune=1)' },
  {
    call: 'POST /v1/operator/raft/transfer-leader',
    where: 'src/modules/consul-leader-transfer.ts TRANSFER_LEADER_PATH',
  },
  { call: 'GET /v1/connect/ca/roots', where: 'src/consul/api/api-responses.ts ENDPOINTS.connectCaRoots' },
  { call: 'PUT /v1/acl/bootstrap', where: 'src/consul/api/acl.ts bootstrapStep' },
  { call: 'PUT /v1/acl/policy', where: 'src/consul/api/acl.ts createPolicyStep' },
  { call: 'PUT /v1/acl/policy/_', where: 'src/consul/api/acl.ts updatePolicyStep' },
  { call: 'GET /v1/acl/policy/name/_', where: 'src/consul/api/acl.ts readPolicyStep' },
  { call: 'PUT /v1/acl/token', where: 'src/consul/api/acl.ts createTokenStep' },
  { call: 'GET /v1/acl/token/_', where: 'src/consul/api/acl.ts readTokenStep (also PUT: updateTokenStep)' },
  { call: 'GET /v1/acl/token/self', where: 'src/consul/api/acl.ts tokenSelfStep' },
  { call: 'PUT /v1/agent/token/_', where: 'src/consul/api/acl.ts setAgentTokenStep' },
  { call: 'GET /v1/acl/replication', where: 'src/consul/api/api-responses.ts ENDPOINTS.aclReplication' },
  { call: 'GET /v1/agent/checks', where: 'src/consul/api/maintenance.ts AGENT_CHECKS_PATH' },
  { call: 'GET /v1/agent/services', where: 'src/consul/api/maintenance.ts AGENT_SERVICES_PATH' },
  {
    call: 'PUT /v1/agent/maintenance',
    where: 'src/consul/api/maintenance.ts maintenancePath (consul_maintenance)',
  },
  {
    call: 'GET /v1/operator/autopilot/configuration',
    where: 'src/consul/api/autopilot-config.ts AUTOPILOT_CONFIG_PATH (also PUT ?cas=: consul_autopilot)',
  },
  { call: 'GET /v1/snapshot', where: 'src/consul/api/snapshot.ts' },
  { call: 'PUT /v1/snapshot', where: 'src/consul/api/snapshot.ts' },
];

/** Those the package describes with a non-empty template (the rest have no file, or an empty one). */
const DESCRIBED_BY_DOUBLE = [
  'GET /v1/status/leader',
  'GET /v1/connect/ca/roots',
  // Not compared here yet (this file's agents run without ACLs; some of these fall back to the
  // double's legacy /v1/acl/_ file): test/consul/acl-api.test.ts checks drover's parsers on a
  // stand-in's live ACL answers.
  'PUT /v1/acl/bootstrap',
  'PUT /v1/acl/policy',
  'PUT /v1/acl/policy/_',
  'GET /v1/acl/policy/name/_',
  'PUT /v1/acl/token',
  'GET /v1/acl/token/_',
  'GET /v1/acl/token/self',
  'GET /v1/acl/replication',
  // Not compared yet either: drover reads only each service's Service name (consul_maintenance).
  'GET /v1/agent/services',
];
/** Those with a file that is empty: described as "exists", not as a shape. */
const EMPTY_IN_DOUBLE = ['GET /v1/catalog/service/_'];

/** The `/v1/` paths written in src/, `${...}` as `_`, without the query. */
function v1PathsInSrc(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string, depth: number): void => {
    if (depth > 8) return;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, depth + 1);
      else if (name.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/['"`](\/v1\/(?:[A-Za-z0-9_./-]|\$\{[^}]*\})+)/g)) {
          out.add(m[1]!.replace(/\$\{[^}]*\}/g, '_').replace(/\/$/, ''));
        }
      }
    }
  };
  walk(SRC, 0);
  return out;
}

describe(`stand-in HTTP answers against @hashicorp/consul-api-double ${DOUBLE_VERSION}`, () => {
  let server: Agent;
  let client: Agent;
  const hits = new Set<Allowed>();

  async function get(a: Agent, path: string, method = 'GET', body?: string): Promise<HttpResult> {
    const r = await a.http(path, method, body);
    assert.equal(r.status, 200, `${method} ${path} on ${a.name}: HTTP ${r.status} ${r.body}`);
    return r;
  }

  /** Compares one live answer with the double; returns the mismatches nothing allows. */
  function check(endpoint: string, req: DoubleRequest, body: string, maps: MapPaths = []): Mismatch[] {
    const shape = doubleShape(req, maps);
    assert.ok(shape, `${req.path}: the double's template is empty`);
    const found: Mismatch[] = [];
    compareShape(JSON.parse(body), shape, '', maps, found);
    return found.filter((m) => {
      const allowed = ALLOWED.find((a) => a.endpoint === endpoint && a.kind === m.kind && a.path === m.path);
      if (allowed) hits.add(allowed);
      return !allowed;
    });
  }

  const show = (ms: Mismatch[]): string =>
    ms.map((m) => `${m.kind} ${m.path || '(body)'}: ${m.detail}`).join('\n');

  before(async () => {
    const root = tempDir('standin-apidouble-');
    const encrypt = randomBytes(32).toString('base64');
    server = new Agent(
      // Connect on, so that the server has the CA /v1/connect/ca/roots describes.
      {
        ip: '127.0.0.90',
        name: 'dbl-server',
        server: true,
        bootstrapExpect: 1,
        encrypt,
        extra: { connect: { enabled: true } },
      },
      root,
    ).start();
    client = new Agent(
      {
        ip: '127.0.0.91',
        name: 'dbl-client',
        retryJoin: ['127.0.0.90'],
        encrypt,
        extra: {
          service: {
            name: 'web',
            port: 8080,
            tags: ['primary', 'v1'],
            meta: { version: '1' },
            checks: [{ id: 'web-ttl', name: 'web alive', ttl: '60s' }],
          },
        },
      },
      root,
    ).start();
    await waitFor('a leader', async () => /:8300$/.test(await server.leader()), 20000);
    await waitFor(
      'the client in the catalog with its service',
      async () => {
        const r = await client.http('/v1/health/service/web');
        return r.status === 200 && (JSON.parse(r.body) as unknown[]).length === 1;
      },
      30000,
    );
    const pass = await client.http('/v1/agent/check/pass/web-ttl?note=ok', 'PUT');
    assert.equal(pass.status, 200, pass.body);
    assert.equal((await client.http('/v1/kv/dbl/key', 'PUT', 'hello')).body, 'true');
  });

  after(cleanup);

  it('knows every endpoint drover calls, and which of them the double describes', () => {
    const inSrc = v1PathsInSrc();
    const listed = new Set(DROVER_CALLS.map((c) => c.call.split(' ')[1]!));
    assert.deepEqual([...inSrc].sort(), [...listed].sort(), 'src/ calls /v1/ paths this table does not list');
    const described: string[] = [];
    const empty: string[] = [];
    for (const { call } of DROVER_CALLS) {
      const file = findTemplate(call.split(' ')[1]!);
      if (!file) continue;
      (readFileSync(file, 'utf8').trim() === '' ? empty : described).push(call);
    }
    // GET /v1/catalog/service/_ is a zero-byte file in the package (and upstream): nothing to compare.
    assert.deepEqual(described, DESCRIBED_BY_DOUBLE);
    assert.deepEqual(empty, EMPTY_IN_DOUBLE);
  });

  it('GET /v1/status/leader (drover): the shape of the double', async () => {
    for (const a of [server, client]) {
      const r = await get(a, '/v1/status/leader');
      assert.equal(
        show(check('GET /v1/status/leader', { method: 'GET', path: '/v1/status/leader' }, r.body)),
        '',
      );
    }
  });

  it('GET /v1/connect/ca/roots (drover): the shape of the double, and the roots drover reads', async () => {
    await waitFor('the Connect CA', async () =>
      (await get(server, '/v1/connect/ca/roots')).body.includes('RootCert'),
    );
    for (const a of [server, client]) {
      const r = await get(a, '/v1/connect/ca/roots');
      assert.equal(
        show(check('GET /v1/connect/ca/roots', { method: 'GET', path: '/v1/connect/ca/roots' }, r.body)),
        '',
      );
      const roots = parseConnectCaRoots(r.body);
      assert.equal(roots.length, 1);
      assert.match(roots[0]!, /^-----BEGIN CERTIFICATE-----\n/);
    }
  });

  it('GET /v1/catalog/datacenters: the shape of the double', async () => {
    const r = await get(client, '/v1/catalog/datacenters');
    assert.equal(
      show(check('GET /v1/catalog/datacenters', { method: 'GET', path: '/v1/catalog/datacenters' }, r.body)),
      '',
    );
  });

  it('GET /v1/health/service/:name: the shape of the double, and its X-Consul-Index', async () => {
    for (const [a, q] of [
      [client, ''],
      [server, ''],
      [client, '?passing'],
    ] as const) {
      const r = await get(a, `/v1/health/service/web${q}`);
      const list = JSON.parse(r.body) as { Checks: unknown[] }[];
      assert.equal(list.length, 1, r.body);
      assert.ok(list[0]!.Checks.length >= 2, 'serfHealth and the service check');
      const query: Record<string, string> = q ? { passing: '' } : {};
      const req = { method: 'GET', path: '/v1/health/service/web', query };
      const maps = ['[].Node.TaggedAddresses', '[].Node.Meta', '[].Service.Meta'];
      assert.equal(show(check('GET /v1/health/service/:name', req, r.body, maps)), '');
      // v1/health/service/.config: GET answers carry X-Consul-Index.
      assert.match(String(r.headers['x-consul-index']), /^\d+$/);
    }
  });

  it('the comparison itself catches a missing key, an extra key and a wrong type', async () => {
    const r = await get(client, '/v1/health/service/web');
    const [entry] = JSON.parse(r.body) as Record<string, Record<string, unknown>>[];
    delete entry!.Node!.Address;
    entry!.Service!.Bogus = 1;
    entry!.Service!.Port = '8080';
    (entry!.Checks as unknown as Record<string, unknown>[])[0]!.Status = null;
    const maps = ['[].Node.TaggedAddresses', '[].Node.Meta', '[].Service.Meta'];
    const shape = doubleShape({ method: 'GET', path: '/v1/health/service/web' }, maps)!;
    const found: Mismatch[] = [];
    compareShape([entry], shape, '', maps, found);
    assert.deepEqual(
      found
        .map((m) => `${m.kind} ${m.path}`)
        .filter((m) => !ALLOWED.some((a) => `${a.kind} ${a.path}` === m))
        .sort(),
      [
        'extra [].Service.Bogus',
        'missing [].Node.Address',
        'type [].Checks[].Status',
        'type [].Service.Port',
      ],
    );
  });

  it('GET and PUT /v1/kv/:key: the shapes of the double, and X-Consul-Index', async () => {
    const entry = await get(client, '/v1/kv/dbl/key');
    const req = { method: 'GET', path: '/v1/kv/dbl/key' };
    assert.equal(show(check('GET /v1/kv/:key', req, entry.body)), '');
    assert.match(String(entry.headers['x-consul-index']), /^\d+$/);

    const keys = await get(client, '/v1/kv/dbl?keys');
    const keysReq = { method: 'GET', path: '/v1/kv/dbl', query: { keys: '' } };
    assert.equal(show(check('GET /v1/kv/:key?keys', keysReq, keys.body)), '');

    const put = await get(client, '/v1/kv/dbl/other', 'PUT', 'x');
    assert.equal(show(check('PUT /v1/kv/:key', { method: 'PUT', path: '/v1/kv/dbl/other' }, put.body)), '');
  });

  it("drover's parsers accept the stand-in's answers to every endpoint drover reads", async () => {
    assert.match(parseStatusLeader((await get(client, '/v1/status/leader')).body), /^127\.0\.0\.90:8300$/);
    assert.deepEqual(parseStatusPeers((await get(client, '/v1/status/peers')).body), ['127.0.0.90:8300']);
    for (const a of [server, client]) {
      const self = parseAgentSelf((await get(a, '/v1/agent/self')).body);
      assert.equal(self.nodeName, a.name);
      const members = parseAgentMembers((await get(a, '/v1/agent/members')).body);
      assert.deepEqual(members.map((m) => m.name).sort(), ['dbl-client', 'dbl-server']);
      const keyring = parseKeyringList((await get(a, '/v1/operator/keyring')).body);
      assert.ok(keyring.every((p) => p.keys.length === 1 && p.keys[0]!.installed === p.numNodes));
    }
    assert.deepEqual(
      parseAgentMembers((await get(server, '/v1/agent/members?wan=1')).body).map((m) => m.name),
      ['dbl-server.dc1'],
    );
    const health = await server.http('/v1/operator/autopilot/health');
    const h = parseAutopilotHealth(health.status, health.body);
    assert.equal(h.servers.length, 1);
    assert.match(
      h.servers[0]!.stableSince,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
      'rounded to the second, UTC',
    );
    for (const q of ['', '?stale']) {
      const conf = parseRaftConfiguration((await get(client, `/v1/operator/raft/configuration${q}`)).body);
      assert.deepEqual(
        conf.servers.map((s) => [s.node, s.address, s.leader, s.voter, s.protocolVersion]),
        [['dbl-server', '127.0.0.90:8300', true, true, '3']],
      );
    }
    const rows = parseCatalogService(
      (await get(client, '/v1/catalog/service/web')).body,
      '/v1/catalog/service/web',
    );
    assert.deepEqual(
      rows.map((r) => [r.node, r.address, r.serviceId, r.servicePort, r.serviceTags]),
      [['dbl-client', '127.0.0.91', 'web', 8080, ['primary', 'v1']]],
    );
  });

  it('uses every allow-list entry (so the list stays minimal)', () => {
    const unused = ALLOWED.filter((a) => !hits.has(a)).map((a) => `${a.endpoint} ${a.kind} ${a.path}`);
    assert.deepEqual(unused, []);
  });
});
