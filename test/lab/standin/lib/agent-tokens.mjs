// The agent's own ACL tokens (agent/token/store.go): from acl.tokens in the config, replaced
// through `PUT /v1/agent/token/<type>`, and kept in <data_dir>/acl-tokens.json (mode 0600)
// only with acl.enable_token_persistence, as Consul does. Persisted tokens win over the config's.
import fs from 'node:fs';
import path from 'node:path';

// The URL names Consul accepts for each token (agent_endpoint.go AgentToken), and the persisted key.
const TARGETS = {
  default: 'default',
  acl_token: 'default',
  agent: 'agent',
  acl_agent_token: 'agent',
  agent_recovery: 'agent_recovery',
  agent_master: 'agent_recovery',
  acl_agent_master_token: 'agent_recovery',
  replication: 'replication',
  acl_replication_token: 'replication',
  config_file_service_registration: 'config_file_service_registration',
};

export class AgentTokens {
  constructor(acl, dataDir) {
    this.persist = acl.enableTokenPersistence;
    this.file = path.join(dataDir, 'acl-tokens.json');
    const t = acl.tokens;
    this.tokens = {
      default: t.default,
      agent: t.agent,
      agent_recovery: t.agentRecovery,
      replication: t.replication,
      config_file_service_registration: t.configFileServiceRegistration,
    };
    if (this.persist) {
      let saved = {};
      try {
        saved = JSON.parse(fs.readFileSync(this.file, 'utf8'));
      } catch {
        /* nothing persisted yet */
      }
      for (const k of Object.keys(this.tokens)) if (saved[k]) this.tokens[k] = saved[k];
    }
  }

  /** The kind a URL target names, or undefined for an unknown one. */
  static kind(target) {
    return TARGETS[target];
  }

  /** The token the agent uses for its own writes: the agent token, else the default (user) token. */
  agentToken() {
    return this.tokens.agent || this.tokens.default;
  }

  userToken() {
    return this.tokens.default;
  }

  set(kind, secret) {
    this.tokens[kind] = secret;
    if (!this.persist) return;
    const out = {};
    for (const [k, v] of Object.entries(this.tokens)) if (v) out[k] = v;
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(out), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}
