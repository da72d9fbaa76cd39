// ACL enforcement on the HTTP API: which token a request carries (agent/http.go
// parseTokenInternal), what it may do (the permission each endpoint checks), and which
// results it may see (agent/consul/acl.go aclFilter: members, catalog, health and KV lists are
// filtered, with `X-Consul-Results-Filtered-By-ACLs: true` when something was left out and the
// request named a token).
import { Authorizer, notFound } from './acl-authorizer.mjs';
import { primaryDownIdentity } from './acl-replication.mjs';

/** The request's own token: ?token=, then X-Consul-Token, then Authorization: Bearer. */
export function requestToken(req, query) {
  if (query.has('token')) return query.get('token');
  const header = req.headers['x-consul-token'];
  if (header) return String(header);
  const m = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
  return m ? m[1].trim() : '';
}

/**
 * An authorizer for a secret ('' means the agent's default token, else the anonymous token).
 * Servers answer from their replicated state; an unknown secret is `ACL not found`. When no
 * server can be asked (or a secondary's servers cannot ask the primary), acl.down_policy
 * decides (allow, deny, or the default policy for the cache modes, after a secondary's cache).
 */
export async function resolveSecret(agent, secret) {
  const acl = agent.rt.acl;
  const s = secret || agent.tokens.userToken() || 'anonymous';
  let r = await agent.query('acl.resolve', { secret: s, stale: true });
  // A follower may not have applied a token the leader just committed: the leader decides.
  if (r.status === 200 && !r.body) r = await agent.query('acl.resolve', { secret: s });
  if (r.status !== 200) {
    const policy =
      acl.downPolicy === 'allow' || acl.downPolicy === 'deny' ? acl.downPolicy : acl.defaultPolicy;
    agent.logger.limited(
      'acl-down',
      10000,
      'warn',
      'agent.acl',
      'Failed to resolve token, using the down policy',
      { down_policy: acl.downPolicy, error: String(r.body) },
    );
    return new Authorizer({ accessor: primaryDownIdentity(r.body), defaultPolicy: policy });
  }
  if (!r.body) throw notFound();
  return new Authorizer({ ...r.body, defaultPolicy: acl.defaultPolicy });
}

/** Per request: the token is resolved once, and only by endpoints that check it. */
export function aclContext(agent, req, query) {
  if (!agent.rt.acl.enabled) return null;
  const secret = requestToken(req, query);
  let pending;
  return {
    // parseToken falls back to the agent's default token, and only a non-empty token gets the header.
    explicit: secret !== '' || Boolean(agent.tokens.userToken()),
    secret: secret || agent.tokens.userToken() || 'anonymous',
    authz: () => (pending ??= resolveSecret(agent, secret)),
  };
}

/** The permission each endpoint needs before it runs (the research table of issue 18). */
const GUARDS = [
  ['GET', /^\/v1\/agent\/self$/, (a, agent) => a.enforce('agent', 'read', agent.rt.nodeName)],
  [
    'PUT',
    /^\/v1\/agent\/(leave|reload|join\/.+)$/,
    (a, agent) => a.enforce('agent', 'write', agent.rt.nodeName),
  ],
  ['PUT', /^\/v1\/agent\/force-leave\/.+$/, (a) => a.enforce('operator', 'write')],
  ['PUT', /^\/v1\/agent\/maintenance$/, (a, agent) => a.enforce('node', 'write', agent.rt.nodeName)],
  [
    'GET',
    /^\/v1\/operator\/(autopilot\/health|autopilot\/configuration|raft\/configuration)$/,
    (a) => a.enforce('operator', 'read'),
  ],
  ['DELETE', /^\/v1\/operator\/raft\/peer$/, (a) => a.enforce('operator', 'write')],
  ['POST', /^\/v1\/operator\/raft\/transfer-leader$/, (a) => a.enforce('operator', 'write')],
  ['PUT', /^\/v1\/operator\/autopilot\/configuration$/, (a) => a.enforce('operator', 'write')],
  ['GET', /^\/v1\/operator\/keyring$/, (a) => a.enforce('keyring', 'read')],
  [/^(POST|PUT|DELETE)$/, /^\/v1\/operator\/keyring$/, (a) => a.enforce('keyring', 'write')],
];

/** Throws the 403 when the request's token lacks what the endpoint needs. */
export async function guard(ctx, agent, method, pathname) {
  if (!ctx.acl) return;
  for (const [m, re, check] of GUARDS) {
    const methodOk =
      typeof m === 'string' ? m === method || (m === 'GET' && method === 'HEAD') : m.test(method);
    if (methodOk && re.test(pathname)) check(await ctx.acl.authz(), agent);
  }
}

/** Keeps what the token may read; marks the response when something was left out. */
export async function filtered(ctx, list, visible) {
  if (!ctx.acl) return { list, headers: {} };
  const a = await ctx.acl.authz();
  const kept = list.filter((x) => visible(a, x));
  const headers =
    kept.length !== list.length && ctx.acl.explicit ? { 'X-Consul-Results-Filtered-By-ACLs': 'true' } : {};
  return { list: kept, headers };
}

const nodeOk = (a, name) => a.allowed('node', 'read', name);
const serviceOk = (a, name) => a.allowed('service', 'read', name);

/** The filter of each server read the HTTP API serves (agent/consul/acl.go filterACL). */
export async function filterQuery(ctx, kind, r) {
  if (!ctx.acl || r.status !== 200) return { r, headers: {} };
  // Only the reads below resolve the token: status/leader and status/peers check no ACL in
  // Consul (Status.Leader takes no token), so an unknown default token must not fail them.
  const mark = (before, after) =>
    before !== after && ctx.acl.explicit ? { 'X-Consul-Results-Filtered-By-ACLs': 'true' } : {};
  const list = async (fn) => {
    const out = await filtered(ctx, r.body, fn);
    return { r: { ...r, body: out.list }, headers: out.headers };
  };
  switch (kind) {
    case 'catalog.nodes':
      return list((x, n) => nodeOk(x, n.Node));
    case 'catalog.service':
      return list((x, e) => nodeOk(x, e.Node) && serviceOk(x, e.ServiceName));
    case 'health.service':
      return list((x, e) => nodeOk(x, e.Node.Node) && serviceOk(x, e.Service.Service));
    case 'health.node':
      return list((x, c) => nodeOk(x, c.Node) && (!c.ServiceName || serviceOk(x, c.ServiceName)));
    case 'catalog.services': {
      const a = await ctx.acl.authz();
      const names = Object.keys(r.body);
      const body = Object.fromEntries(Object.entries(r.body).filter(([name]) => serviceOk(a, name)));
      return { r: { ...r, body }, headers: mark(names.length, Object.keys(body).length) };
    }
    case 'catalog.node': {
      if (!r.body) return { r, headers: {} };
      const a = await ctx.acl.authz();
      if (!nodeOk(a, r.body.Node.Node)) return { r: { ...r, body: null }, headers: mark(1, 0) };
      const services = Object.fromEntries(
        Object.entries(r.body.Services).filter(([, s]) => serviceOk(a, s.Service)),
      );
      return {
        r: { ...r, body: { ...r.body, Services: services } },
        headers: mark(Object.keys(r.body.Services).length, Object.keys(services).length),
      };
    }
    default:
      return { r, headers: {} };
  }
}
