// The agent's own ACL tokens (agent/token/store.go): from acl.tokens in the config, replaced
// through `PUT /v1/agent/token/<type>`, and kept in <data_dir>/acl-tokens.json (mode 0600)
// only with acl.enable_token_persistence, as Consul does. Persisted tokens win over the config's,
// at start and on reload (tokens.Load); each token remembers whether it came from the config or the API.
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
    this.file = path.join(dataDir, 'acl-tokens.json');
    this.load(acl);
  }

  /** The config's tokens, unless persistence kept one set through the API. */
  load(acl) {
    this.persist = acl.enableTokenPersistence;
    const t = acl.tokens;
    this.tokens = {
      default: t.default,
      agent: t.agent,
      agent_recovery: t.agentRecovery,
      replication: t.replication,
      config_file_service_registration: t.configFileServiceRegistration,
    };
    this.sources = Object.fromEntries(Object.keys(this.tokens).map((k) => [k, 'config']));
    if (this.persist) {
      let saved = {};
      try {
        saved = JSON.parse(fs.readFileSync(this.file, 'utf8'));
      } catch {
        /* nothing persisted yet */
      }
      for (const k of Object.keys(this.tokens))
        if (saved[k]) {
          this.tokens[k] = saved[k];
          this.sources[k] = 'api';
        }
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

  /** acl.tokens.config_file_service_registration (Consul 1.15+): services from config files register with it. */
  configFileRegistrationToken() {
    return this.tokens.config_file_service_registration;
  }

  /** Sets a token from the API; true when its value or its source changed (Consul's Update* result). */
  set(kind, secret) {
    const changed = this.tokens[kind] !== secret || this.sources[kind] !== 'api';
    this.tokens[kind] = secret;
    this.sources[kind] = 'api';
    if (!this.persist) return changed;
    // Only what the API set is saved (persistence.go saveToFile checks TokenSourceAPI): a
    // token from the config stays the config's, and a later config change still applies.
    const out = {};
    for (const [k, v] of Object.entries(this.tokens)) if (v && this.sources[k] === 'api') out[k] = v;
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(out), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    return changed;
  }
}
