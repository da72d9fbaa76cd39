// `/v1/kv/<key>` with Consul's semantics (agent/kvs_endpoint.go): PUT stores the raw body and
// answers `true` (or the CAS outcome), GET answers a list of entries with base64 values, 404
// with an empty body when there is none, `?raw` the bare value, `?recurse` a prefix, `?keys`
// the key names; DELETE answers `true`. Writes go through raft (agent.apply); reads take the
// default consistency (the leader's state) unless ?stale or ?consistent.

// raft.SuggestedMaxDataSize, Consul's default limits.kv_max_value_size (lib/config.mjs sets it in
// rt.limits.kvMaxValueSize; this is only for a runtime config built without it).
const MAX_VALUE = 512 * 1024;

import { permissionDenied } from './acl-authorizer.mjs';
import { filtered } from './acl-http.mjs';

export class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** The response headers of a read (agent/http.go setMeta). */
export function metaHeaders(meta, mode) {
  if (!meta) return {};
  return {
    'X-Consul-Index': String(meta.index),
    'X-Consul-KnownLeader': String(meta.knownLeader),
    'X-Consul-LastContact': String(meta.lastContact),
    'X-Consul-Effective-Consistency': mode,
  };
}

export function consistency(query) {
  if (query.has('stale')) return 'stale';
  if (query.has('consistent')) return 'consistent';
  return 'leader';
}

/** Go's url.Values.Encode(): keys sorted, what Consul prints in "Conflicting flags". */
function encodeSorted(query) {
  return [...query.keys()].sort().flatMap((k) => query.getAll(k).map((v) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&');
}

function conflicting(query, ...flags) {
  return flags.filter((f) => query.has(f)).length > 1 ? { status: 400, text: `Conflicting flags: ${encodeSorted(query)}\n` } : null;
}

function parseUint(text) {
  if (!/^\d+$/.test(text)) throw new HttpError(500, `strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`);
  return Number(text);
}

async function readRaw(req, limit) {
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge = (n) => new HttpError(413, `Request body(${n} bytes) too large, max size: ${limit} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`);
  if (declared > limit) throw tooLarge(declared);
  const chunks = [];
  let size = 0;
  for await (const c of req) { size += c.length; if (size > limit) throw tooLarge(size); chunks.push(c); }
  return Buffer.concat(chunks);
}

export function kvRoutes(agent) {
  const keyOf = (ctx) => {
    try { return decodeURIComponent(ctx.params[0] ?? ''); } catch { throw new HttpError(400, 'invalid URL escape'); }
  };
  const readParams = (ctx, key) => ({ key, stale: ctx.query.has('stale'), consistent: ctx.query.has('consistent'), dc: ctx.query.get('dc') ?? '' });
  const failed = (r) => ({ status: r.status, text: String(r.body) });
  const maxValue = () => agent.rt.limits?.kvMaxValueSize ?? MAX_VALUE;
  // kvs_endpoint.go: a single key needs key:read (403 without it), lists are filtered, writes need key:write.
  const enforce = async (ctx, level, key) => { if (ctx.acl) (await ctx.acl.authz()).enforce('key', level, key); };

  async function get(ctx) {
    const key = keyOf(ctx);
    const q = ctx.query;
    const mode = consistency(q);
    if (q.has('keys')) {
      const separator = q.get('separator') ?? q.get('seperator') ?? '';
      const r = await agent.query('kvs.keys', { ...readParams(ctx, key), separator });
      if (r.status !== 200) return failed(r);
      const { list, headers: aclHeaders } = await filtered(ctx, r.body, (a, k) => a.allowed('key', 'read', k));
      r.body = list;
      const headers = { ...metaHeaders(r.meta, mode), ...aclHeaders };
      // No 404 for the root: an empty list instead.
      if (!r.body.length && key !== '') return { status: 404, empty: true, headers };
      return { json: r.body, headers };
    }
    const recurse = q.has('recurse');
    if (!recurse && key === '') throw new HttpError(400, 'Missing key name');
    if (!recurse) await enforce(ctx, 'read', key);
    const r = await agent.query(recurse ? 'kvs.list' : 'kvs.get', readParams(ctx, key));
    if (r.status !== 200) return failed(r);
    const { list, headers: aclHeaders } = await filtered(ctx, r.body, (a, e) => a.allowed('key', 'read', e.Key));
    r.body = list;
    const headers = { ...metaHeaders(r.meta, mode), ...aclHeaders };
    if (!r.body.length) return { status: 404, empty: true, headers };
    if (q.has('raw') && !recurse) {
      return { raw: Buffer.from(r.body[0].Value ?? '', 'base64'), headers: { ...headers, 'Content-Type': 'text/plain', 'X-Content-Type-Options': 'nosniff' } };
    }
    return { json: r.body, headers };
  }

  async function put(ctx) {
    const key = keyOf(ctx);
    const q = ctx.query;
    if (key === '') throw new HttpError(400, 'Missing key name');
    const clash = conflicting(q, 'cas', 'acquire', 'release');
    if (clash) return clash;
    const cmd = { type: 'kvs', op: 'set', key, flags: 0 };
    if (q.has('flags')) cmd.flags = parseUint(q.get('flags'));
    if (q.has('cas')) { cmd.op = 'cas'; cmd.cas = parseUint(q.get('cas')); }
    if (q.has('acquire')) { cmd.op = 'lock'; cmd.session = q.get('acquire'); }
    if (q.has('release')) { cmd.op = 'unlock'; cmd.session = q.get('release'); }
    await enforce(ctx, 'write', key);
    const body = await readRaw(ctx.req, maxValue());
    // An empty body is a nil []byte in Consul: the value reads back as null.
    cmd.value = body.length ? body.toString('base64') : null;
    const r = await agent.apply(cmd);
    if (r.status !== 200) return failed(r);
    return { json: cmd.op === 'set' ? true : r.body };
  }

  async function del(ctx) {
    const key = keyOf(ctx);
    const q = ctx.query;
    const clash = conflicting(q, 'recurse', 'cas');
    if (clash) return clash;
    const cmd = { type: 'kvs', op: 'delete', key };
    if (q.has('recurse')) cmd.op = 'delete-tree';
    else if (key === '') throw new HttpError(400, 'Missing key name');
    if (q.has('cas')) { cmd.op = 'delete-cas'; cmd.cas = parseUint(q.get('cas')); }
    if (cmd.op === 'delete-tree' && ctx.acl) {
      const a = await ctx.acl.authz();
      if (!a.allowedWritePrefix('key', key)) throw permissionDenied(a.accessor, 'key', 'write', key);
    } else await enforce(ctx, 'write', key);
    const r = await agent.apply(cmd);
    if (r.status !== 200) return failed(r);
    return { json: cmd.op === 'delete-cas' ? r.body : true };
  }

  return [
    ['GET', /^\/v1\/kv\/(.*)$/, get],
    ['PUT', /^\/v1\/kv\/(.*)$/, put],
    ['DELETE', /^\/v1\/kv\/(.*)$/, del],
  ];
}
