import { createHash, createHmac } from 'node:crypto';
import { httpStep, mapStep, type Step, type StepSite } from '../../remote/step.js';
import { redactText, Secret } from '../../shell/secret.js';
import type { HttpRequest, HttpResponse, HttpTls } from '../../ssh/transport.js';
import {
  asArray,
  asObject,
  getBoolean,
  getNumber,
  getString,
  parseJsonBody,
  type JsonObject,
} from './json-shape.js';
import { ConsulOutputError } from './output-error.js';

/**
 * Consul's ACL system (1.11+ API, as 1.19/1.20 answer it) as steps: bootstrap, policies, tokens
 * and an agent's own tokens. Every answer is read here, into Secrets at once, so no SecretID is
 * ever held or returned as a plain string; every request but the bootstrap carries the
 * management token it is given, as `X-Consul-Token`.
 *
 * drover keeps one secret of its own, the management token (app/acl-token-source.ts). It never
 * stores agent, DNS or operator tokens: it creates each with an AccessorID it can compute again
 * (droverAccessorId) and a SecretID derived from the management token (derivedTokenSecret), so
 * a config that names an agent's token is rendered and checked before any connection, and a
 * client with auto_encrypt, which needs its token before it can start, has it in its config.
 *
 * Texts and codes from agent/acl_endpoint.go, agent/agent_endpoint.go and acl/errors.go (see
 * docs/research/consul-tls-and-acls.md §3-4): a missing policy or token is 403 `ACL not found`
 * (text, no JSON; later versions prefix it, e.g. `Requested token does not exist: ACL not
 * found`, and may answer 404), ACLs off is 401 `ACL support disabled`, a second bootstrap is 403
 * `Permission denied: ACL bootstrap no longer allowed (reset index: N)`.
 */

/** The builtin anonymous token: what a request without a token (and DNS, by default) acts as. */
export const ANONYMOUS_TOKEN_ID = '00000000-0000-0000-0000-000000000002';
/** The builtin global-management policy the bootstrap token holds. */
export const GLOBAL_MANAGEMENT_POLICY_ID = '00000000-0000-0000-0000-000000000001';
/** In the leader's data_dir, the reset index that allows one more bootstrap (then Consul removes it). */
export const BOOTSTRAP_RESET_FILE = 'acl-bootstrap-reset';

/** The agent an ACL call goes to, as seen from the host whose connection carries it. */
export interface AclTarget {
  /** 127.0.0.1 by default: the host's own agent, which forwards ACL writes to the leader. */
  host?: string;
  port?: number;
  /** HTTPS, checked against the cluster's CA (consul/api/endpoint.ts); absent: plain HTTP. */
  tls?: HttpTls;
  timeoutSeconds?: number;
}

/** A call made with the management token (or any token holding the rights the call needs). */
export interface AclCall extends AclTarget {
  token: Secret;
}

/** Consul answered an ACL call with something other than success. */
export class AclApiError extends ConsulOutputError {
  constructor(
    source: string,
    readonly status: number,
    detail: string,
  ) {
    super(source, detail);
  }
}

/** 401 `ACL support disabled`: the agent runs without `acl.enabled`. */
export class AclDisabledError extends AclApiError {}

// ---------------------------------------------------------------------------------------------
// Requests and answers

type Method = 'GET' | 'PUT' | 'DELETE';

function aclRequest(
  method: Method,
  path: string,
  target: AclTarget,
  o: {
    token?: Secret;
    body?: unknown;
    /**
     * The ACL reads decide writes (a missing token is created, an unknown management token
     * leads to the one-time bootstrap), so they are `?consistent`: just after a leader change
     * the new leader may not have applied what the old one committed, and a default read would
     * answer from that older state. Consistent reads wait for its barrier (rpc.go consistentRead).
     */
    consistent?: boolean;
  } = {},
): HttpRequest {
  return {
    method,
    host: target.host ?? '127.0.0.1',
    port: target.port ?? 8500,
    path: o.consistent ? `${path}?consistent` : path,
    ...(o.body !== undefined && { body: JSON.stringify(o.body) }),
    // The transport bounds every request by this.
    timeoutSeconds: target.timeoutSeconds ?? 10,
    ...(target.tls && { tls: target.tls }),
    ...(o.token && { token: o.token }),
  };
}

const sourceOf = (req: HttpRequest): string => `${req.method ?? 'GET'} ${req.path}`;

const where = (req: HttpRequest, site: StepSite): string =>
  `${req.tls ? 'https://' : ''}${req.host}:${req.port} via ${site.host}`;

/**
 * `ACL not found`, bare (1.12-1.14) or within the longer texts of 1.15+ (hashicorp/consul#16105:
 * `Requested token does not exist: ACL not found`, and `Supplied token does not exist` for
 * /v1/acl/token/self).
 */
const NOT_FOUND = /ACL not found|Supplied token does not exist/;

/** A missing policy or token; a token Consul does not know at all answers the same (see tokenSelfStep). */
const isNotFound = (res: HttpResponse): boolean =>
  (res.status === 403 || res.status === 404) && NOT_FOUND.test(res.body.trim());

/** Why a status failed, in words an operator can act on. */
function hint(res: HttpResponse): string {
  const body = res.body.trim();
  if (res.status === 403 && NOT_FOUND.test(body))
    return ' (the token sent is not one this cluster knows: check the management token)';
  if (res.status === 403 && body.startsWith('Permission denied'))
    return ' (the token sent lacks the right named)';
  return '';
}

/**
 * The error for an answer that is not a success. Consul's texts name AccessorIDs, never secrets,
 * but the body is scrubbed of every secret the request carried anyway.
 */
function failure(
  req: HttpRequest,
  res: HttpResponse,
  site: StepSite,
  secrets: readonly Secret[],
): AclApiError {
  const source = sourceOf(req);
  const clear = [...secrets.map((s) => s.reveal()), ...site.secrets()];
  const text = redactText(res.body, clear).trim().slice(0, 400);
  const detail = `HTTP ${res.status} from ${where(req, site)}${hint(res)}: ${text}`;
  if (res.status === 401 && res.body.trim() === 'ACL support disabled')
    return new AclDisabledError(source, res.status, `${detail} (acl.enabled is off on that agent)`);
  return new AclApiError(source, res.status, detail);
}

/** A step whose 200 body is read by `read`; any other answer fails, scrubbed of `secrets`. */
function aclStep<T>(
  req: HttpRequest,
  read: (body: string, source: string) => T,
  secrets: readonly Secret[],
): Step<T> {
  return mapStep(httpStep(req), (res, site) => {
    if (res.status === 200) return read(res.body, sourceOf(req));
    throw failure(req, res, site, secrets);
  });
}

/** A read whose missing object is `undefined`, not an error. */
function readStep<T>(
  req: HttpRequest,
  read: (body: string, source: string) => T,
  token: Secret,
): Step<T | undefined> {
  return mapStep(httpStep(req), (res, site) => {
    if (res.status === 200) return read(res.body, sourceOf(req));
    if (isNotFound(res)) return undefined;
    throw failure(req, res, site, [token]);
  });
}

const seg = (s: string): string => encodeURIComponent(s);

// ---------------------------------------------------------------------------------------------
// Bootstrap

export type BootstrapAnswer =
  | {
      readonly alreadyBootstrapped: false;
      readonly accessorId: string;
      /** The new management token. */
      readonly secretId: Secret;
    }
  | {
      readonly alreadyBootstrapped: true;
      /** The raft index of the bootstrap: written to `<data_dir>/acl-bootstrap-reset`, it allows one more. */
      readonly resetIndex: number;
      /** A reset file is present but holds this other index (`Invalid bootstrap reset index`). */
      readonly resetFileIndex?: number;
    };

export const BOOTSTRAP_PATH = '/v1/acl/bootstrap';

// Consul's text (structs.ACLBootstrapNotAllowedErr); `already done` is older releases' (a 500).
const ALREADY = /ACL bootstrap (?:no longer allowed|already done) \(reset index: (\d+)\)/;
const WRONG_RESET = /Invalid bootstrap reset index \(specified (\d+), reset index: (\d+)\)/;

/**
 * Consul's answer to `PUT /v1/acl/bootstrap`, pure: the token it made, or that the cluster was
 * bootstrapped before (a 403, not a failure: the caller explains the recovery). Undefined for
 * any other answer.
 */
export function parseBootstrapAnswer(
  res: Pick<HttpResponse, 'status' | 'body'>,
): BootstrapAnswer | undefined {
  if (res.status === 200) {
    const token = parseAclToken(res.body, `PUT ${BOOTSTRAP_PATH}`);
    if (!token.secretId)
      throw new ConsulOutputError(`PUT ${BOOTSTRAP_PATH}`, 'the answer carries no SecretID');
    return { alreadyBootstrapped: false, accessorId: token.accessorId, secretId: token.secretId };
  }
  const wrong = WRONG_RESET.exec(res.body);
  if (wrong) {
    return { alreadyBootstrapped: true, resetIndex: Number(wrong[2]), resetFileIndex: Number(wrong[1]) };
  }
  const already = ALREADY.exec(res.body);
  return already ? { alreadyBootstrapped: true, resetIndex: Number(already[1]) } : undefined;
}

/**
 * The one-time bootstrap of the ACL system (ACL required: none, so no token is sent). With
 * `bootstrapSecret` Consul uses it as the SecretID ("an operator created token can be provided
 * in the body", api-docs/acl), so a caller can keep the secret before asking and a lost answer
 * cannot lose the token. Keep the answer's secretId all the same: a release that ignores the
 * body makes its own.
 */
export function bootstrapStep(o: AclTarget & { bootstrapSecret?: Secret } = {}): Step<BootstrapAnswer> {
  const secrets = o.bootstrapSecret ? [o.bootstrapSecret] : [];
  const req = aclRequest(
    'PUT',
    BOOTSTRAP_PATH,
    o,
    o.bootstrapSecret ? { body: { BootstrapSecret: o.bootstrapSecret.reveal() } } : {},
  );
  return mapStep(httpStep(req), (res, site) => {
    const answer = parseBootstrapAnswer(res);
    if (answer) return answer;
    throw failure(req, res, site, secrets);
  });
}

/** `<data_dir>/acl-bootstrap-reset`, on the leader. */
export const bootstrapResetFile = (dataDir: string): string =>
  `${dataDir.replace(/\/+$/, '')}/${BOOTSTRAP_RESET_FILE}`;

/**
 * What to tell an operator whose cluster was bootstrapped but who holds no management token:
 * Consul's reset procedure (agent/consul/acl_endpoint.go aclBootstrapReset). `dataDir` is the
 * data dir as the host sees it (the agent's container mounts it at /consul/data).
 */
export function bootstrapResetAdvice(
  answer: { resetIndex: number; resetFileIndex?: number },
  dataDir: string,
): string {
  const file = bootstrapResetFile(dataDir);
  const stale =
    answer.resetFileIndex === undefined
      ? ''
      : ` ${file} holds ${answer.resetFileIndex}, which is not the reset index.`;
  return (
    `the ACL system was bootstrapped before (reset index ${answer.resetIndex}) and drover has no management token for it.${stale} ` +
    `If that token is lost: on the leader, write ${answer.resetIndex} to ${file} (readable by the agent's user), ` +
    `then bootstrap again; Consul removes the file once it is used. Otherwise give drover the token ` +
    `(consul_acl_management_token or DROVER_ACL_TOKEN).`
  );
}

// ---------------------------------------------------------------------------------------------
// Tokens as Consul describes them

export interface NodeIdentity {
  readonly nodeName: string;
  readonly datacenter: string;
}

/**
 * A service identity: Consul expands it to `service "<name>"` and `"<name>-sidecar-proxy"`
 * write, plus `service_prefix ""` and `node_prefix ""` read (agent/structs/acl_ce.go), valid only
 * in `datacenters` (all of them when empty).
 */
export interface ServiceIdentity {
  readonly serviceName: string;
  readonly datacenters: readonly string[];
}

export interface PolicyLink {
  readonly id: string;
  readonly name: string;
}

export interface AclToken {
  readonly accessorId: string;
  /** Absent when Consul hid it (`<hidden>`: the reader lacks acl:write). */
  readonly secretId?: Secret;
  readonly description: string;
  readonly policies: readonly PolicyLink[];
  readonly nodeIdentities: readonly NodeIdentity[];
  readonly serviceIdentities: readonly ServiceIdentity[];
  readonly local: boolean;
  readonly createIndex: number;
  readonly modifyIndex: number;
  /**
   * What drover does not manage (Roles, TemplatedPolicies), as Consul sent
   * it: an update sends it back, since Consul replaces a token whole and would otherwise drop it.
   */
  readonly unmanaged: JsonObject;
}

const HIDDEN_SECRET = '<hidden>';
const UNMANAGED_TOKEN_FIELDS = ['Roles', 'TemplatedPolicies'];

/** Consul's ACLToken JSON (`GET /v1/acl/token/:id`, and every token write's answer). */
export function parseAclToken(body: string, source: string): AclToken {
  const o = asObject(parseJsonBody(body, source), source, '');
  const secret = o['SecretID'];
  if (secret !== undefined && typeof secret !== 'string')
    throw new ConsulOutputError(source, 'SecretID: expected a string');
  return {
    accessorId: getString(o, 'AccessorID', source),
    ...(secret !== undefined && secret !== '' && secret !== HIDDEN_SECRET
      ? { secretId: new Secret(secret) }
      : {}),
    description: typeof o['Description'] === 'string' ? o['Description'] : '',
    policies: listOf(o, 'Policies', source).map((p, i) => {
      const link = asObject(p, source, `Policies[${i}]`);
      return {
        id: getString(link, 'ID', source, `Policies[${i}]`),
        name: typeof link['Name'] === 'string' ? link['Name'] : '',
      };
    }),
    nodeIdentities: listOf(o, 'NodeIdentities', source).map((n, i) => {
      const ident = asObject(n, source, `NodeIdentities[${i}]`);
      return {
        nodeName: getString(ident, 'NodeName', source, `NodeIdentities[${i}]`),
        datacenter: getString(ident, 'Datacenter', source, `NodeIdentities[${i}]`),
      };
    }),
    serviceIdentities: listOf(o, 'ServiceIdentities', source).map((n, i) => {
      const where = `ServiceIdentities[${i}]`;
      const ident = asObject(n, source, where);
      return {
        serviceName: getString(ident, 'ServiceName', source, where),
        datacenters: listOf(ident, 'Datacenters', source).map((d, j) => {
          if (typeof d !== 'string')
            throw new ConsulOutputError(source, `${where}.Datacenters[${j}]: expected a string`);
          return d;
        }),
      };
    }),
    local: getBoolean(o, 'Local', source),
    createIndex: getNumber(o, 'CreateIndex', source),
    modifyIndex: getNumber(o, 'ModifyIndex', source),
    unmanaged: Object.fromEntries(
      UNMANAGED_TOKEN_FIELDS.filter((k) => o[k] !== undefined && o[k] !== null).map((k) => [k, o[k]]),
    ),
  };
}

/** A list Consul leaves out when it is empty (`omitempty`). */
function listOf(o: JsonObject, key: string, source: string): readonly unknown[] {
  return o[key] === undefined || o[key] === null ? [] : asArray(o[key], source, key);
}

/** The token behind the request's own token, or undefined when Consul knows no such token. */
export function tokenSelfStep(call: AclCall): Step<AclToken | undefined> {
  return readStep(
    aclRequest('GET', '/v1/acl/token/self', call, { token: call.token, consistent: true }),
    parseAclToken,
    call.token,
  );
}

/**
 * A token by AccessorID, its SecretID as a Secret (hidden unless the call's token has
 * acl:write), or undefined when there is none. Consul answers an unknown *call* token the same
 * way: check the management token once with tokenSelfStep before reading.
 */
export function readTokenStep(accessorId: string, call: AclCall): Step<AclToken | undefined> {
  const req = aclRequest('GET', `/v1/acl/token/${seg(accessorId)}`, call, {
    token: call.token,
    consistent: true,
  });
  return readStep(req, parseAclToken, call.token);
}

// ---------------------------------------------------------------------------------------------
// Tokens as drover wants them

export interface TokenWant {
  readonly accessorId: string;
  readonly description: string;
  /** Policy names. */
  readonly policies: readonly string[];
  readonly nodeIdentities: readonly NodeIdentity[];
  readonly serviceIdentities: readonly ServiceIdentity[];
  /** A datacenter-local token (not replicated); Consul cannot change this on an existing token. */
  readonly local: boolean;
  /** The SecretID to create it with (derivedTokenSecret); absent: Consul draws one. Never changed by an update. */
  readonly secret?: Secret;
}

function tokenBody(
  want: TokenWant,
  unmanaged: JsonObject = {},
  o: { withSecret?: boolean } = {},
): JsonObject {
  return {
    ...unmanaged,
    AccessorID: want.accessorId,
    ...(o.withSecret && want.secret && { SecretID: want.secret.reveal() }),
    Description: want.description,
    Policies: want.policies.map((Name) => ({ Name })),
    NodeIdentities: want.nodeIdentities.map((n) => ({ NodeName: n.nodeName, Datacenter: n.datacenter })),
    ServiceIdentities: want.serviceIdentities.map((s) => ({
      ServiceName: s.serviceName,
      ...(s.datacenters.length > 0 && { Datacenters: s.datacenters }),
    })),
    Local: want.local,
  };
}

/** Creates the token with its chosen AccessorID, and its SecretID when the want has one. */
export function createTokenStep(want: TokenWant, call: AclCall): Step<AclToken> {
  const req = aclRequest('PUT', '/v1/acl/token', call, {
    token: call.token,
    body: tokenBody(want, {}, { withSecret: true }),
  });
  return aclStep(req, parseAclToken, [call.token, ...(want.secret ? [want.secret] : [])]);
}

/** Deletes a token (acl:write); Consul refuses to delete the request's own token. */
export function deleteTokenStep(accessorId: string, call: AclCall): Step<void> {
  const req = aclRequest('DELETE', `/v1/acl/token/${seg(accessorId)}`, call, { token: call.token });
  return aclStep(req, () => undefined, [call.token]);
}

/** Replaces the token's description, policies and identities; its SecretID stays. */
export function updateTokenStep(want: TokenWant, call: AclCall, unmanaged: JsonObject = {}): Step<AclToken> {
  const req = aclRequest('PUT', `/v1/acl/token/${seg(want.accessorId)}`, call, {
    token: call.token,
    body: tokenBody(want, unmanaged),
  });
  return aclStep(req, parseAclToken, [call.token]);
}

export type TokenPlan =
  | { readonly action: 'create'; readonly want: TokenWant }
  | {
      readonly action: 'update';
      /** The token as it is to be, for a shared token what it had plus what drover needs. */
      readonly want: TokenWant;
      readonly changes: readonly string[];
      readonly unmanaged: JsonObject;
    }
  /** Its SecretID is not the one wanted, which no update can change: delete it, create it again. */
  | { readonly action: 'replace'; readonly want: TokenWant }
  | { readonly action: 'none' }
  | { readonly action: 'refuse'; readonly reason: string };

const identityKey = (n: NodeIdentity): string => `${n.nodeName}:${n.datacenter}`;
/** Consul sorts and merges a service identity's datacenters (Deduplicate): compared as a set. */
const serviceKey = (s: ServiceIdentity): string =>
  s.datacenters.length === 0 ? s.serviceName : `${s.serviceName}@${sorted(s.datacenters).join(',')}`;
const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** `+a -b` for what a list gains and loses. */
function listChange(what: string, have: readonly string[], want: readonly string[]): string[] {
  const added = want.filter((x) => !have.includes(x)).map((x) => `+${x}`);
  const removed = have.filter((x) => !want.includes(x)).map((x) => `-${x}`);
  return added.length + removed.length > 0 ? [`${what}: ${[...added, ...removed].join(' ')}`] : [];
}

/**
 * Create, update or leave a token, pure. `shared` is for a token drover is not the only user of
 * (the anonymous token): drover adds what it needs, removes nothing and keeps the description.
 * A token's Local flag cannot change (Consul refuses it), so a mismatch is refused, not planned.
 */
export function planToken(
  want: TokenWant,
  have: AclToken | undefined,
  o: { shared?: boolean } = {},
): TokenPlan {
  if (!have) return { action: 'create', want };
  if (have.local !== want.local) {
    return {
      action: 'refuse',
      reason:
        `token ${want.accessorId} exists as a ${have.local ? 'local' : 'global'} token and should be ` +
        `${want.local ? 'local' : 'global'}; Consul cannot change that: delete it to have it made again`,
    };
  }
  // A hidden SecretID (a reader without acl:write) cannot be compared: nothing to replace then.
  if (want.secret && have.secretId && have.secretId.reveal() !== want.secret.reveal())
    return { action: 'replace', want };
  const havePolicies = sorted(have.policies.map((p) => p.name).filter((n) => n !== ''));
  const haveIdentities = sorted(have.nodeIdentities.map(identityKey));
  const haveServices = sorted(have.serviceIdentities.map(serviceKey));
  const target: TokenWant = o.shared
    ? {
        ...want,
        description: have.description,
        policies: sorted([...havePolicies, ...want.policies]),
        nodeIdentities: uniqueBy([...have.nodeIdentities, ...want.nodeIdentities], identityKey),
        serviceIdentities: uniqueBy([...have.serviceIdentities, ...want.serviceIdentities], serviceKey),
      }
    : want;
  const changes = [
    ...(have.description !== target.description ? ['description'] : []),
    ...listChange('policies', havePolicies, sorted(target.policies)),
    ...listChange('node identities', haveIdentities, sorted(target.nodeIdentities.map(identityKey))),
    ...listChange('service identities', haveServices, sorted(target.serviceIdentities.map(serviceKey))),
  ];
  if (changes.length === 0) return { action: 'none' };
  return { action: 'update', want: target, changes, unmanaged: have.unmanaged };
}

function uniqueBy<T>(list: readonly T[], key: (x: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const x of list) seen.set(key(x), x);
  return [...seen.values()].sort((a, b) => key(a).localeCompare(key(b)));
}

/** The writes a plan calls for, in order; none for `none` and `refuse`. */
export function tokenWriteSteps(plan: TokenPlan, call: AclCall): Step<unknown>[] {
  switch (plan.action) {
    case 'create':
      return [createTokenStep(plan.want, call)];
    case 'update':
      return [updateTokenStep(plan.want, call, plan.unmanaged)];
    case 'replace':
      return [deleteTokenStep(plan.want.accessorId, call), createTokenStep(plan.want, call)];
    default:
      return [];
  }
}

/**
 * The AccessorID drover gives the token it makes for `purpose` (and `nodeName`, for per-node
 * tokens) in `datacenter`, so that a later run finds the token again without storing anything.
 * The rule: the first 16 bytes of SHA-256 over `drover-acl-accessor/v1`, the datacenter, the
 * purpose and the node name (each NUL-terminated, so different inputs never hash the same text), with the
 * RFC 9562 version nibble set to 8 (custom) and the variant bits to 10, written as a UUID. It
 * cannot fall in Consul's reserved range (`00000000-0000-0000-0000-0000000000xx`, version 0).
 * An AccessorID is not a secret: Consul logs it; the SecretID alone grants anything.
 */
export function droverAccessorId(o: { datacenter: string; purpose: string; nodeName?: string }): string {
  const h = createHash('sha256');
  for (const part of ['drover-acl-accessor/v1', o.datacenter, o.purpose, o.nodeName ?? ''])
    h.update(`${part}\0`);
  return uuidV8(h.digest());
}

/** The first 16 bytes of a digest as an RFC 9562 version 8 (custom) UUID. */
function uuidV8(digest: Buffer): string {
  const b = digest.subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x80;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The tokens drover makes: an agent's own and its services' (per host), the agents' default
 * (DNS), its operator token, and the replication token of the servers outside the primary
 * datacenter.
 */
export type DerivedTokenPurpose = 'agent' | 'services' | 'dns' | 'operator' | 'replication';

/**
 * The SecretID of a token drover makes for `purpose` (and `host`, the inventory host, for an
 * agent's token): HMAC-SHA256 keyed with the management token over the purpose and host, as a
 * UUID. Anyone holding the management token could mint any token anyway, so deriving from it
 * adds no power; it means nothing else has to be stored, and every run computes the same
 * tokens before connecting. A new management token gives new secrets: the next deploy
 * replaces the tokens (tokenWriteSteps `replace`) and the configs together.
 */
export function derivedTokenSecret(management: Secret, purpose: DerivedTokenPurpose, host = ''): Secret {
  const h = createHmac('sha256', management.reveal());
  for (const part of ['drover-acl-secret/v1', purpose, host]) h.update(`${part}\0`);
  return new Secret(uuidV8(h.digest()));
}

/**
 * An agent's own token: a node identity, which Consul expands to `node "<name>" { policy =
 * "write" }` + `service_prefix "" { policy = "read" }` (agent/structs/acl_ce.go): what the agent
 * needs to register itself, run anti-entropy and have its auto_encrypt certificate signed.
 */
export function agentTokenWant(node: NodeIdentity, secret?: Secret): TokenWant {
  return {
    ...(secret && { secret }),
    accessorId: droverAccessorId({ datacenter: node.datacenter, purpose: 'agent', nodeName: node.nodeName }),
    description: `drover: agent token of ${node.nodeName} (${node.datacenter})`,
    policies: [],
    nodeIdentities: [node],
    serviceIdentities: [],
    local: false,
  };
}

/**
 * The token an agent registers the services of its config files with
 * (acl.tokens.config_file_service_registration, Consul 1.15+): a service identity per service
 * name the host declares, valid in the node's datacenter only. A host with no services still
 * has one, with no identities, so adding its first service changes the token, never the
 * config. Consul wants identity names as `^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$`; the
 * consul_services module already holds names to one DNS label, which always fits.
 */
export function servicesTokenWant(
  node: NodeIdentity,
  services: readonly string[],
  secret?: Secret,
): TokenWant {
  return {
    ...(secret && { secret }),
    accessorId: droverAccessorId({
      datacenter: node.datacenter,
      purpose: 'services',
      nodeName: node.nodeName,
    }),
    description: `drover: services token of ${node.nodeName} (${node.datacenter})`,
    policies: [],
    nodeIdentities: [],
    serviceIdentities: sorted(services).map((serviceName) => ({
      serviceName,
      datacenters: [node.datacenter],
    })),
    local: false,
  };
}

/** The token drover's own calls use once the cluster is set up (OPERATOR_POLICY). */
export function operatorTokenWant(datacenter: string, secret?: Secret): TokenWant {
  return {
    ...(secret && { secret }),
    accessorId: droverAccessorId({ datacenter, purpose: 'operator' }),
    description: `drover: operator token (${datacenter})`,
    policies: [OPERATOR_POLICY.name],
    nodeIdentities: [],
    serviceIdentities: [],
    local: false,
  };
}

/** A token for the agents' `default` slot, so DNS answers (DNS_POLICY), as Consul 1.20's DNS docs do it. */
export function dnsTokenWant(datacenter: string, secret?: Secret): TokenWant {
  return {
    ...(secret && { secret }),
    accessorId: droverAccessorId({ datacenter, purpose: 'dns' }),
    description: `drover: DNS lookups, the agents' default token (${datacenter})`,
    policies: [DNS_POLICY.name],
    nodeIdentities: [],
    serviceIdentities: [],
    local: false,
  };
}

/**
 * The token the servers of the other datacenters replicate ACLs with (acl.tokens.replication),
 * made in the primary like every global token.
 */
export function replicationTokenWant(primary: string, secret?: Secret): TokenWant {
  return {
    ...(secret && { secret }),
    accessorId: droverAccessorId({ datacenter: primary, purpose: 'replication' }),
    description: `drover: ACL replication from ${primary}`,
    policies: [REPLICATION_POLICY.name],
    nodeIdentities: [],
    serviceIdentities: [],
    local: false,
  };
}

/** The anonymous token with the DNS policy; plan it `shared`: the operator may have given it more. */
export const anonymousDnsWant = (): TokenWant => ({
  accessorId: ANONYMOUS_TOKEN_ID,
  description: 'Anonymous Token',
  policies: [DNS_POLICY.name],
  nodeIdentities: [],
  serviceIdentities: [],
  local: false,
});

// ---------------------------------------------------------------------------------------------
// An agent's own tokens

/** The slots of `PUT /v1/agent/token/:kind`, by their Consul 1.11+ names. */
export type AgentTokenKind =
  'agent' | 'default' | 'agent_recovery' | 'replication' | 'config_file_service_registration';

/**
 * Sets one of an agent's tokens (agent:write on that agent's node). The agent forgets it on
 * restart unless `acl.enable_token_persistence` is on. The token travels in the body only.
 */
export function setAgentTokenStep(kind: AgentTokenKind, agentToken: Secret, call: AclCall): Step<void> {
  const req = aclRequest('PUT', `/v1/agent/token/${kind}`, call, {
    token: call.token,
    body: { Token: agentToken.reveal() },
  });
  return aclStep(req, () => undefined, [call.token, agentToken]);
}

// ---------------------------------------------------------------------------------------------
// Policies

export interface AclPolicy {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly rules: string;
  /** Empty: valid in every datacenter. */
  readonly datacenters: readonly string[];
  readonly modifyIndex: number;
}

export interface PolicyWant {
  readonly name: string;
  readonly description: string;
  /** HCL, sent and compared as the exact text. */
  readonly rules: string;
}

/** Consul's ACLPolicy JSON (`GET /v1/acl/policy/...`, and every policy write's answer). */
export function parseAclPolicy(body: string, source: string): AclPolicy {
  const o = asObject(parseJsonBody(body, source), source, '');
  return {
    id: getString(o, 'ID', source),
    name: getString(o, 'Name', source),
    description: typeof o['Description'] === 'string' ? o['Description'] : '',
    rules: typeof o['Rules'] === 'string' ? o['Rules'] : '',
    datacenters: listOf(o, 'Datacenters', source).map((d, i) => {
      if (typeof d !== 'string') throw new ConsulOutputError(source, `Datacenters[${i}]: expected a string`);
      return d;
    }),
    modifyIndex: getNumber(o, 'ModifyIndex', source),
  };
}

/** A policy by name, or undefined when there is none. */
export function readPolicyStep(name: string, call: AclCall): Step<AclPolicy | undefined> {
  const req = aclRequest('GET', `/v1/acl/policy/name/${seg(name)}`, call, {
    token: call.token,
    consistent: true,
  });
  return readStep(req, parseAclPolicy, call.token);
}

const policyBody = (want: PolicyWant): JsonObject => ({
  Name: want.name,
  Description: want.description,
  Rules: want.rules,
});

export function createPolicyStep(want: PolicyWant, call: AclCall): Step<AclPolicy> {
  const req = aclRequest('PUT', '/v1/acl/policy', call, { token: call.token, body: policyBody(want) });
  return aclStep(req, parseAclPolicy, [call.token]);
}

/** Replaces the policy whole: leaving Datacenters out makes it valid everywhere again. */
export function updatePolicyStep(id: string, want: PolicyWant, call: AclCall): Step<AclPolicy> {
  const req = aclRequest('PUT', `/v1/acl/policy/${seg(id)}`, call, {
    token: call.token,
    body: { ID: id, ...policyBody(want) },
  });
  return aclStep(req, parseAclPolicy, [call.token]);
}

export type PolicyPlan =
  | { readonly action: 'create' }
  | { readonly action: 'update'; readonly id: string; readonly changes: readonly string[] }
  | { readonly action: 'none'; readonly id: string };

/** Create, update or leave a policy, pure: drover's policies are drover's, exactly as written. */
export function planPolicy(want: PolicyWant, have: AclPolicy | undefined): PolicyPlan {
  if (!have) return { action: 'create' };
  const changes = [
    ...(have.rules !== want.rules ? ['rules'] : []),
    ...(have.description !== want.description ? ['description'] : []),
    ...(have.datacenters.length > 0 ? [`datacenters: only ${have.datacenters.join(', ')}`] : []),
  ];
  return changes.length === 0 ? { action: 'none', id: have.id } : { action: 'update', id: have.id, changes };
}

/** The write a plan calls for, or undefined when there is none. */
export function policyWriteStep(
  plan: PolicyPlan,
  want: PolicyWant,
  call: AclCall,
): Step<AclPolicy> | undefined {
  switch (plan.action) {
    case 'create':
      return createPolicyStep(want, call);
    case 'update':
      return updatePolicyStep(plan.id, want, call);
    case 'none':
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The policies drover needs, as data: every rule says which of drover's calls needs it

export interface PolicyRule {
  /** One rule, in HCL. */
  readonly hcl: string;
  /** The calls that need it, written above the rule as a comment, so the policy explains itself in Consul's UI. */
  readonly why: string;
}

/** The rules as one HCL text, each after its comment. */
export const renderRules = (rules: readonly PolicyRule[]): string =>
  rules.map((r) => `# ${r.why}\n${r.hcl}\n`).join('');

const prefixRule = (resource: string, level: 'read' | 'write'): string =>
  `${resource}_prefix "" {\n  policy = "${level}"\n}`;

/**
 * HashiCorp's DNS policy (developer.hashicorp.com/consul/docs/v1.20.x/secure/acl/token/dns),
 * for the agents' default token or the anonymous token. It leaves out `query_prefix "" read`,
 * which only prepared queries need; drover makes none.
 */
export const DNS_RULES: readonly PolicyRule[] = [
  {
    why: 'DNS: NAME.node.consul, and the nodes behind NAME.service.consul: node:read',
    hcl: prefixRule('node', 'read'),
  },
  { why: 'DNS: NAME.service.consul: service:read', hcl: prefixRule('service', 'read') },
];

/**
 * Just what drover's own calls need (docs/research/consul-tls-and-acls.md §3 "Permissions for
 * the endpoints drover uses", checked against Consul's API docs). Calls that need no ACL are not
 * listed: /v1/status/leader and /peers, /v1/connect/ca/roots. Snapshots are not here: see
 * SNAPSHOT_RULES.
 */
export const OPERATOR_RULES: readonly PolicyRule[] = [
  {
    why:
      'GET /v1/agent/self on each agent (health gates, verify, `consul info`) needs agent:read; ' +
      'PUT /v1/agent/reload (`consul reload` in deploy and the services playbook) needs agent:write',
    hcl: prefixRule('agent', 'write'),
  },
  {
    why:
      'GET /v1/agent/members and `consul members` (gates, verify, members, reset-node) and the catalog ' +
      '(verify --deep): node:read on every node, else it is filtered out of the answer; ' +
      'PUT /v1/agent/maintenance (a client out of DNS during its restart) needs node:write',
    hcl: prefixRule('node', 'write'),
  },
  {
    why: 'GET /v1/catalog/service/NAME (verify --deep, the services check): service:read',
    hcl: prefixRule('service', 'read'),
  },
  {
    why:
      'GET /v1/operator/raft/configuration, /v1/operator/autopilot/health and `consul operator raft ' +
      'list-peers` (gates, verify, restart, upgrade) need operator:read; PUT /v1/agent/force-leave ' +
      '(members --prune, reset-node) needs operator:write',
    hcl: 'operator = "write"',
  },
  {
    why:
      'GET /v1/operator/keyring needs keyring:read, its POST/PUT/DELETE (install, use, remove in ' +
      'rotate-gossip-key) keyring:write',
    hcl: 'keyring = "write"',
  },
];

/**
 * GET /v1/snapshot: Consul checks acl:write (acl/authorizer.go SnapshotAllowed; the docs say
 * "management"), because a snapshot holds every token's SecretID. A token with it can read or
 * mint any token, so it is management in all but name: it is a policy of its own, attached only
 * where snapshots are taken, never part of the operator token.
 */
export const SNAPSHOT_RULES: readonly PolicyRule[] = [
  {
    why: 'GET /v1/snapshot (a backup before an upgrade): acl:write, the same as management',
    hcl: 'acl = "write"',
  },
];

/**
 * What a secondary datacenter's servers need to replicate from the primary, as Consul's docs
 * give it (secure/acl/token/replication.mdx; docs/research/consul-acl-replication.md §2).
 */
export const REPLICATION_RULES: readonly PolicyRule[] = [
  {
    why: 'policies, roles and (acl:write: with their secrets) tokens; with acl:read only, token replication stops',
    hcl: 'acl = "write"',
  },
  {
    why: 'the proxy-defaults config entry, and the secondary Connect CA (its intermediate is signed in the primary)',
    hcl: 'operator = "write"',
  },
  {
    why: 'the service-defaults config entries and intentions',
    hcl: 'service_prefix "" {\n  policy = "read"\n  intentions = "read"\n}',
  },
];

export const DNS_POLICY: PolicyWant = {
  name: 'drover-dns',
  description: 'drover: DNS lookups of nodes and services (the default or anonymous token)',
  rules: renderRules(DNS_RULES),
};

export const OPERATOR_POLICY: PolicyWant = {
  name: 'drover-operator',
  description: 'drover: its health gates, verify, members, reset-node and gossip key rotation',
  rules: renderRules(OPERATOR_RULES),
};

export const REPLICATION_POLICY: PolicyWant = {
  name: 'drover-replication',
  description: "drover: ACL replication by the other datacenters' servers",
  rules: renderRules(REPLICATION_RULES),
};

export const SNAPSHOT_POLICY: PolicyWant = {
  name: 'drover-snapshot',
  description: 'drover: snapshots (acl:write, as powerful as the management token)',
  rules: renderRules(SNAPSHOT_RULES),
};
