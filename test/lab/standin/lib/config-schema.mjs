// The Consul agent config keys the stand-in knows, with the Go type Consul decodes them
// into. Keys Consul accepts but the stand-in does not act on are typed 'any' so that a
// config valid for real Consul is never rejected here. Unknown keys are errors, as in Consul.
//   string | bool | int | strings ([]string) | map (any object) | any | { nested schema }

const ANY_OBJECT = 'map';

export const PORTS = {
  dns: 'int', http: 'int', https: 'int', grpc: 'int', grpc_tls: 'int', serf_lan: 'int', serf_wan: 'int',
  server: 'int', sidecar_min_port: 'int', sidecar_max_port: 'int', expose_min_port: 'int', expose_max_port: 'int',
};

export const SCHEMA = {
  acl: ANY_OBJECT,
  addresses: { dns: 'string', http: 'string', https: 'string', grpc: 'string', grpc_tls: 'string' },
  advertise_addr: 'string', advertise_addr_ipv4: 'string', advertise_addr_ipv6: 'string',
  advertise_addr_wan: 'string', advertise_addr_wan_ipv4: 'string', advertise_addr_wan_ipv6: 'string',
  advertise_reconnect_timeout: 'string', alt_domain: 'string', audit: ANY_OBJECT,
  auto_config: ANY_OBJECT, auto_encrypt: ANY_OBJECT, auto_reload_config: 'bool',
  autopilot: {
    cleanup_dead_servers: 'bool', last_contact_threshold: 'string', max_trailing_logs: 'int', min_quorum: 'int',
    server_stabilization_time: 'string', redundancy_zone_tag: 'string', disable_upgrade_migration: 'bool',
    upgrade_version_tag: 'string',
  },
  bind_addr: 'string', bootstrap: 'bool', bootstrap_expect: 'int',
  cache: ANY_OBJECT, check: ANY_OBJECT, checks: 'any', check_output_max_size: 'int', check_update_interval: 'string',
  client_addr: 'string', cloud: ANY_OBJECT, config_entries: ANY_OBJECT, connect: ANY_OBJECT,
  data_dir: 'string', datacenter: 'string', default_query_time: 'string',
  disable_anonymous_signature: 'bool', disable_coordinates: 'bool', disable_host_node_id: 'bool',
  disable_http_unprintable_char_filter: 'bool', disable_keyring_file: 'bool', disable_remote_exec: 'bool',
  disable_update_check: 'bool', discard_check_output: 'bool', discovery_max_stale: 'string',
  dns_config: ANY_OBJECT, domain: 'string',
  enable_agent_tls_for_checks: 'bool', enable_central_service_config: 'bool', enable_debug: 'bool',
  enable_local_script_checks: 'bool', enable_script_checks: 'bool', enable_syslog: 'bool',
  encrypt: 'string', encrypt_verify_incoming: 'bool', encrypt_verify_outgoing: 'bool',
  experiments: 'strings', http_config: ANY_OBJECT,
  leave_on_terminate: 'bool', license_path: 'string', limits: ANY_OBJECT, locality: ANY_OBJECT,
  log_file: 'string', log_json: 'bool', log_level: 'string', log_rotate_bytes: 'int',
  log_rotate_duration: 'string', log_rotate_max_files: 'int', max_query_time: 'string',
  node_id: 'string', node_meta: ANY_OBJECT, node_name: 'string',
  peering: ANY_OBJECT, performance: { leave_drain_time: 'string', raft_multiplier: 'int', rpc_hold_timeout: 'string' },
  pid_file: 'string', ports: PORTS, primary_datacenter: 'string', primary_gateways: 'strings',
  primary_gateways_interval: 'string', protocol: 'int',
  raft_boltdb: ANY_OBJECT, raft_logstore: ANY_OBJECT, raft_protocol: 'int', raft_snapshot_interval: 'string',
  raft_snapshot_threshold: 'int', raft_trailing_logs: 'int', read_replica: 'bool',
  reconnect_timeout: 'string', reconnect_timeout_wan: 'string', recursor: 'string', recursors: 'strings',
  rejoin_after_leave: 'bool', reporting: ANY_OBJECT, retry_interval: 'string', retry_interval_wan: 'string',
  retry_join: 'strings', retry_join_wan: 'strings', retry_max: 'int', retry_max_wan: 'int',
  rpc: ANY_OBJECT, rpc_max_conns_per_client: 'int',
  segment: 'string', segments: 'any', serf_lan: 'string', serf_wan: 'string',
  serf_lan_allowed_cidrs: 'strings', serf_wan_allowed_cidrs: 'strings',
  server: 'bool', server_name: 'string', server_rejoin_age_max: 'string',
  service: ANY_OBJECT, services: 'any', session_ttl_min: 'string', skip_leave_on_interrupt: 'bool',
  syslog_facility: 'string', telemetry: ANY_OBJECT, tls: ANY_OBJECT, translate_wan_addrs: 'bool',
  ui: 'bool',
  ui_config: {
    enabled: 'bool', dir: 'string', content_path: 'string', metrics_provider: 'string',
    metrics_provider_files: 'strings', metrics_provider_options_json: 'string', metrics_proxy: ANY_OBJECT,
    dashboard_url_templates: ANY_OBJECT,
  },
  ui_content_path: 'string', ui_dir: 'string', unix_sockets: ANY_OBJECT, use_streaming_backend: 'bool',
  watches: 'any', xds: ANY_OBJECT,
  // Deprecated top-level TLS keys are still accepted by Consul 1.20.
  ca_file: 'string', ca_path: 'string', cert_file: 'string', key_file: 'string',
  verify_incoming: 'bool', verify_incoming_rpc: 'bool', verify_incoming_https: 'bool',
  verify_outgoing: 'bool', verify_server_hostname: 'bool', tls_min_version: 'string',
};
