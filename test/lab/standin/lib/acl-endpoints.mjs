// `/v1/acl/*` (bootstrap, tokens, policies) and `PUT /v1/agent/token/<type>`, with Consul's
// status codes and texts (agent/acl_endpoint.go, agent/agent_endpoint.go AgentToken). Writes go
// through raft; the checks that need the whole table run in the state machine (acl-state.mjs).
import crypto from 'node:crypto';
import { AclError, ANONYMOUS_ID } from './acl-authorizer.mjs';
import { AgentTokens } from './agent-tokens.mjs';
import { HttpError } from './kv-api.mjs';

const REDACTED = '<hidden>';

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString();
  if (!text.trim()) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `Request decode failed: ${e.message}`);
  }
}

/** An RPC answer as the HTTP API sends it: permission and not-found errors are 403 text. */
function answer(r) {
  if (r.status === 200) return r.body;
  const text = String(r.body);
  if (/^ACL bootstrap no longer allowed|^Invalid bootstrap reset index/.test(text))
    throw new AclError(`Permission denied: ${text}`);
  throw new HttpError(r.status, text);
}

const now = () => new Date().toISOString();

export function aclRoutes(agent) {
  const enabled = () => {
    if (!agent.rt.acl.enabled) throw new HttpError(401, 'ACL support disabled');
  };
  const authz = async (ctx, level) => {
    enabled();
    const a = await ctx.acl.authz();
    a.enforce('acl', level);
    return a;
  };
  const id = (ctx) => decodeURIComponent(ctx.params[0]);
  const readMode = (ctx) => ({ stale: ctx.query.has('stale'), consistent: ctx.query.has('consistent') });
  const redact = (a, t) => (t && !a.allowed('acl', 'write') ? { ...t, SecretID: REDACTED } : t);
  // Through this datacenter's leader, which sends what lives in the primary there (server.mjs aclApply).
  const write = (cmd) => agent.query('acl.apply', { cmd });

  async function tokenWrite(ctx, update) {
    const a = await authz(ctx, 'write');
    const body = (await readJson(ctx.req)) ?? {};
    const accessor = update ? id(ctx) : body.AccessorID || crypto.randomUUID();
    if (update && body.AccessorID && body.AccessorID !== accessor)
      throw new HttpError(400, 'Token Accessor ID in URL and payload do not match');
    const token = {
      AccessorID: accessor,
      SecretID: body.SecretID || crypto.randomUUID(),
      Description: body.Description ?? '',
      Policies: body.Policies ?? [],
      ServiceIdentities: body.ServiceIdentities ?? [],
      NodeIdentities: body.NodeIdentities ?? [],
      Local: body.Local === true,
      CreateTime: now(),
    };
    const out = answer(await write({ type: 'acl', op: 'token-set', token, update }));
    agent.logger.info('agent.http', update ? 'Updated ACL token' : 'Created ACL token', {
      accessorID: accessor,
    });
    return { json: redact(a, out) };
  }

  async function policyWrite(ctx, update) {
    await authz(ctx, 'write');
    const body = (await readJson(ctx.req)) ?? {};
    const policyId = update ? id(ctx) : crypto.randomUUID();
    const policy = {
      ID: policyId,
      Name: body.Name ?? '',
      Description: body.Description ?? '',
      Rules: body.Rules ?? '',
      Datacenters: body.Datacenters,
      update,
    };
    return { json: answer(await write({ type: 'acl', op: 'policy-set', policy })) };
  }

  return [
    [
      'PUT',
      /^\/v1\/acl\/bootstrap$/,
      async (ctx) => {
        enabled();
        const body = (await readJson(ctx.req)) ?? {};
        const out = answer(
          await agent.query('acl.bootstrap', {
            accessor: crypto.randomUUID(),
            secret: body.BootstrapSecret || crypto.randomUUID(),
            createTime: now(),
          }),
        );
        agent.logger.info('agent.http', 'ACL bootstrap completed', { accessorID: out.AccessorID });
        return { json: out };
      },
    ],
    [
      'GET',
      /^\/v1\/acl\/replication$/,
      // ACL required: none; answered by the datacenter's leader (zero in the primary).
      async () => {
        enabled();
        return { json: answer(await agent.query('acl.replication', {})) };
      },
    ],
    [
      'GET',
      /^\/v1\/acl\/token\/self$/,
      // ACL.TokenRead by secret: the request's token is looked up in the state the read mode
      // names (the leader's by default; ?consistent waits for a new leader's barrier).
      async (ctx) => {
        enabled();
        const t = answer(await agent.query('acl.tokenBySecret', { secret: ctx.acl.secret, ...readMode(ctx) }));
        if (!t) throw new AclError('ACL not found');
        return { json: t };
      },
    ],
    [
      'GET',
      /^\/v1\/acl\/token\/([^/]+)$/,
      async (ctx) => {
        const a = await authz(ctx, 'read');
        const t = answer(await agent.query('acl.token', { accessor: id(ctx), ...readMode(ctx) }));
        if (!t) throw new AclError('ACL not found');
        return { json: redact(a, t) };
      },
    ],
    [
      'GET',
      /^\/v1\/acl\/tokens$/,
      async (ctx) => {
        const a = await authz(ctx, 'read');
        return { json: answer(await agent.query('acl.tokens', {})).map((t) => redact(a, t)) };
      },
    ],
    ['PUT', /^\/v1\/acl\/token$/, (ctx) => tokenWrite(ctx, false)],
    ['PUT', /^\/v1\/acl\/token\/([^/]+)$/, (ctx) => tokenWrite(ctx, true)],
    [
      'DELETE',
      /^\/v1\/acl\/token\/([^/]+)$/,
      async (ctx) => {
        const a = await authz(ctx, 'write');
        const accessor = id(ctx);
        if (accessor === ANONYMOUS_ID)
          throw new HttpError(500, 'Delete operation not permitted on the anonymous token');
        if (accessor === a.accessor)
          throw new HttpError(500, "Deletion of the request's authorization token is not permitted");
        answer(await write({ type: 'acl', op: 'token-delete', accessorId: accessor }));
        return { json: true };
      },
    ],
    [
      'GET',
      /^\/v1\/acl\/policies$/,
      async (ctx) => {
        await authz(ctx, 'read');
        return { json: answer(await agent.query('acl.policies', {})) };
      },
    ],
    [
      'GET',
      /^\/v1\/acl\/policy\/name\/([^/]+)$/,
      async (ctx) => {
        await authz(ctx, 'read');
        const p = answer(await agent.query('acl.policy', { name: id(ctx), ...readMode(ctx) }));
        if (!p) throw new AclError('ACL not found');
        return { json: p };
      },
    ],
    [
      'GET',
      /^\/v1\/acl\/policy\/([^/]+)$/,
      async (ctx) => {
        await authz(ctx, 'read');
        const p = answer(await agent.query('acl.policy', { id: id(ctx), ...readMode(ctx) }));
        if (!p) throw new AclError('ACL not found');
        return { json: p };
      },
    ],
    ['PUT', /^\/v1\/acl\/policy$/, (ctx) => policyWrite(ctx, false)],
    ['PUT', /^\/v1\/acl\/policy\/([^/]+)$/, (ctx) => policyWrite(ctx, true)],
    [
      'DELETE',
      /^\/v1\/acl\/policy\/([^/]+)$/,
      async (ctx) => {
        await authz(ctx, 'write');
        answer(await write({ type: 'acl', op: 'policy-delete', id: id(ctx) }));
        return { json: true };
      },
    ],
    [
      'PUT',
      /^\/v1\/agent\/token\/([^/]+)$/,
      async (ctx) => {
        enabled();
        const a = await ctx.acl.authz();
        a.enforce('agent', 'write', agent.rt.nodeName);
        const target = id(ctx);
        const kind = AgentTokens.kind(target);
        if (!kind) throw new HttpError(404, `Token ${JSON.stringify(target)} is unknown`);
        const body = (await readJson(ctx.req)) ?? {};
        const changed = agent.tokens.set(kind, String(body.Token ?? ''));
        agent.logger.info('agent', "Updated agent's ACL token", { token: target });
        // AgentToken: only a changed agent or default token asks for a full sync (what it
        // writes with may now be allowed); config_file_service_registration waits for the next one.
        if (changed && (kind === 'agent' || kind === 'default')) agent.ae?.trigger({ full: true });
        return { empty: true };
      },
    ],
  ];
}
