// The agent's HTTP API: Consul's paths, methods, status codes, JSON shapes and headers.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { aclRoutes } from './acl-endpoints.mjs';
import { aclContext, filterQuery, filtered, guard, requestToken } from './acl-http.mjs';
import { HttpError, consistency, kvRoutes, metaHeaders } from './kv-api.mjs';
import { replay } from './tls-stream.mjs';
import { snapshotRoutes } from './snapshot-endpoint.mjs';
import { parseDuration } from './duration.mjs';
import { decodeJsonValue } from './json-value.mjs';

export { decodeJsonValue };

const UI_PAGE = (agent) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Consul by HashiCorp</title></head>
<body><h1>Consul</h1>
<p>Node <code>${agent.rt.nodeName}</code> in datacenter <code>${agent.rt.datacenter}</code>, Consul ${agent.build.version} (lab stand-in).</p>
</body></html>
`;

/** The whole request body, however it is framed (Content-Length, chunked, or none). */
async function readBody(req, limit = 1 << 20) {
  const chunks = [];
  let size = 0;
  for await (const c of req) { size += c.length; if (size > limit) throw new HttpError(413, 'Request body too large'); chunks.push(c); }
  return Buffer.concat(chunks).toString();
}

const GO_KIND = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v);

/**
 * The body of a keyring write (agent/operator_endpoint.go keyringArgs): a JSON object whose `Key`
 * (matched case-insensitively, as encoding/json does) is a string. Anything else is Consul's 400
 * `Request decode failed: ...`.
 */
async function keyringArgs(req) {
  let v;
  try { v = decodeJsonValue(await readBody(req)); } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, `Request decode failed: ${e.message}`);
  }
  const out = { Key: '' };
  if (v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, `Request decode failed: json: cannot unmarshal ${GO_KIND(v)} into Go value of type agent.keyringArgs`);
  for (const [k, val] of Object.entries(v)) {
    if (k.toLowerCase() !== 'key' || val === null) continue;
    if (typeof val !== 'string') throw new HttpError(400, `Request decode failed: json: cannot unmarshal ${GO_KIND(val)} into Go struct field keyringArgs.Key of type string`);
    out.Key = val;
  }
  return out;
}

/**
 * The body of `PUT /v1/operator/autopilot/configuration` (operator_endpoint.go
 * OperatorAutopilotConfiguration): decoded over api.NewAutopilotConfiguration()'s defaults, so a
 * field left out goes back to its default, not to what is stored. Field names match
 * case-insensitively; the durations are Go duration strings (api.ReadableDuration). Anything
 * else is Consul's 400 `Error parsing autopilot config: ...`.
 */
async function autopilotArgs(req) {
  const fail = (why) => new HttpError(400, `Error parsing autopilot config: ${why}`);
  let v;
  try { v = decodeJsonValue(await readBody(req)); } catch (e) {
    if (e instanceof HttpError) throw e;
    throw fail(e.message);
  }
  const out = { cleanupDeadServers: true, lastContactThresholdMs: 200, maxTrailingLogs: 250, minQuorum: 0, serverStabilizationMs: 10000 };
  if (v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) throw fail(`json: cannot unmarshal ${GO_KIND(v)} into Go value of type api.AutopilotConfiguration`);
  const field = (key, val, want) => {
    if (GO_KIND(val) !== want) throw fail(`json: cannot unmarshal ${GO_KIND(val)} into Go struct field AutopilotConfiguration.${key} of type ${want === 'bool' ? 'bool' : want === 'number' ? 'uint64' : 'api.ReadableDuration'}`);
    return val;
  };
  const duration = (key, val) => {
    try { return parseDuration(field(key, val, 'string')); } catch (e) { throw e instanceof HttpError ? e : fail(e.message); }
  };
  for (const [k, val] of Object.entries(v)) {
    if (val === null) continue;
    switch (k.toLowerCase()) {
      case 'cleanupdeadservers': out.cleanupDeadServers = field('CleanupDeadServers', val, 'bool'); break;
      case 'lastcontactthreshold': out.lastContactThresholdMs = duration('LastContactThreshold', val); break;
      case 'maxtrailinglogs': out.maxTrailingLogs = field('MaxTrailingLogs', val, 'number'); break;
      case 'minquorum': out.minQuorum = field('MinQuorum', val, 'number'); break;
      case 'serverstabilizationtime': out.serverStabilizationMs = duration('ServerStabilizationTime', val); break;
      default: break; // CreateIndex, ModifyIndex and the Enterprise fields are read and not kept.
    }
  }
  return out;
}

/** Maps a server read ({status, body, meta}) onto the response; blocking reads carry index headers. */
function fromQuery(r, blocking, mode) {
  const headers = blocking ? metaHeaders(r.meta, mode) : {};
  if (r.status >= 400 && r.status !== 429) return { status: r.status, text: String(r.body), headers };
  return { status: r.status, json: r.body, headers };
}

export function createRoutes(agent) {
  const q = (kind, blocking = false) => async (ctx) => {
    const { r, headers } = await filterQuery(ctx, kind, await agent.query(kind, {
      stale: ctx.query.has('stale'), consistent: ctx.query.has('consistent'),
      name: ctx.params[0] === undefined ? undefined : decodeURIComponent(ctx.params[0]),
      dc: ctx.query.get('dc') ?? '', passing: ctx.query.has('passing') && ctx.query.get('passing') !== 'false',
    }));
    const out = fromQuery(r, blocking, consistency(ctx.query));
    return { ...out, headers: { ...out.headers, ...headers } };
  };
  // Agent-local lists are filtered here (agent_endpoint.go filterMembers, filterServices, filterChecks).
  const local = (list, visible) => async (ctx) => {
    const items = list(ctx);
    const isMap = !Array.isArray(items);
    const { list: kept, headers } = await filtered(ctx, isMap ? Object.entries(items) : items, (a, x) => visible(a, isMap ? x[1] : x, ctx));
    return { json: isMap ? Object.fromEntries(kept) : kept, headers };
  };
  return [
    ...aclRoutes(agent),
    ...kvRoutes(agent),
    ...snapshotRoutes(agent),
    ['GET', /^\/v1\/status\/leader$/, q('status.leader')],
    ['GET', /^\/v1\/status\/peers$/, q('status.peers')],
    ['GET', /^\/v1\/agent\/self$/, () => ({ json: agent.self() })],
    // WAN members are named <node>.<dc>; the node rule is about the node's own name.
    ['GET', /^\/v1\/agent\/members$/, local((ctx) => agent.membersJson(ctx.query.has('wan')), (a, m, ctx) => a.allowed('node', 'read', ctx.query.has('wan') ? m.Name.slice(0, m.Name.lastIndexOf('.')) : m.Name))],
    ['GET', /^\/v1\/agent\/services$/, local(() => agent.servicesJson(), (a, s) => a.allowed('service', 'read', s.Service))],
    ['GET', /^\/v1\/agent\/checks$/, local(() => agent.checksJson(), (a, c) => (c.ServiceName ? a.allowed('service', 'read', c.ServiceName) : a.allowed('node', 'read', c.Node)))],
    ['PUT', /^\/v1\/agent\/check\/(pass|warn|fail)\/(.+)$/, async (ctx) => {
      const status = { pass: 'passing', warn: 'warning', fail: 'critical' }[ctx.params[0]];
      if (ctx.acl) {
        // agent_endpoint.go vetCheckUpdate: service:write for a service's check, else node:write.
        const c = agent.checksJson()[decodeURIComponent(ctx.params[1])];
        const a = await ctx.acl.authz();
        if (c?.ServiceName) a.enforce('service', 'write', c.ServiceName);
        else if (c) a.enforce('node', 'write', agent.rt.nodeName);
      }
      if (!agent.checks.update(decodeURIComponent(ctx.params[1]), status, ctx.query.get('note') ?? '')) throw new HttpError(404, `Unknown check ID "${decodeURIComponent(ctx.params[1])}". Ensure that the check ID is passed, not the check name.`);
      return { empty: true };
    }],
    // agent_endpoint.go AgentNodeMaintenance: enable parsed as strconv.ParseBool.
    ['PUT', /^\/v1\/agent\/maintenance$/, (ctx) => {
      if (!ctx.query.has('enable')) throw new HttpError(400, 'Missing value for enable');
      const raw = ctx.query.get('enable') ?? '';
      const enable = ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw) ? true : ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw) ? false : undefined;
      if (enable === undefined) throw new HttpError(400, `Invalid value for enable: ${JSON.stringify(raw)}`);
      agent.setMaintenance(enable, ctx.query.get('reason') ?? '', requestToken(ctx.req, ctx.query));
      return { empty: true };
    }],
    ['GET', /^\/v1\/agent\/version$/, () => ({ json: { SHA: '', BuildDate: agent.build.buildDate, HumanVersion: agent.build.version, FIPS: '' } })],
    ['PUT', /^\/v1\/agent\/leave$/, async () => { await agent.leave(); agent.shutdownSoon(0); return { empty: true }; }],
    ['PUT', /^\/v1\/agent\/force-leave\/(.+)$/, (ctx) => {
      try { agent.forceLeave(decodeURIComponent(ctx.params[0]), ctx.query.has('prune')); } catch (e) { throw new HttpError(500, e.message); }
      return { empty: true };
    }],
    ['PUT', /^\/v1\/agent\/reload$/, () => {
      try { agent.reload(); } catch (e) { throw new HttpError(500, `Failed reloading config: ${e.message}`); }
      return { empty: true };
    }],
    ['PUT', /^\/v1\/agent\/join\/(.+)$/, async (ctx) => {
      const target = [decodeURIComponent(ctx.params[0])];
      const wan = ctx.query.has('wan') && ctx.query.get('wan') !== '0' && ctx.query.get('wan') !== 'false';
      if (wan && !agent.wan) throw new HttpError(500, 'Must be a server to join WAN cluster');
      const { joined, errors } = wan ? await agent.wan.join(target) : await agent.join(target);
      if (!joined) throw new HttpError(500, errors.join('; '));
      return { empty: true };
    }],
    ['GET', /^\/v1\/operator\/autopilot\/health$/, q('autopilot.health')],
    ['GET', /^\/v1\/operator\/autopilot\/configuration$/, async (ctx) => fromQuery(await agent.autopilotConfiguration(), false, consistency(ctx.query))],
    ['PUT', /^\/v1\/operator\/autopilot\/configuration$/, async (ctx) => {
      const config = await autopilotArgs(ctx.req);
      let cas;
      if (ctx.query.has('cas')) {
        const text = ctx.query.get('cas') ?? '';
        if (!/^\d+$/.test(text)) throw new HttpError(400, `Error parsing cas value: strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`);
        cas = Number(text);
      }
      const r = await agent.apply({ type: 'autopilot', config, ...(cas !== undefined && { cas }) });
      if (r.status !== 200) throw new HttpError(r.status, r.body);
      // A write without cas answers true; with cas, whether it matched.
      return { json: r.body !== false };
    }],
    ['GET', /^\/v1\/operator\/raft\/configuration$/, q('raft.configuration', true)],
    // Consul 1.15+: operator_endpoint.go OperatorRaftTransferLeader, answered {"Success": true}.
    ['POST', /^\/v1\/operator\/raft\/transfer-leader$/, async (ctx) => {
      const r = await agent.query('raft.transferLeader', { id: ctx.query.get('id') ?? '' });
      if (r.status !== 200) throw new HttpError(r.status, r.body);
      return { json: r.body };
    }],
    ['DELETE', /^\/v1\/operator\/raft\/peer$/, async (ctx) => {
      const r = await agent.query('raft.removePeer', { id: ctx.query.get('id') ?? '', address: ctx.query.get('address') ?? '' });
      if (r.status !== 200) throw new HttpError(r.status, r.body);
      return { empty: true };
    }],
    ['GET', /^\/v1\/catalog\/nodes$/, q('catalog.nodes', true)],
    ['GET', /^\/v1\/catalog\/services$/, q('catalog.services', true)],
    ['GET', /^\/v1\/catalog\/service\/(.+)$/, q('catalog.service', true)],
    ['GET', /^\/v1\/catalog\/node\/(.+)$/, q('catalog.node', true)],
    ['GET', /^\/v1\/health\/node\/(.+)$/, q('health.node', true)],
    ['GET', /^\/v1\/catalog\/datacenters$/, q('catalog.datacenters')],
    ['GET', /^\/v1\/connect\/ca\/roots$/, q('connect.roots', true)],
    ['GET', /^\/v1\/health\/service\/(.+)$/, q('health.service', true)],
    ['GET', /^\/v1\/operator\/keyring$/, async () => ({ json: await agent.keyringList() })],
    ['POST', /^\/v1\/operator\/keyring$/, async (ctx) => ({ empty: true, ...(await agent.keyringOp('install', (await keyringArgs(ctx.req)).Key)) })],
    ['PUT', /^\/v1\/operator\/keyring$/, async (ctx) => ({ empty: true, ...(await agent.keyringOp('use', (await keyringArgs(ctx.req)).Key)) })],
    ['DELETE', /^\/v1\/operator\/keyring$/, async (ctx) => ({ empty: true, ...(await agent.keyringOp('remove', (await keyringArgs(ctx.req)).Key)) })],
    ['GET', /^\/ui(\/.*)?$/, () => {
      if (!agent.rt.uiEnabled) return { status: 404, text: 'Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart.' };
      return { html: UI_PAGE(agent) };
    }],
    ['GET', /^\/$/, () => (agent.rt.uiEnabled ? { status: 301, headers: { Location: '/ui/' }, text: '' } : { status: 404, text: 'Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart.' })],
  ];
}

/**
 * Bytes that do not parse as the next request (e.g. a body sent with neither Content-Length nor
 * chunked framing, which HTTP/1.1 reads as no body): Go's net/http first finishes the response it
 * is writing, then answers `400 Bad Request` and closes. Node would answer 400 at once, dropping
 * the response of the request that was read.
 */
function onClientError(err, socket) {
  const reply = 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request';
  const pending = socket._httpMessage;
  if (pending && !pending.writableFinished) {
    pending.once('finish', () => socket.destroy());
    pending.once('close', () => socket.destroy());
    return;
  }
  if (socket.writable && err.code !== 'ECONNRESET') socket.end(reply);
  else socket.destroy();
}

/** Go's tlsRecordHeaderLooksLikeHTTP: the first bytes a plain HTTP client sends. */
const HTTP_START = ['GET /', 'HEAD ', 'POST ', 'PUT /', 'OPTIO'];

/**
 * A TLS listener that answers a plain HTTP request as Go's net/http does (`400` and "Client sent
 * an HTTP request to an HTTPS server.") and hands everything else to the TLS server.
 */
function tlsFront(tlsServer) {
  const front = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (chunk) => {
      socket.pause();
      if (HTTP_START.includes(chunk.subarray(0, 5).toString('latin1'))) {
        socket.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
        return;
      }
      tlsServer.emit('connection', replay(socket, chunk));
    });
  });
  front.closeAllConnections = () => tlsServer.closeAllConnections?.();
  return front;
}

/** The HTTP API server; with tlsOptions, the HTTPS one (ports.https). */
export function createHttpServer(agent, tlsOptions) {
  const routes = createRoutes(agent);
  const handler = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    let out;
    try {
      const matching = routes.filter(([, re]) => re.test(url.pathname));
      if (!matching.length) throw new HttpError(404, url.pathname.startsWith('/v1/') ? `Invalid URL path: not a recognized HTTP API endpoint` : '404 page not found');
      const route = matching.find(([m]) => m === req.method || (m === 'GET' && req.method === 'HEAD'));
      if (!route) throw new HttpError(405, `method ${req.method} not allowed`);
      const params = route[1].exec(url.pathname).slice(1);
      const ctx = { req, query: url.searchParams, params, acl: aclContext(agent, req, url.searchParams) };
      await guard(ctx, agent, req.method, url.pathname);
      out = await route[2](ctx);
    } catch (e) {
      out = { status: e.status ?? 500, text: e.message };
    }
    const headers = { 'X-Consul-Default-Acl-Policy': agent.rt.acl.enabled ? agent.rt.acl.defaultPolicy : 'allow', Vary: 'Accept-Encoding', ...(out.headers ?? {}) };
    let body = '';
    if (out.raw !== undefined) body = out.raw;
    else if (out.html !== undefined) { headers['Content-Type'] = 'text/html; charset=utf-8'; body = out.html; }
    else if (out.text !== undefined) { headers['Content-Type'] = 'text/plain; charset=utf-8'; body = out.text; }
    else if (out.json !== undefined || !out.empty) {
      headers['Content-Type'] = 'application/json';
      body = url.searchParams.has('pretty') ? JSON.stringify(out.json ?? null, null, 4) : JSON.stringify(out.json ?? null);
    }
    res.writeHead(out.status ?? 200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  server.on('clientError', onClientError);
  return tlsOptions ? Object.assign(tlsFront(server), { tlsServer: server }) : server;
}
