// The `acl` block as Consul builds it (agent/config/builder.go) and the resolver's start-up
// checks (agent/consul/acl.go NewACLResolver), which only fail the agent's start, not validate.
// Deprecated keys (tokens.master, agent_master, acl_*) were already moved by config.mjs.

export function buildAclRuntime(cfg) {
  const a = cfg.acl ?? {};
  const t = a.tokens ?? {};
  return {
    enabled: a.enabled === true,
    defaultPolicy: a.default_policy ?? 'allow',
    downPolicy: a.down_policy ?? 'extend-cache',
    enableTokenPersistence: a.enable_token_persistence === true,
    // Only the key turns replication on (acl.tokens.replication alone does not).
    tokenReplication: a.enable_token_replication === true,
    tokens: {
      initialManagement: t.initial_management ?? '',
      agent: t.agent ?? '',
      default: t.default ?? '',
      agentRecovery: t.agent_recovery ?? '',
      replication: t.replication ?? '',
      configFileServiceRegistration: t.config_file_service_registration ?? '',
    },
  };
}

/** NewACLResolver's checks; returns the error text or null. */
export function aclStartError(acl) {
  if (!['allow', 'deny', 'async-cache', 'extend-cache'].includes(acl.downPolicy))
    return `invalid ACL down policy ${JSON.stringify(acl.downPolicy)}`;
  // acl.RootAuthorizer returns nil for anything else, which the resolver refuses.
  if (!['allow', 'deny'].includes(acl.defaultPolicy))
    return `invalid ACL default policy ${JSON.stringify(acl.defaultPolicy)}`;
  return null;
}
