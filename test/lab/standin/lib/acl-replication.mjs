// ACLs across WAN-joined datacenters (agent/consul/acl_server.go, acl_replication.go,
// leader.go startACLReplication). One datacenter is the primary (primary_datacenter, by
// default the agent's own): only there are the ACL system bootstrapped and the builtin policy
// and anonymous token made, and every global write lands there. A secondary's leader copies
// policies (always) and global tokens (with acl.enable_token_replication) from the primary
// with the replication token; until it holds tokens, a secondary asks the primary about each
// one and keeps the answer token_ttl (30 s). The texts are Consul's (research:
// docs/research/consul-acl-replication.md).
import { Authorizer, permissionDenied } from './acl-authorizer.mjs';

const LOG = 'agent.server.replication.acl';
const TOKEN_TTL_MS = 30000;
const TICK_MS = 1000;
const MAX_BACKOFF_S = 64;
const ZERO_TIME = '0001-01-01T00:00:00Z';
/** The identity a secondary gives a request it could not resolve because the primary did not answer. */
export const PRIMARY_DOWN_ACCESSOR = 'primary-dc-down';
export const PRIMARY_DOWN_PREFIX = 'Error communicating with the ACL Datacenter: ';

export const inPrimaryDatacenter = (rt) => rt.primaryDatacenter === rt.datacenter;
const second = () => new Date(Math.round(Date.now() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * ACL.PolicyList / ACL.TokenList as the replicator calls them, answered in the primary: the
 * replication token needs acl:read, and acl:write for tokens (else their secrets are redacted,
 * which stops replication).
 */
export function replicationData(rt, store, { secret, forDc, tokens }) {
  const r = store.acl.resolve(secret, forDc);
  if (!r) return { status: 403, body: 'ACL not found' };
  const a = new Authorizer({ ...r, defaultPolicy: rt.acl.defaultPolicy });
  if (!a.allowed('acl', 'read')) return { status: 403, body: permissionDenied(r.accessor, 'acl', 'read').message };
  if (tokens && !a.allowed('acl', 'write')) return { status: 200, body: { redacted: true } };
  return {
    status: 200,
    body: {
      index: store.index.acl,
      policies: [...store.acl.policies.values()],
      ...(tokens && { tokens: [...store.acl.tokens.values()].filter((t) => !t.Local) }),
    },
  };
}

/** structs.ACLReplicationStatus as the primary answers it: nothing replicates there. */
export function zeroReplicationStatus() {
  return {
    Enabled: false, Running: false, SourceDatacenter: '', ReplicationType: '', ReplicatedIndex: 0,
    ReplicatedRoleIndex: 0, ReplicatedTokenIndex: 0, LastSuccess: ZERO_TIME, LastError: ZERO_TIME, LastErrorMessage: '',
  };
}

export class SecondaryAcls {
  /**
   * server: the ServerRole (its raft, store and forwardToDatacenter); replicationToken: the
   * agent's current acl.tokens.replication (the API may set it later).
   */
  constructor({ rt, server, logger, replicationToken }) {
    Object.assign(this, { rt, server, logger, replicationToken });
    this.cache = new Map();
    this.status = zeroReplicationStatus();
    this.generation = 0;
  }

  /** LocalTokensEnabled: a secondary keeps tokens of its own only with token replication and its token. */
  localTokensEnabled() {
    return this.rt.acl.tokenReplication && Boolean(this.replicationToken());
  }

  /**
   * ResolveIdentityFromToken: local once replicated tokens are here (a miss is then final),
   * else the primary's answer, cached. A primary that does not answer gives an error the
   * caller turns into the down policy; acl.down_policy extend-cache first reuses an expired entry.
   */
  async resolve(secret) {
    const store = this.server.store;
    if (this.rt.acl.tokenReplication && store.acl.tokensReplicated) return { status: 200, body: store.acl.resolve(secret, this.rt.datacenter) };
    const local = [...store.acl.tokens.values()].find((t) => t.SecretID === secret && t.Local);
    if (local) return { status: 200, body: store.acl.resolve(secret, this.rt.datacenter) };
    const cached = this.cache.get(secret);
    if (cached && cached.until > Date.now()) return { status: 200, body: cached.value };
    const r = await this.server.forwardToDatacenter('acl.resolve', { dc: this.rt.primaryDatacenter, secret, forDc: this.rt.datacenter });
    if (r.status === 200) {
      if (r.body) this.cache.set(secret, { value: r.body, until: Date.now() + TOKEN_TTL_MS });
      else this.cache.delete(secret);
      return { status: 200, body: r.body };
    }
    if (cached && /cache$/.test(this.rt.acl.downPolicy)) return { status: 200, body: cached.value };
    const error = `${PRIMARY_DOWN_PREFIX}${r.body}`;
    this.logger.limited('acl-primary-down', 10000, 'error', 'agent.server', 'Error resolving token', { error });
    return { status: 500, body: error };
  }

  // --- the replicator, on this datacenter's leader only -----------------------------------------

  start() {
    this.stop();
    const generation = ++this.generation;
    this.status = {
      ...zeroReplicationStatus(), Enabled: true, Running: true, SourceDatacenter: this.rt.primaryDatacenter,
      ReplicationType: this.rt.acl.tokenReplication ? 'tokens' : 'policies',
    };
    this.remoteIndex = 0;
    this.logger.info(`${LOG}.policy`, 'started ACL Policy replication');
    if (this.rt.acl.tokenReplication) this.logger.info(`${LOG}.token`, 'started ACL Token replication');
    this.loop(generation);
  }

  stop() {
    this.generation++;
    clearTimeout(this.timer);
    this.status = { ...this.status, Running: false };
  }

  async loop(generation) {
    let backoff = 0;
    while (generation === this.generation) {
      let wait = TICK_MS;
      // Silent while there is no token, as Consul's runACLReplicator.
      if (this.replicationToken()) {
        const error = await this.round().catch((e) => e.message);
        if (generation !== this.generation) return;
        if (error) {
          backoff = Math.min(backoff ? backoff * 2 : 2, MAX_BACKOFF_S);
          wait = backoff * 1000;
          this.remoteIndex = 0;
          this.status = { ...this.status, LastError: second(), LastErrorMessage: error };
          this.logger.warn(LOG, 'ACL replication error (will retry if still leader)', { error });
        } else {
          backoff = 0;
          this.status = { ...this.status, LastSuccess: second() };
        }
      }
      await new Promise((r) => { this.timer = setTimeout(r, wait); this.timer.unref?.(); });
    }
  }

  /** One pass: policies, then (with token replication) tokens, applied through raft when the primary moved on. */
  async round() {
    const tokens = this.rt.acl.tokenReplication;
    const ask = { dc: this.rt.primaryDatacenter, secret: this.replicationToken(), forDc: this.rt.datacenter, tokens };
    const r = await this.server.forwardToDatacenter('acl.replicationData', ask);
    if (r.status !== 200) {
      const cause = /^No path|^Remote DC/.test(String(r.body)) ? r.body : `rpc error making call: ${r.body}`;
      return `failed to retrieve remote ACL policies: ${cause}`;
    }
    if (r.body.redacted) {
      this.logger.warn(`${LOG}.token`, 'Detected redacted token secrets: stopping token update round - verify that the replication token in use has acl:write permissions.');
      return 'failed to retrieve unredacted tokens - replication token in use does not grant acl:write';
    }
    if (r.body.index < this.remoteIndex) this.logger.warn(LOG, 'ACL replication remote index moved backwards, forcing a full ACL sync', { from: this.remoteIndex, to: r.body.index });
    if (r.body.index !== this.remoteIndex) {
      await this.server.raft.apply({ type: 'acl', op: 'replicate', policies: r.body.policies, tokens: r.body.tokens });
      this.remoteIndex = r.body.index;
      this.logger.debug(`${LOG}.${tokens ? 'token' : 'policy'}`, 'ACL replication completed through remote index', { index: r.body.index });
    }
    this.status = {
      ...this.status, ReplicatedIndex: r.body.index, ReplicatedRoleIndex: r.body.index,
      ReplicatedTokenIndex: tokens ? r.body.index : 0,
    };
    return null;
  }

  /** `GET /v1/acl/replication` in this datacenter (answered by its leader). */
  statusJson() {
    return { ...this.status };
  }
}

/** What a secondary's request gets when the primary cannot be asked: the down policy, under Consul's placeholder identity. */
export function primaryDownIdentity(body) {
  return String(body).startsWith(PRIMARY_DOWN_PREFIX) ? PRIMARY_DOWN_ACCESSOR : '';
}
