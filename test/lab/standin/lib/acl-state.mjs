// The ACL tables of the replicated state store (agent/consul/state/acl.go): tokens by
// AccessorID, policies by ID, and the bootstrap record. Every server applies the same raft
// commands, so tokens and policies survive restarts and leader changes as KV does. The
// command texts below are the errors Consul's ACL endpoints return.
import crypto from 'node:crypto';
import { ANONYMOUS_ID, GLOBAL_MANAGEMENT_ID } from './acl-authorizer.mjs';
import { nodeIdentityRules, parseRules, serviceIdentityRules } from './acl-rules.mjs';

const GLOBAL_MANAGEMENT_RULES = `
acl = "write"
agent_prefix "" {
  policy = "write"
}
event_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "write"
}
keyring = "write"
node_prefix "" {
  policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
  intentions = "write"
}
session_prefix "" {
  policy = "write"
}`;

const POLICY_NAME = /^[A-Za-z0-9\-_]{1,128}$/;
// acl/validation.go validServiceIdentityName, at most 256 characters.
const SERVICE_IDENTITY_NAME = /^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/;
const hash = (o) => crypto.createHash('sha256').update(JSON.stringify(o)).digest('base64');

export class AclTable {
  constructor() {
    this.tokens = new Map();
    this.policies = new Map();
    this.bootstrapIndex = 0;
    // A secondary's tables once its leader has copied the primary's global tokens.
    this.tokensReplicated = false;
  }

  apply(idx, cmd) {
    switch (cmd.op) {
      case 'init':
        return this.init(idx, cmd);
      case 'bootstrap':
        return this.bootstrap(idx, cmd);
      case 'token-set':
        return this.tokenSet(idx, cmd);
      case 'token-delete':
        return this.tokens.delete(cmd.accessorId);
      case 'policy-set':
        return this.policySet(idx, cmd.policy);
      case 'policy-delete':
        return this.policyDelete(cmd.id);
      case 'replicate':
        return this.replicate(cmd);
      default:
        throw new Error(`unknown ACL operation ${cmd.op}`);
    }
  }

  /** What a new leader writes once (leader.go initializeACLs): the builtin policy and the anonymous token. */
  init(idx, { createTime }) {
    if (!this.policies.has(GLOBAL_MANAGEMENT_ID)) {
      this.policies.set(GLOBAL_MANAGEMENT_ID, {
        ID: GLOBAL_MANAGEMENT_ID,
        Name: 'global-management',
        Description: 'Builtin Policy that grants unlimited access',
        Rules: GLOBAL_MANAGEMENT_RULES,
        Hash: hash(GLOBAL_MANAGEMENT_RULES),
        CreateIndex: idx,
        ModifyIndex: idx,
      });
    }
    if (!this.tokens.has(ANONYMOUS_ID)) {
      this.tokens.set(ANONYMOUS_ID, {
        AccessorID: ANONYMOUS_ID,
        SecretID: 'anonymous',
        Description: 'Anonymous Token',
        Local: false,
        CreateTime: createTime,
        CreateIndex: idx,
        ModifyIndex: idx,
      });
    }
    return true;
  }

  /** BootstrapTokens: once, unless the leader read a reset index equal to the bootstrap's. */
  bootstrap(idx, { token, resetIndex }) {
    if (this.bootstrapIndex) {
      if (resetIndex === undefined)
        throw new Error(`ACL bootstrap no longer allowed (reset index: ${this.bootstrapIndex})`);
      if (resetIndex !== this.bootstrapIndex)
        throw new Error(
          `Invalid bootstrap reset index (specified ${resetIndex}, reset index: ${this.bootstrapIndex})`,
        );
    }
    const t = { ...token, Policies: [{ ID: GLOBAL_MANAGEMENT_ID }], CreateIndex: idx, ModifyIndex: idx };
    this.tokens.set(t.AccessorID, t);
    this.bootstrapIndex = idx;
    return this.tokenJson(t);
  }

  tokenSet(idx, { token, update }) {
    const cur = this.tokens.get(token.AccessorID);
    if (update && !cur) throw new Error(`Cannot find token ${JSON.stringify(token.AccessorID)}`);
    if (!update && cur) throw new Error('Invalid Token: AccessorID is already in use');
    if (!update && [...this.tokens.values()].some((t) => t.SecretID === token.SecretID))
      throw new Error('Invalid Token: SecretID is already in use');
    const links = (token.Policies ?? []).map((l) => {
      const p = l.ID ? this.policies.get(l.ID) : [...this.policies.values()].find((x) => x.Name === l.Name);
      if (!p)
        throw new Error(
          l.ID
            ? `No such ACL policy with ID ${JSON.stringify(l.ID)}`
            : `No such ACL policy with name ${JSON.stringify(l.Name)}`,
        );
      return { ID: p.ID };
    });
    // auth/token_writer.go normalizeServiceIdentities.
    for (const s of token.ServiceIdentities ?? []) {
      if (!s.ServiceName) throw new Error('Service identity is missing the service name field on this token');
      if (token.Local && s.Datacenters?.length)
        throw new Error(`Service identity ${JSON.stringify(s.ServiceName)} cannot specify a list of datacenters on a local token`);
      if (s.ServiceName.length > 256 || !SERVICE_IDENTITY_NAME.test(s.ServiceName))
        throw new Error(`Service identity ${JSON.stringify(s.ServiceName)} has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed`);
    }
    for (const n of token.NodeIdentities ?? []) {
      if (!n.NodeName) throw new Error('node identity is missing the node name field on this token');
      if (!n.Datacenter) throw new Error('node identity is missing the datacenter field on this token');
    }
    const t = {
      ...token,
      SecretID: cur?.SecretID ?? token.SecretID,
      CreateTime: cur?.CreateTime ?? token.CreateTime,
      Policies: links,
      CreateIndex: cur?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    this.tokens.set(t.AccessorID, t);
    return this.tokenJson(t);
  }

  policySet(idx, policy) {
    if (!policy.Name) throw new Error('Invalid Policy: no Name is set');
    if (!POLICY_NAME.test(policy.Name))
      throw new Error("Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
    const cur = this.policies.get(policy.ID);
    if (policy.update && !cur) throw new Error(`Cannot find policy ${JSON.stringify(policy.ID)}`);
    if (policy.ID === GLOBAL_MANAGEMENT_ID && (policy.Rules ?? '') !== cur.Rules)
      throw new Error('Changing the Rules for the builtin global-management policy is not permitted');
    const clash = [...this.policies.values()].find((p) => p.Name === policy.Name && p.ID !== policy.ID);
    if (clash)
      throw new Error(`Invalid Policy: A Policy with Name ${JSON.stringify(policy.Name)} already exists`);
    parseRules(policy.Rules ?? '');
    const p = {
      ID: policy.ID,
      Name: policy.Name,
      Description: policy.Description ?? '',
      Rules: policy.Rules ?? '',
      Datacenters: policy.Datacenters?.length ? policy.Datacenters : undefined,
      Hash: hash(policy.Rules ?? ''),
      CreateIndex: cur?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    this.policies.set(p.ID, p);
    return p;
  }

  policyDelete(id) {
    if (id === GLOBAL_MANAGEMENT_ID)
      throw new Error('Delete operation not permitted on the builtin global-management policy');
    this.policies.delete(id);
    for (const t of this.tokens.values())
      if (t.Policies?.some((l) => l.ID === id)) t.Policies = t.Policies.filter((l) => l.ID !== id);
    return true;
  }

  /**
   * A secondary takes the primary's policies whole and, with token replication, its global
   * tokens: global tokens the primary does not have are dropped (Consul's warning: "global
   * tokens present in the secondary datacenter are lost"); local tokens stay.
   */
  replicate({ policies, tokens }) {
    this.policies = new Map(policies.map((p) => [p.ID, p]));
    if (!tokens) return true;
    for (const [id, t] of this.tokens) if (!t.Local) this.tokens.delete(id);
    for (const t of tokens) this.tokens.set(t.AccessorID, t);
    this.tokensReplicated = true;
    return true;
  }

  /** The API's view of a token: policy links carry their current names; empty lists are left out. */
  tokenJson(t) {
    const out = { AccessorID: t.AccessorID, SecretID: t.SecretID, Description: t.Description ?? '' };
    if (t.Policies?.length)
      out.Policies = t.Policies.map((l) => ({ ID: l.ID, Name: this.policies.get(l.ID)?.Name ?? '' }));
    if (t.ServiceIdentities?.length)
      out.ServiceIdentities = t.ServiceIdentities.map((s) => ({ ServiceName: s.ServiceName, ...(s.Datacenters?.length && { Datacenters: s.Datacenters }) }));
    if (t.NodeIdentities?.length) out.NodeIdentities = t.NodeIdentities;
    Object.assign(out, {
      Local: t.Local ?? false,
      CreateTime: t.CreateTime,
      Hash: hash([t.Description, t.Policies, t.ServiceIdentities, t.NodeIdentities]),
      CreateIndex: t.CreateIndex,
      ModifyIndex: t.ModifyIndex,
    });
    return out;
  }

  /** What a secret grants in datacenter dc, or null for an unknown secret. */
  resolve(secret, dc) {
    const t = [...this.tokens.values()].find((x) => x.SecretID === secret);
    // Until the first leader has written the anonymous token, it stands for no policies at all.
    if (!t && secret === 'anonymous') return { accessor: ANONYMOUS_ID, management: false, rulesTexts: [] };
    if (!t) return null;
    const rulesTexts = [];
    let management = false;
    for (const l of t.Policies ?? []) {
      if (l.ID === GLOBAL_MANAGEMENT_ID) management = true;
      const p = this.policies.get(l.ID);
      if (p && (!p.Datacenters || p.Datacenters.includes(dc))) rulesTexts.push(p.Rules);
    }
    for (const s of t.ServiceIdentities ?? [])
      if (!s.Datacenters?.length || s.Datacenters.includes(dc)) rulesTexts.push(serviceIdentityRules(s.ServiceName));
    for (const n of t.NodeIdentities ?? [])
      if (n.Datacenter === dc) rulesTexts.push(nodeIdentityRules(n.NodeName));
    return { accessor: t.AccessorID, management, rulesTexts };
  }

  snapshot() {
    return {
      tokens: [...this.tokens.values()],
      policies: [...this.policies.values()],
      bootstrapIndex: this.bootstrapIndex,
      tokensReplicated: this.tokensReplicated,
    };
  }

  restore(s) {
    if (!s) return;
    for (const t of s.tokens) this.tokens.set(t.AccessorID, t);
    for (const p of s.policies) this.policies.set(p.ID, p);
    this.bootstrapIndex = s.bootstrapIndex;
    this.tokensReplicated = s.tokensReplicated === true;
  }
}
