// Every key a Consul 1.20 agent config file may hold, as data. Taken from Consul's own config
// structs: `Config` and its nested types in agent/config/config.go (their `mapstructure` tags are
// the key names), `DeprecatedConfig` in agent/config/deprecated.go (old keys still accepted, with
// a warning), and `ServiceDefinition`/`CheckDefinition`. A key missing here is what Consul reports
// as "invalid config key X", at any depth, so keep this list in step with Consul, not with what
// the stand-in happens to use.
//
// Types, named after the Go type Consul decodes into:
//   'string' | 'bool' | 'int' | 'uint' | 'float'
//   'duration'   a Go *string parsed with time.ParseDuration when the runtime config is built
//   'strings'    []string
//   'stringMap'  map[string]string (free keys, string values: node_meta, service meta, ...)
//   'stringsMap' map[string][]string (check headers)
//   'map'        map[string]interface{} (free-form: connect.ca_config, proxy config, ...)
//   'any'        not checked
//   { ... }      a nested struct: its keys are checked too
//   listOf(T)    []T, each element checked as T
//   mapOf(T)     map[string]T, each value checked as T
//   alias(key)   another name Consul translates to `key` (an `alias:` struct tag)

export class ListOf { constructor(of) { this.of = of; } }
export class MapOf { constructor(of) { this.of = of; } }
export class Alias { constructor(to) { this.to = to; } }
const listOf = (of) => new ListOf(of);
const mapOf = (of) => new MapOf(of);
const alias = (to) => new Alias(to);

// EnterpriseMeta is squashed into services and checks; the CE build accepts its keys too.
const ENTERPRISE_META = { namespace: 'string', partition: 'string' };

export const CHECK = {
  id: 'string', name: 'string', notes: 'string', service_id: 'string', serviceid: alias('service_id'),
  token: 'string', status: 'string', args: 'strings', scriptargs: alias('args'), http: 'string',
  header: 'stringsMap', method: 'string', body: 'string', disable_redirects: 'bool', output_max_size: 'int',
  tcp: 'string', udp: 'string', interval: 'string', docker_container_id: 'string',
  dockercontainerid: alias('docker_container_id'), shell: 'string', grpc: 'string', grpc_use_tls: 'bool',
  tls_server_name: 'string', tls_skip_verify: 'bool', tlsskipverify: alias('tls_skip_verify'),
  alias_node: 'string', alias_service: 'string', timeout: 'string', ttl: 'string', h2ping: 'string',
  h2ping_use_tls: 'bool', os_service: 'string', success_before_passing: 'int', failures_before_warning: 'int',
  failures_before_critical: 'int', deregister_critical_service_after: 'string',
  deregistercriticalserviceafter: alias('deregister_critical_service_after'),
  ...ENTERPRISE_META,
};

const MESH_GATEWAY = { mode: 'string' };

const UPSTREAM = {
  destination_type: 'string', destination_namespace: 'string', destination_partition: 'string',
  destination_peer: 'string', destination_name: 'string', datacenter: 'string', local_bind_address: 'string',
  local_bind_port: 'int', local_bind_socket_path: 'string', local_bind_socket_mode: 'string', config: 'map',
  mesh_gateway: MESH_GATEWAY,
};

const PROXY = {
  destination_service_name: 'string', destination_service_id: 'string', local_service_address: 'string',
  local_service_port: 'int', local_service_socket_path: 'string',
  transparent_proxy: { outbound_listener_port: 'int', dialed_directly: 'bool' },
  mode: 'string', config: 'map', upstreams: listOf(UPSTREAM), mesh_gateway: MESH_GATEWAY,
  expose: {
    checks: 'bool', port: 'int',
    paths: listOf({ listener_port: 'int', path: 'string', protocol: 'string', local_path_port: 'int' }),
  },
};

export const SERVICE = {
  kind: 'string', id: 'string', name: 'string', tags: 'strings', address: 'string',
  tagged_addresses: mapOf({ address: 'string', port: 'int' }), meta: 'stringMap', port: 'int',
  socket_path: 'string', check: CHECK, checks: listOf(CHECK), token: 'string',
  weights: { passing: 'int', warning: 'int' }, enable_tag_override: 'bool', proxy: PROXY,
  connect: { native: 'bool', sidecar_service: null }, // sidecar_service: a ServiceDefinition, set below
  ...ENTERPRISE_META,
};
SERVICE.connect.sidecar_service = SERVICE;

const GOSSIP = {
  gossip_nodes: 'int', gossip_interval: 'duration', probe_interval: 'duration', probe_timeout: 'duration',
  suspicion_mult: 'int', retransmit_mult: 'int',
};

const TLS_PROTOCOL = {
  ca_file: 'string', ca_path: 'string', cert_file: 'string', key_file: 'string', tls_min_version: 'string',
  tls_cipher_suites: 'string', verify_incoming: 'bool', verify_outgoing: 'bool', verify_server_hostname: 'bool',
  use_auto_cert: 'bool',
};

export const PORTS = {
  dns: 'int', http: 'int', https: 'int', serf_lan: 'int', serf_wan: 'int', server: 'int', grpc: 'int',
  grpc_tls: 'int', proxy_min_port: 'int', proxy_max_port: 'int', sidecar_min_port: 'int', sidecar_max_port: 'int',
  expose_min_port: 'int', expose_max_port: 'int',
};

export const SCHEMA = {
  acl: {
    enabled: 'bool', enable_token_replication: 'bool', policy_ttl: 'duration', role_ttl: 'duration',
    token_ttl: 'duration', down_policy: 'string', default_policy: 'string', enable_key_list_policy: 'bool',
    tokens: {
      initial_management: 'string', replication: 'string', agent_recovery: 'string', default: 'string',
      agent: 'string', config_file_service_registration: 'string',
      managed_service_provider: listOf({ accessor_id: 'string', secret_id: 'string' }),
      master: 'string', agent_master: 'string', // DeprecatedTokens, squashed into Tokens
    },
    enable_token_persistence: 'bool', msp_disable_bootstrap: 'bool',
  },
  addresses: { dns: 'string', http: 'string', https: 'string', grpc: 'string', grpc_tls: 'string' },
  advertise_addr: 'string', advertise_addr_ipv4: 'string', advertise_addr_ipv6: 'string',
  advertise_addr_wan: 'string', advertise_addr_wan_ipv4: 'string', advertise_addr_wan_ipv6: 'string',
  advertise_reconnect_timeout: 'duration',
  auto_config: {
    enabled: 'bool', intro_token: 'string', intro_token_file: 'string', server_addresses: 'strings',
    dns_sans: 'strings', ip_sans: 'strings',
    authorization: {
      enabled: 'bool',
      static: {
        claim_assertions: 'strings', allow_reuse: 'bool', jwt_supported_algs: 'strings', bound_audiences: 'strings',
        claim_mappings: 'stringMap', list_claim_mappings: 'stringMap', oidc_discovery_url: 'string',
        oidc_discovery_ca_cert: 'string', jwks_url: 'string', jwks_ca_cert: 'string',
        jwt_validation_pub_keys: 'strings', bound_issuer: 'string', expiration_leeway: 'duration',
        not_before_leeway: 'duration', clock_skew_leeway: 'duration',
      },
    },
  },
  autopilot: {
    cleanup_dead_servers: 'bool', last_contact_threshold: 'duration', max_trailing_logs: 'int', min_quorum: 'uint',
    server_stabilization_time: 'duration', disable_upgrade_migration: 'bool', redundancy_zone_tag: 'string',
    upgrade_version_tag: 'string',
  },
  bind_addr: 'string', bootstrap: 'bool', bootstrap_expect: 'int',
  cache: { entry_fetch_max_burst: 'int', entry_fetch_rate: 'float' },
  check: CHECK, check_output_max_size: 'int', check_update_interval: 'duration', checks: listOf(CHECK),
  client_addr: 'string',
  cloud: {
    resource_id: 'string', client_id: 'string', client_secret: 'string', hostname: 'string', auth_url: 'string',
    scada_address: 'string', management_token: 'string',
  },
  config_entries: { bootstrap: listOf('map') },
  auto_encrypt: { tls: 'bool', dns_san: 'strings', ip_san: 'strings', allow_tls: 'bool' },
  connect: {
    enabled: 'bool', ca_provider: 'string', ca_config: 'map', enable_mesh_gateway_wan_federation: 'bool',
    test_ca_leaf_root_change_spread: 'duration',
  },
  dns_config: {
    allow_stale: 'bool', a_record_limit: 'int', disable_compression: 'bool', enable_truncate: 'bool',
    max_stale: 'duration', node_ttl: 'duration', only_passing: 'bool', recursor_strategy: 'string',
    recursor_timeout: 'duration', service_ttl: 'stringMap', udp_answer_limit: 'int',
    enable_additional_node_meta_txt: 'bool', soa: { refresh: 'uint', retry: 'uint', expire: 'uint', min_ttl: 'uint' },
    use_cache: 'bool', cache_max_age: 'duration', prefer_namespace: 'bool',
  },
  domain: 'string', alt_domain: 'string', recursors: 'strings', data_dir: 'string', datacenter: 'string',
  default_query_time: 'duration', disable_anonymous_signature: 'bool', disable_coordinates: 'bool',
  disable_host_node_id: 'bool', disable_http_unprintable_char_filter: 'bool', disable_keyring_file: 'bool',
  disable_remote_exec: 'bool', disable_update_check: 'bool', discard_check_output: 'bool',
  discovery_max_stale: 'duration', enable_agent_tls_for_checks: 'bool', enable_central_service_config: 'bool',
  enable_debug: 'bool', enable_script_checks: 'bool', enable_local_script_checks: 'bool', enable_syslog: 'bool',
  encrypt: 'string', encrypt_verify_incoming: 'bool', encrypt_verify_outgoing: 'bool',
  // Present in Consul 1.17-1.20 (`experiments = ["resource-apis"]`); accepted so such configs pass.
  experiments: 'strings',
  gossip_lan: GOSSIP, gossip_wan: GOSSIP,
  http_config: {
    block_endpoints: 'strings', allow_write_http_from: 'strings', response_headers: 'stringMap', use_cache: 'bool',
    max_header_bytes: 'int',
  },
  leave_on_terminate: 'bool', license_path: 'string',
  limits: {
    http_max_conns_per_client: 'int', https_handshake_timeout: 'duration',
    request_limits: { mode: 'string', read_rate: 'float', write_rate: 'float' },
    rpc_client_timeout: 'duration', rpc_handshake_timeout: 'duration', rpc_max_burst: 'int',
    rpc_max_conns_per_client: 'int', rpc_rate: 'float', kv_max_value_size: 'uint', txn_max_req_len: 'uint',
  },
  locality: { region: 'string', zone: 'string' },
  log_level: 'string', log_json: 'bool', log_file: 'string', log_rotate_duration: 'duration',
  log_rotate_bytes: 'int', log_rotate_max_files: 'int', max_query_time: 'duration', node_id: 'string',
  node_meta: 'stringMap', node_name: 'string',
  peering: { enabled: 'bool', test_allow_peer_registrations: 'bool' },
  performance: { leave_drain_time: 'duration', raft_multiplier: 'int', rpc_hold_timeout: 'duration' },
  pid_file: 'string', ports: PORTS, primary_datacenter: 'string', primary_gateways: 'strings',
  primary_gateways_interval: 'duration', protocol: 'int', raft_protocol: 'int', raft_snapshot_threshold: 'int',
  raft_snapshot_interval: 'duration', raft_trailing_logs: 'int', reconnect_timeout: 'duration',
  reconnect_timeout_wan: 'duration', rejoin_after_leave: 'bool', auto_reload_config: 'bool',
  retry_interval: 'duration', retry_interval_wan: 'duration', retry_join: 'strings', retry_max: 'int',
  retry_max_wan: 'int', retry_join_wan: 'strings', serf_lan_allowed_cidrs: 'strings',
  serf_wan_allowed_cidrs: 'strings', serf_lan: 'string', serf_wan: 'string', server: 'bool',
  server_name: 'string', server_rejoin_age_max: 'duration', service: SERVICE, services: listOf(SERVICE),
  session_ttl_min: 'duration', skip_leave_on_interrupt: 'bool', syslog_facility: 'string',
  tls: { defaults: TLS_PROTOCOL, internal_rpc: TLS_PROTOCOL, https: TLS_PROTOCOL, grpc: TLS_PROTOCOL },
  tagged_addresses: 'stringMap',
  telemetry: {
    circonus_api_app: 'string', circonus_api_token: 'string', circonus_api_url: 'string',
    circonus_broker_id: 'string', circonus_broker_select_tag: 'string', circonus_check_display_name: 'string',
    circonus_check_force_metric_activation: 'string', circonus_check_id: 'string',
    circonus_check_instance_id: 'string', circonus_check_search_tag: 'string', circonus_check_tags: 'string',
    circonus_submission_interval: 'string', circonus_submission_url: 'string', disable_hostname: 'bool',
    dogstatsd_addr: 'string', dogstatsd_tags: 'strings', retry_failed_connection: 'bool', filter_default: 'bool',
    prefix_filter: 'strings', metrics_prefix: 'string', prometheus_retention_time: 'duration',
    statsd_address: 'string', statsite_address: 'string', enable_host_metrics: 'bool',
  },
  translate_wan_addrs: 'bool', xds: { update_max_per_second: 'float' },
  ui: 'bool', ui_content_path: 'string', ui_dir: 'string', // deprecated, moved to ui_config (a build warning)
  ui_config: {
    enabled: 'bool', dir: 'string', content_path: 'string', metrics_provider: 'string',
    metrics_provider_files: 'strings', metrics_provider_options_json: 'string',
    metrics_proxy: { base_url: 'string', add_headers: listOf({ name: 'string', value: 'string' }), path_allowlist: 'strings' },
    dashboard_url_templates: 'stringMap',
  },
  unix_sockets: { group: 'string', mode: 'string', user: 'string' },
  watches: listOf('map'),
  rpc: { enable_streaming: 'bool' },
  raft_logstore: {
    backend: 'string', disable_log_cache: 'bool', verification: { enabled: 'bool', interval: 'duration' },
    boltdb: { no_freelist_sync: 'bool' }, wal: { segment_size_mb: 'int' },
  },
  use_streaming_backend: 'bool', snapshot_agent: 'map',
  // Not meant for users (NonUserSource overrides them), but Consul still decodes them from a file.
  ae_interval: 'duration', check_deregister_interval_min: 'duration', check_reap_interval: 'duration',
  consul: {
    coordinate: { update_batch_size: 'int', update_max_batches: 'int', update_period: 'duration' },
    raft: { election_timeout: 'duration', heartbeat_timeout: 'duration', leader_lease_timeout: 'duration' },
    server: { health_interval: 'duration' },
  },
  revision: 'string', segment_limit: 'int', segment_name_limit: 'int', sync_coordinate_interval_min: 'duration',
  sync_coordinate_rate_target: 'float', version: 'string', version_prerelease: 'string', version_metadata: 'string',
  build_date: 'any',
  // Enterprise only: the CE build decodes them (and ignores them).
  audit: {
    enabled: 'bool',
    sink: mapOf({
      type: 'string', format: 'string', path: 'string', delivery_guarantee: 'string', mode: 'string',
      rotate_bytes: 'int', rotate_duration: 'string', rotate_max_files: 'int',
    }),
  },
  read_replica: 'bool', non_voting_server: alias('read_replica'), segment: 'string',
  segments: listOf({ advertise: 'string', bind: 'string', name: 'string', port: 'int', rpc_listener: 'bool' }),
  partition: 'string', license_poll_base_time: 'string', license_poll_max_time: 'string',
  license_update_base_time: 'string', license_update_max_time: 'string',
  reporting: { license: { enabled: 'bool' } },

  // DeprecatedConfig (agent/config/deprecated.go): still accepted by 1.20, see DEPRECATED below.
  acl_agent_master_token: 'string', acl_agent_token: 'string', acl_token: 'string',
  acl_enable_key_list_policy: 'bool', acl_master_token: 'string', acl_replication_token: 'string',
  enable_acl_replication: 'bool', acl_datacenter: 'string', acl_default_policy: 'string',
  acl_down_policy: 'string', acl_ttl: 'string', ca_file: 'string', ca_path: 'string', cert_file: 'string',
  key_file: 'string', tls_cipher_suites: 'string', tls_min_version: 'string', verify_incoming: 'bool',
  verify_incoming_https: 'bool', verify_incoming_rpc: 'bool', verify_outgoing: 'bool',
  verify_server_hostname: 'bool', tls_prefer_server_cipher_suites: 'bool', start_join: 'strings',
  start_join_wan: 'strings', raft_boltdb: { no_freelist_sync: 'bool' },
};

/**
 * Deprecated keys and the key that replaced them, in the order Consul's applyDeprecatedConfig
 * checks them (which is the order of its warnings). Each use warns "The 'old' field is
 * deprecated. Use the 'new' field instead."; the value moves to the new key when that is unset
 * (`append`: added to the list instead).
 */
export const DEPRECATED = [
  { key: 'acl.tokens.agent_master', use: 'acl.tokens.agent_recovery' },
  { key: 'acl_agent_master_token', use: 'acl.tokens.agent_recovery' },
  { key: 'acl_agent_token', use: 'acl.tokens.agent' },
  { key: 'acl_token', use: 'acl.tokens.default' },
  { key: 'acl.tokens.master', use: 'acl.tokens.initial_management' },
  { key: 'acl_master_token', use: 'acl.tokens.initial_management' },
  { key: 'acl_replication_token', use: 'acl.tokens.replication' },
  { key: 'enable_acl_replication', use: 'acl.enable_token_replication' },
  { key: 'acl_datacenter', use: 'primary_datacenter' },
  { key: 'acl_default_policy', use: 'acl.default_policy' },
  { key: 'acl_down_policy', use: 'acl.down_policy' },
  { key: 'acl_ttl', use: 'acl.token_ttl' },
  { key: 'acl_enable_key_list_policy', use: 'acl.enable_key_list_policy' },
  { key: 'start_join', use: 'retry_join', append: true },
  { key: 'start_join_wan', use: 'retry_join_wan', append: true },
  { key: 'raft_boltdb', use: 'raft_logstore.boltdb' },
  { key: 'ca_file', use: 'tls.defaults.ca_file' },
  { key: 'ca_path', use: 'tls.defaults.ca_path' },
  { key: 'cert_file', use: 'tls.defaults.cert_file' },
  { key: 'key_file', use: 'tls.defaults.key_file' },
  { key: 'tls_cipher_suites', use: 'tls.defaults.tls_cipher_suites' },
  { key: 'tls_min_version', use: 'tls.defaults.tls_min_version' },
  { key: 'verify_incoming', use: 'tls.defaults.verify_incoming' },
  { key: 'verify_incoming_https', use: 'tls.https.verify_incoming' },
  { key: 'verify_incoming_rpc', use: 'tls.internal_rpc.verify_incoming' },
  { key: 'verify_outgoing', use: 'tls.defaults.verify_outgoing' },
  { key: 'verify_server_hostname', use: 'tls.internal_rpc.verify_server_hostname' },
  { key: 'tls_prefer_server_cipher_suites', warning: "The 'tls_prefer_server_cipher_suites' field is deprecated and will be ignored." },
];

/**
 * Unknown keys Consul's builder only warns about (agent/config/builder.go, build()): keys that
 * were removed but are still found in old configs.
 */
export function removedKeyWarning(key) {
  if (key === 'acl_enforce_version_8') return `config key "${key}" is deprecated and should be removed`;
  if (/^audit\.sink\[.*\]\.name$/s.test(key)) return 'config key audit.sink[].name is deprecated and should be removed';
  return null;
}
