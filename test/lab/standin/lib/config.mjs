// Agent configuration: command-line flags, config dirs/files read and decoded the way Consul 1.20
// does (agent/config/builder.go), and the runtime config with Consul's defaults, checks and
// messages. Keys and types come from the schema in config-schema.mjs.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CHECK, DEPRECATED, ListOf, SCHEMA, SERVICE, removedKeyWarning } from './config-schema.mjs';
import { decodeConfig, goFloat, goParseDuration, goPathError, goQuote, isStruct } from './config-decode.mjs';
import { normalizeChecks } from './checks.mjs';
import { buildTlsRuntime, tlsWarnings } from './tls-config.mjs';
import { buildAclRuntime } from './acl-config.mjs';

export class ConfigError extends Error {}

/** Go's multierror text, which Consul prints for config problems. */
export function multiError(messages) {
  const n = messages.length;
  return `${n} error${n === 1 ? '' : 's'} occurred:\n${messages.map((m) => `\t* ${m}`).join('\n')}\n\n`;
}

// --- command-line flags of `consul agent` -------------------------------------------------

const STRING_FLAGS = {
  bind: 'bind_addr', advertise: 'advertise_addr', client: 'client_addr', node: 'node_name', 'node-id': 'node_id',
  datacenter: 'datacenter', 'data-dir': 'data_dir', 'retry-interval': 'retry_interval', encrypt: 'encrypt',
  'log-level': 'log_level', domain: 'domain', 'alt-domain': 'alt_domain', 'pid-file': 'pid_file',
  'serf-lan-bind': 'serf_lan', 'serf-wan-bind': 'serf_wan', segment: 'segment', hcl: null,
};
const INT_FLAGS = {
  'bootstrap-expect': 'bootstrap_expect', 'dns-port': 'ports.dns', 'http-port': 'ports.http',
  'https-port': 'ports.https', 'grpc-port': 'ports.grpc', 'serf-lan-port': 'ports.serf_lan',
  'serf-wan-port': 'ports.serf_wan', 'server-port': 'ports.server', 'retry-max': 'retry_max',
  'raft-protocol': 'raft_protocol',
};
const BOOL_FLAGS = {
  server: 'server', bootstrap: 'bootstrap', ui: 'ui_config.enabled', rejoin: 'rejoin_after_leave',
  'disable-host-node-id': 'disable_host_node_id', 'disable-keyring-file': 'disable_keyring_file',
  'enable-script-checks': 'enable_script_checks', 'enable-local-script-checks': 'enable_local_script_checks',
  syslog: 'enable_syslog', 'log-json': 'log_json',
};
const LIST_FLAGS = { 'retry-join': 'retry_join', 'retry-join-wan': 'retry_join_wan', recursor: 'recursors' };

function setPath(obj, dotted, value) {
  const parts = dotted.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
  cur[parts[parts.length - 1]] = value;
}

/** Parses `consul agent` flags the way Go's flag package does (-x, --x, -x=v, -x v). */
export function parseAgentFlags(argv) {
  const overrides = {};
  const configDirs = [];
  const configFiles = [];
  let dev = false;
  let configFormat = '';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--?([a-zA-Z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new ConfigError(`unexpected argument: ${arg}`);
    const name = m[1];
    let value = m[2];
    const need = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) throw new ConfigError(`flag needs an argument: -${name}`);
      return argv[++i];
    };
    if (name === 'config-dir') configDirs.push(need());
    else if (name === 'config-file') configFiles.push(need());
    else if (name === 'dev') dev = value === undefined || value === 'true';
    else if (name === 'config-format') configFormat = need();
    else if (name in STRING_FLAGS) { const v = need(); if (STRING_FLAGS[name]) setPath(overrides, STRING_FLAGS[name], v); }
    else if (name in LIST_FLAGS) {
      const key = LIST_FLAGS[name];
      (overrides[key] ??= []).push(need());
    } else if (name in INT_FLAGS) {
      const v = need();
      if (!/^-?\d+$/.test(v)) throw new ConfigError(`invalid value "${v}" for flag -${name}: parse error`);
      setPath(overrides, INT_FLAGS[name], Number(v));
    } else if (name in BOOL_FLAGS) {
      if (value !== undefined && !['true', 'false', '1', '0'].includes(value)) {
        throw new ConfigError(`invalid boolean value "${value}" for -${name}: parse error`);
      }
      setPath(overrides, BOOL_FLAGS[name], value === undefined || value === 'true' || value === '1');
    } else throw new ConfigError(`flag provided but not defined: -${name}`);
  }
  return { overrides, configDirs, configFiles, configFormat, dev };
}

// --- finding, reading and decoding config files (builder.go: newBuilder, sourcesFromPath) ----

function formatOf(file, format) {
  if (format) return format;
  return file.endsWith('.json') ? 'json' : file.endsWith('.hcl') ? 'hcl' : '';
}

/** Reads a config file; Consul reads each one while listing, so an unreadable file fails the load. */
function readSource(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`config: failed to read ${file}: ${goPathError(e, e.code === 'EISDIR' ? 'read' : 'open', file)}`);
  }
}

/** One -config-dir/-config-file path: the file itself, or the *.json/*.hcl files of the directory. */
function sourcesFromPath(p, format, warn) {
  let st;
  try {
    const fd = fs.openSync(p, 'r');
    try { st = fs.fstatSync(fd); } finally { fs.closeSync(fd); }
  } catch (e) {
    throw new ConfigError(`config: Open failed on ${p}. ${goPathError(e, 'open', p)}`);
  }
  if (!st.isDirectory()) {
    if (!formatOf(p, format)) throw new ConfigError(`file ${p} has unknown extension; must be .hcl or .json, or config format must be set`);
    readSource(p);
    return [p];
  }
  // Go's Readdir lstats every entry, so an entry it cannot stat fails the whole directory.
  let names;
  try { names = fs.readdirSync(p); } catch (e) { throw new ConfigError(`config: Readdir failed on ${p}. ${goPathError(e, 'readdirent', p)}`); }
  const entries = [];
  for (const name of names) {
    const full = path.join(p, name);
    try {
      entries.push({ name, full, st: fs.lstatSync(full) });
    } catch (e) {
      if (e.code !== 'ENOENT') throw new ConfigError(`config: Readdir failed on ${p}. ${goPathError(e, 'lstat', full)}`);
    }
  }
  const files = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    let { full: fp, st: est } = entry;
    if (est.isSymbolicLink()) {
      // Consul resolves the link and names the file by its target from then on.
      try { fp = fs.realpathSync(fp); } catch (e) { throw new ConfigError(goPathError(e, 'lstat', fp)); }
      try { est = fs.statSync(fp); } catch (e) { throw new ConfigError(goPathError(e, 'stat', fp)); }
    }
    if (est.isDirectory()) continue; // no recursion into sub-directories
    if (!formatOf(fp, format)) {
      warn(`skipping file ${fp}, extension must be .hcl or .json, or config format must be set`);
      continue;
    }
    readSource(fp);
    files.push(fp);
  }
  return files;
}

/** Lists (and reads, to fail as Consul does) the config files of -config-dir and -config-file paths. */
export function listConfigFiles(configDirs, configFiles, warn = () => {}, format = '') {
  if (format && format !== 'json' && format !== 'hcl') throw new ConfigError("config: -config-format must be either 'hcl' or 'json'");
  return [...configDirs, ...configFiles].flatMap((p) => sourcesFromPath(p, format, warn));
}

function getPath(obj, dotted) {
  return dotted.split('.').reduce((cur, k) => (cur && typeof cur === 'object' ? cur[k] : undefined), obj);
}

/** Deprecated keys of one file: Consul warns and moves each value to the key that replaced it. */
function applyDeprecated(value, warnings) {
  for (const d of DEPRECATED) {
    const v = getPath(value, d.key);
    if (v === undefined || (d.append && !v.length)) continue;
    if (d.warning) { warnings.push(d.warning); continue; }
    warnings.push(`The '${d.key}' field is deprecated. Use the '${d.use}' field instead.`);
    if (d.append) setPath(value, d.use, [...(getPath(value, d.use) ?? []), ...v]);
    else if (getPath(value, d.use) === undefined) setPath(value, d.use, v);
  }
  // The old ACL keys also switch the features they belonged to on, whatever else the file says.
  if (value.acl_datacenter !== undefined) setPath(value, 'acl.enabled', true);
  if (value.acl_replication_token !== undefined) setPath(value, 'acl.enable_token_replication', true);
}

/**
 * Parses and decodes one file (FileSource.Parse and the start of builder.build): JSON, then
 * mapstructure type errors, then unknown keys, each failing with Consul's wording.
 */
function parseSource(file, text, format, warnings) {
  if (text === '') return {}; // ErrNoData: an empty file is skipped
  if (format === 'hcl') {
    throw new ConfigError(`failed to parse ${file}: the Consul stand-in only reads JSON config files (HCL is not supported)`);
  }
  let raw;
  try { raw = JSON.parse(text); } catch (e) { throw new ConfigError(`failed to parse ${file}: ${e.message}`); }
  if (raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    const kind = Array.isArray(raw) ? 'array' : typeof raw;
    throw new ConfigError(`failed to parse ${file}: json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`);
  }
  const { value, typeErrors, unused } = decodeConfig(raw, SCHEMA);
  if (typeErrors.length) {
    const points = typeErrors.map((e) => `* ${e}`).sort(); // mapstructure sorts its error list
    throw new ConfigError(`failed to parse ${file}: ${points.length} error(s) decoding:\n\n${points.join('\n')}`);
  }
  const invalid = [];
  for (const key of unused) {
    const warning = removedKeyWarning(key);
    if (warning) warnings.push(warning);
    else invalid.push(`invalid config key ${key}`);
  }
  if (invalid.length) throw new ConfigError(`failed to parse ${file}: ${multiError(invalid)}`);
  applyDeprecated(value, warnings);
  return asLists(value);
}

/**
 * Consul collects `service`/`services` (and `check`/`checks`) from every config source into one
 * list, so one file per service works; as lists they are appended by mergeConfig.
 */
function asLists(obj) {
  const out = { ...obj };
  for (const [one, many] of [['service', 'services'], ['check', 'checks']]) {
    const list = [...(out[one] ? [out[one]] : []), ...(out[many] ?? [])];
    delete out[one];
    if (list.length) out[many] = list; else delete out[many];
  }
  return out;
}

/** Consul merges config sources: maps and structs key by key, slices appended, scalars replaced. */
export function mergeConfig(base, next) {
  const out = { ...base };
  for (const [k, v] of Object.entries(next)) {
    const cur = out[k];
    if (Array.isArray(cur) && Array.isArray(v)) out[k] = [...cur, ...v];
    else if (cur && v && typeof cur === 'object' && typeof v === 'object' && !Array.isArray(cur) && !Array.isArray(v)) out[k] = mergeConfig(cur, v);
    else out[k] = v;
  }
  return out;
}

// The warnings of reading the files travel with the merged config to buildRuntime, because
// callers pass loadConfigFiles' result straight on.
const PARSE_WARNINGS = Symbol('config parse warnings');

/** Reads, decodes and merges config files in order; throws ConfigError (Consul's wording) on the first bad one. */
export function loadConfigFiles(files, format = '') {
  const texts = files.map((f) => [f, readSource(f)]); // every file is read before any is parsed
  const warnings = [];
  let merged = {};
  for (const [file, text] of texts) merged = mergeConfig(merged, parseSource(file, text, formatOf(file, format), warnings));
  Object.defineProperty(merged, PARSE_WARNINGS, { value: warnings });
  return merged;
}

// --- runtime config (builder.go: build, then validate) ------------------------------------------

const PRIVATE_V4 = [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10]];
const ipNum = (ip) => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
const inCidr = (ip, [n, bits]) => (ipNum(ip) >>> (32 - bits)) === (ipNum(n) >>> (32 - bits));

function privateIPv4s() {
  const out = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && PRIVATE_V4.some((c) => inCidr(a.address, c))) out.push(a.address);
  }
  return out;
}

/** Resolves the go-sockaddr templates people put in bind_addr/client_addr (the simple ones). */
function resolveTemplate(value, what) {
  return value.replace(/\{\{\s*(GetInterfaceIP\s+"([^"]+)"|GetPrivateIP|GetPrivateInterfaces\s*\|\s*attr\s+"address")\s*\}\}/g, (_m, expr, iface) => {
    if (iface) {
      const a = (os.networkInterfaces()[iface] ?? []).find((x) => x.family === 'IPv4');
      if (!a) throw new ConfigError(`${what}: No IP addresses found for interface "${iface}"`);
      return a.address;
    }
    const ips = privateIPv4s();
    if (!ips[0]) throw new ConfigError(`${what}: No private IP address found`);
    return ips[0];
  });
}

const isIPv4 = (s) => net.isIPv4(s);
const isIP = (s) => net.isIP(s === '[::]' ? '::' : s) !== 0;
const isAny = (s) => ['0.0.0.0', '::', '[::]'].includes(s);

/**
 * Expands an address setting into its addresses (builder.go expandAddrs/expandIPs): a bad one
 * is collected in `errs` and the setting is then treated as empty, as Consul does. The stand-in
 * speaks IPv4 only, so an IPv6 address is an error here.
 */
function expandIPs(name, value, errs) {
  if (value === undefined || value === '') return [];
  const addrs = resolveTemplate(value, name).split(/\s+/).filter(Boolean);
  for (const a of addrs) {
    if (a.startsWith('unix://')) { errs.push(`${name} cannot be a unix socket`); return []; }
    if (!isIP(a)) { errs.push(`${name}: invalid ip address: ${a}`); return []; }
    if (!isIPv4(a)) { errs.push(`${name}: cannot parse "${a}" as an IPv4 address (the stand-in supports IPv4 only)`); return []; }
  }
  return addrs;
}

function expandFirstIP(name, value, errs) {
  const addrs = expandIPs(name, value, errs);
  if (addrs.length > 1) { errs.push(`${name}: multiple addresses found: ${addrs.join(' ')}`); return undefined; }
  return addrs[0];
}

// builder.go validateBasicName: datacenter, primary_datacenter, ui metrics provider.
function basicNameError(field, value, allowEmpty) {
  if (value === '') return allowEmpty ? null : `${field} cannot be empty`;
  if (!/^[a-z0-9_-]+$/.test(value)) return `${field} can only contain lowercase alphanumeric, - or _ characters. received: ${goQuote(value)}`;
  return null;
}

/**
 * structs.ValidateNodeMetadata / ValidateServiceMetadata (agent/structs/structs.go). Lengths are
 * Go byte lengths. Returns the first problem (Go walks the map in random order; here in file order).
 */
function metadataError(meta, allowedConsulKeys = []) {
  const pairs = Object.entries(meta ?? {});
  if (pairs.length > 64) return 'Node metadata cannot contain more than 64 key/value pairs';
  for (const [key, value] of pairs) {
    let problem = null;
    if (key === '') problem = 'Key cannot be blank';
    else if (!/^[a-zA-Z0-9_-]+$/.test(key)) problem = 'Key contains invalid characters';
    else if (Buffer.byteLength(key) > 128) problem = 'Key is too long (limit: 128 characters)';
    else if (key.startsWith('consul-') && !allowedConsulKeys.includes(key)) problem = "Key prefix 'consul-' is reserved for internal use";
    else if (Buffer.byteLength(value) > 512) problem = 'Value is too long (limit: 512 characters)';
    if (problem) return `Couldn't load metadata pair ('${key}', '${value}'): ${problem}`;
  }
  return null;
}

// Durations Consul's builder names differently from their key in its error texts.
const DURATION_LABELS = {
  'gossip_lan.gossip_interval': 'gossip_lan..gossip_interval', 'gossip_lan.probe_interval': 'gossip_lan..probe_interval',
  'gossip_lan.probe_timeout': 'gossip_lan..probe_timeout', 'gossip_wan.gossip_interval': 'gossip_wan..gossip_interval',
  'gossip_wan.probe_interval': 'gossip_wan..probe_interval', 'gossip_wan.probe_timeout': 'gossip_wan..probe_timeout',
  'dns_config.recursor_timeout': 'recursor_timeout', 'telemetry.prometheus_retention_time': 'prometheus_retention_time',
};
const DEPRECATED_KEYS = new Set(DEPRECATED.map((d) => d.key));
const isDefinition = (t) => t === SERVICE || t === CHECK || (t instanceof ListOf && (t.of === SERVICE || t.of === CHECK));

/** Every `duration` setting must parse as a Go duration (builder.go durationVal; errors are collected). */
function checkDurations(value, schema, prefix, errs) {
  for (const [k, type] of Object.entries(schema)) {
    const v = value?.[k];
    const key = prefix + k;
    // Deprecated keys were moved to their new key; service and check durations are checked with the definitions.
    if (v === undefined || DEPRECATED_KEYS.has(key) || isDefinition(type)) continue;
    if (type === 'duration') {
      try { goParseDuration(v); } catch (e) { errs.push(`${DURATION_LABELS[key] ?? key}: invalid duration: ${goQuote(v)}: ${e.message}`); }
    } else if (isStruct(type)) checkDurations(v, type, `${key}.`, errs);
  }
  for (const [svc, v] of Object.entries(prefix === '' ? value.dns_config?.service_ttl ?? {} : {})) {
    try { goParseDuration(v); } catch (e) { errs.push(`dns_config.service_ttl[${goQuote(svc)}]: invalid duration: ${goQuote(v)}: ${e.message}`); }
  }
}

/** A duration setting in ms, or its default; a bad value was already reported by checkDurations. */
function durationMs(value, fallback) {
  if (value === undefined) return fallback;
  try { return goParseDuration(value); } catch { return fallback; }
}

function normalizeServices(cfg, errors, buildErrs) {
  const defs = cfg.services ?? [];
  const seen = new Set();
  const scriptsEnabled = cfg.enable_script_checks === true || cfg.enable_local_script_checks === true;
  return defs.map((d) => {
    const name = d.name;
    // builder.go serviceVal: these are collected with the other build errors.
    const metaError = metadataError(d.meta, d.kind === 'mesh-gateway' ? ['consul-wan-federation'] : []);
    if (metaError) buildErrs.push(`invalid meta for service ${name ?? ''}: ${metaError}`);
    const passing = d.weights?.passing ?? 1;
    const warning = d.weights?.warning ?? 1;
    const weightError = passing < 1 ? 'Passing must be greater than 0' : warning < 0 ? 'Warning must be greater or equal than 0'
      : passing > 65535 || warning > 65535 ? 'DNS Weight must be between 0 and 65535' : null;
    if (weightError) buildErrs.push(`Invalid weight definition for service ${name ?? ''}: ${weightError}`);
    if ((d.port !== undefined || d.address !== undefined) && d.socket_path !== undefined) {
      buildErrs.push(`service ${name ?? ''} cannot have both socket path ${d.socket_path} and address/port`);
    }
    if (!name) errors.push('service: missing service name');
    const id = d.id ?? name;
    if (name && seen.has(id)) errors.push(`service "${name}": duplicate service ID "${id}"`);
    seen.add(id);
    return {
      id, name, tags: d.tags ?? [], port: d.port ?? 0, address: d.address ?? '', meta: metaError ? {} : d.meta ?? {}, token: d.token ?? '',
      checks: name ? normalizeChecks(d, id, name, errors, { scriptsEnabled }) : [],
    };
  });
}

const REMOTE_SCRIPT_WARNING = 'using enable-script-checks without ACLs and without allow_write_http_from is DANGEROUS, use enable-local-script-checks instead, see https://www.hashicorp.com/blog/protecting-consul-from-rce-risk-in-specific-configurations/';

/**
 * Applies defaults and checks the merged config as Consul's builder does: build() returns its
 * first fatal error at once and collects the rest (bad durations, ports, addresses), validate()
 * returns the first failing check in Consul's order and reports the collected ones after its
 * address checks. Returns the runtime config or throws ConfigError with Consul's text.
 * Warnings (Consul logs them at start, `consul validate` prints them) are in `warnings`.
 */
export function buildRuntime(fileConfig, overrides = {}) {
  const cfg = mergeConfig(fileConfig, overrides);
  const warnings = [...(fileConfig[PARSE_WARNINGS] ?? [])];
  const errs = []; // Consul's b.err
  const fail = (message) => { throw new ConfigError(message); };
  const server = cfg.server === true;

  // --- build ---------------------------------------------------------------------------------
  // Ports: <= 0 disables one (-1), above 65535 is an error; gRPC TLS is on 8503 on servers only.
  const p = cfg.ports ?? {};
  const port = (name, fallback) => {
    const v = p[name] ?? fallback;
    if (v <= 0) return -1;
    if (v > 65535) errs.push(`ports.${name}: invalid port: ${v}`);
    return v;
  };
  const ports = {
    dns: port('dns', 8600), http: port('http', 8500), https: port('https', -1), server: port('server', 8300),
    grpc: port('grpc', -1), grpc_tls: p.grpc_tls === undefined && server ? 8503 : port('grpc_tls', -1),
    serf_lan: port('serf_lan', 8301), serf_wan: port('serf_wan', 8302),
  };
  const range = {};
  for (const [kind, min, max] of [['proxy', 0, 0], ['sidecar', 21000, 21255], ['expose', 21500, 21755]]) {
    range[kind] = [port(`${kind}_min_port`, min), port(`${kind}_max_port`, max)];
  }
  if (ports.server <= 0) fail('server-port must be greater than zero');
  if (ports.serf_lan <= 0) fail('serf-lan-port must be greater than zero');
  for (const kind of ['proxy', 'sidecar', 'expose']) {
    if (range[kind][1] < range[kind][0]) fail(`${kind}_min_port must be less than ${kind}_max_port. To disable, set both to zero.`);
  }

  // Addresses. A bind address that is not an IP makes the list empty, hence Consul's "cannot be empty".
  const bindAddrs = resolveTemplate(cfg.bind_addr ?? '0.0.0.0', 'bind_addr').split(/\s+/).filter(Boolean);
  if (!bindAddrs.length || bindAddrs.some((a) => !a.startsWith('unix://') && !isIP(a))) fail('bind_addr cannot be empty');
  if (bindAddrs.length > 1) fail("bind_addr cannot contain multiple addresses. Use 'addresses.{dns,http,https}' instead.");
  if (bindAddrs[0].startsWith('unix://')) fail('bind_addr cannot be a unix socket');
  const bindAddr = bindAddrs[0];
  if (!isIPv4(bindAddr)) fail(`bind_addr: cannot parse "${bindAddr}" as an IPv4 address (the stand-in supports IPv4 only)`);
  if (isAny(cfg.advertise_addr)) fail('Advertise address cannot be 0.0.0.0, :: or [::]');
  if (isAny(cfg.advertise_addr_wan)) fail('Advertise WAN address cannot be 0.0.0.0, :: or [::]');
  let advertiseAddr = expandFirstIP('advertise_addr', cfg.advertise_addr, errs) ?? bindAddr;
  if (advertiseAddr === '0.0.0.0') {
    const ips = privateIPv4s();
    if (ips.length === 0) fail('No private IPv4 address found');
    if (ips.length > 1) fail("Multiple private IPv4 addresses found. Please configure one with 'bind' and/or 'advertise'.");
    advertiseAddr = ips[0];
  }
  const advertiseAddrWan = expandFirstIP('advertise_addr_wan', cfg.advertise_addr_wan, errs) ?? advertiseAddr;
  const clientAddrs = expandIPs('client_addr', cfg.client_addr ?? '127.0.0.1', errs);
  if (!clientAddrs.length) warnings.push('client_addr is empty, client services (DNS, HTTP, HTTPS, GRPC) will not be listening for connections');
  const httpAddrs = cfg.addresses?.http ? expandIPs('addresses.http', cfg.addresses.http, errs) : clientAddrs;
  const dnsAddrs = cfg.addresses?.dns ? expandIPs('addresses.dns', cfg.addresses.dns, errs) : clientAddrs;
  const httpsAddrs = cfg.addresses?.https ? expandIPs('addresses.https', cfg.addresses.https, errs) : clientAddrs;
  const tlsRt = buildTlsRuntime(cfg, fail);

  const datacenter = String(cfg.datacenter ?? 'dc1').toLowerCase();

  // Raft timing scales with performance.raft_multiplier (Consul's default 5, at most 10).
  const raftMultiplier = cfg.performance?.raft_multiplier ?? 5;
  if (raftMultiplier < 1 || raftMultiplier > 10) fail(`performance.raft_multiplier cannot be ${raftMultiplier}. Must be between 1 and 10`);

  if (cfg.connect?.enable_mesh_gateway_wan_federation === true && cfg.connect?.enabled !== true) {
    fail("'connect.enable_mesh_gateway_wan_federation=true' requires 'connect.enabled=true'");
  }
  const primaryDatacenter = String(cfg.primary_datacenter ?? '').toLowerCase() || datacenter;

  for (const [old, now] of [['ui', 'ui_config.enabled'], ['ui_dir', 'ui_config.dir'], ['ui_content_path', 'ui_config.content_path']]) {
    if (cfg[old] !== undefined) warnings.push(`The '${old}' field is deprecated. Use the '${now}' field instead.`);
  }
  const ui = {
    enabled: cfg.ui_config?.enabled ?? cfg.ui ?? false,
    dir: cfg.ui_config?.dir ?? cfg.ui_dir ?? '',
    contentPath: cfg.ui_config?.content_path ?? cfg.ui_content_path ?? '',
    metricsProvider: cfg.ui_config?.metrics_provider ?? '',
  };
  ui.contentPath = ui.contentPath ? `/${ui.contentPath.replace(/^\/+|\/+$/g, '')}/` : '/ui/';

  checkDurations(cfg, SCHEMA, '', errs);
  const rejoinAgeMax = durationMs(cfg.server_rejoin_age_max, 7 * 24 * 3600e3);
  if (rejoinAgeMax < 6 * 3600e3) errs.push(`server_rejoin_age_max: duration '${cfg.server_rejoin_age_max}' cannot be less than: 6h0m0s`);

  const burst = cfg.cache?.entry_fetch_max_burst ?? 2;
  if (burst <= 0) fail(`cache.entry_fetch_max_burst must be strictly positive, was: ${burst}`);
  const rate = cfg.cache?.entry_fetch_rate ?? Infinity;
  if (rate <= 0) fail(`cache.entry_fetch_rate must be strictly positive, was: ${goFloat(rate)}`);

  const nodeName = String(cfg.node_name || os.hostname()).trim();
  const dataDir = cfg.data_dir ?? '';
  const bootstrapExpectSet = cfg.bootstrap_expect ?? 0;
  // Consul turns bootstrap_expect = 1 into bootstrap mode before validating.
  const bootstrap = cfg.bootstrap === true || bootstrapExpectSet === 1;
  const bootstrapExpect = bootstrapExpectSet === 1 ? 0 : bootstrapExpectSet;
  if (bootstrapExpectSet === 1) warnings.push('BootstrapExpect is set to 1; this is the same as Bootstrap mode.');

  const svcErrors = [];
  const services = normalizeServices(cfg, svcErrors, errs);

  // --- validate --------------------------------------------------------------------------------
  const raftProtocol = cfg.raft_protocol ?? 3;
  if (raftProtocol !== 3) fail(`raft_protocol version ${raftProtocol} is not supported by this version of Consul`);
  const dcError = basicNameError('datacenter', datacenter, false);
  if (dcError) fail(dcError);
  if (!dataDir) fail('data_dir cannot be empty');
  if (!/^[A-Za-z0-9/_-]+$/.test(ui.contentPath)) fail(`ui-content-path can only contain alphanumeric, -, _, or /. received: ${goQuote(ui.contentPath)}`);
  if (/^\/v\d+\/$/.test(ui.contentPath)) fail(`ui-content-path cannot have 'v[0-9]'. received: ${goQuote(ui.contentPath)}`);
  const providerError = basicNameError('ui_config.metrics_provider', ui.metricsProvider, true);
  if (providerError) fail(providerError);
  try {
    const st = fs.statSync(dataDir);
    if (!st.isDirectory()) fail(`data_dir ${goQuote(dataDir)} is not a directory`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (e.code !== 'ENOENT') fail(`Error getting info on data_dir: ${goPathError(e, 'stat', dataDir)}`);
  }
  // A node name DNS cannot serve is only a warning. Consul's character class also lets a backslash through.
  if (nodeName === '') fail('node_name cannot be empty');
  else if (/[^A-Za-z0-9\\-]/.test(nodeName)) {
    warnings.push(`Node name ${goQuote(nodeName)} will not be discoverable via DNS due to invalid characters. Valid characters include all alpha-numerics and dashes.`);
  } else if (Buffer.byteLength(nodeName) > 63) {
    warnings.push(`Node name ${goQuote(nodeName)} will not be discoverable via DNS due to it being too long. Valid lengths are between 1 and 63 bytes.`);
  }
  const altDomain = cfg.alt_domain ?? '';
  const dcRe = datacenter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (new RegExp(`^(service|connect|node|query|addr|${dcRe})\\.(${dcRe}\\.)?`).test(altDomain)) {
    fail(`alt_domain cannot start with {service,connect,node,query,addr,${datacenter}}`);
  }
  if (bootstrap && !server) fail("'bootstrap = true' requires 'server = true'");
  if (bootstrapExpect < 0) fail(`bootstrap_expect cannot be ${bootstrapExpect}. Must be greater than or equal to zero`);
  if (bootstrapExpect > 0 && !server) fail("'bootstrap_expect > 0' requires 'server = true'");
  if (bootstrapExpect > 0 && bootstrap) fail("'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive");
  if ((cfg.check_output_max_size ?? 4096) < 1) fail('check_output_max_size must be positive, to discard check output use the discard_check_output flag');
  const maxTrailingLogs = cfg.autopilot?.max_trailing_logs ?? 250;
  if (maxTrailingLogs < 0) fail(`autopilot.max_trailing_logs cannot be ${maxTrailingLogs}. Must be greater than or equal to zero`);
  const primaryError = basicNameError('primary_datacenter', primaryDatacenter, true);
  if (primaryError) fail(primaryError);
  if (ui.enabled && ui.dir) {
    fail('Both the ui_config.enabled and ui_config.dir (or -ui and -ui-dir) were specified, please provide only one.\n'
      + 'If trying to use your own web UI resources, use ui_config.dir or the -ui-dir flag.\n'
      + 'The web UI is included in the binary so use ui_config.enabled or the -ui flag to enable it');
  }
  for (const limit of ['udp_answer_limit', 'a_record_limit']) {
    const v = cfg.dns_config?.[limit] ?? (limit === 'udp_answer_limit' ? 3 : 0);
    if (v < 0) fail(`dns_config.${limit} cannot be ${v}. Must be greater than or equal to zero`);
  }
  const nodeMetaError = metadataError(cfg.node_meta);
  if (nodeMetaError) fail(`node_meta invalid: ${nodeMetaError}`);
  const encryptKey = cfg.encrypt ?? '';
  let encryptBytes = null;
  if (encryptKey) {
    const bad = encryptKey.search(/[^A-Za-z0-9+/=]/);
    if (bad >= 0 || encryptKey.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encryptKey)) {
      fail(`encrypt has invalid key: illegal base64 data at input byte ${bad >= 0 ? bad : Math.max(0, encryptKey.length - (encryptKey.length % 4 || 4))}`);
    }
    encryptBytes = Buffer.from(encryptKey, 'base64');
  }
  if (cfg.primary_gateways?.length) {
    if (!server) fail("'primary_gateways' requires 'server = true'");
    if (primaryDatacenter === datacenter) fail("'primary_gateways' should only be configured in a secondary datacenter");
  }
  if (server) {
    // A Consul 0.5 data dir must not be started on; an unreadable one is reported as such.
    const mdb = path.join(dataDir, 'mdb');
    try {
      fs.statSync(mdb);
      fail(`CRITICAL: Deprecated data folder found at ${goQuote(mdb)}!\nConsul will refuse to boot with this directory present.\nSee https://www.consul.io/docs/upgrade-specific.html for more information.`);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      if (e.code === 'EACCES') fail(`CRITICAL: Permission denied for data folder at ${goQuote(mdb)}!\nConsul will refuse to boot without access to this directory.\nPlease correct permissions and try starting again.`);
      if (e.code !== 'ENOENT') fail(`CRITICAL: Deprecated data folder found at ${goQuote(mdb)}!\nConsul will refuse to boot with this directory present.\nSee https://www.consul.io/docs/upgrade-specific.html for more information.`);
    }
    const backend = cfg.raft_logstore?.backend ?? 'default';
    if (!['default', 'boltdb', 'wal'].includes(backend)) fail("raft_logstore.backend must be one of 'boltdb' or 'wal'");
    const segmentMB = cfg.raft_logstore?.wal?.segment_size_mb ?? 64;
    if (segmentMB < 1) fail('raft_logstore.wal.segment_size_mb cannot be less than 1MB');
    if (segmentMB > 1024) fail('raft_logstore.wal.segment_size_mb cannot be greater than 1024 (1GiB)');
  }
  if (errs.length) fail(multiError(errs));
  if (svcErrors.length) fail(svcErrors[0]);
  if (server && cfg.auto_encrypt?.tls === true) fail('auto_encrypt.tls can only be used on a client.');
  if (!server && cfg.auto_encrypt?.allow_tls === true) fail('auto_encrypt.allow_tls can only be used on a server.');
  if (server && durationMs(cfg.advertise_reconnect_timeout, 0) !== 0) fail('advertise_reconnect_timeout can only be used on a client');

  if (server && !bootstrap && bootstrapExpect === 2) warnings.push('bootstrap_expect = 2: A cluster with 2 servers will provide no failure tolerance. See https://www.consul.io/docs/internals/consensus.html#deployment-table');
  if (server && !bootstrap && bootstrapExpect > 2 && bootstrapExpect % 2 === 0) warnings.push('bootstrap_expect is even number: A cluster with an even number of servers does not achieve optimum fault tolerance. See https://www.consul.io/docs/internals/consensus.html#deployment-table');
  if (server && bootstrap && bootstrapExpect === 0) warnings.push('bootstrap = true: do not enable unless necessary');
  if (server && !bootstrap && bootstrapExpect > 1) warnings.push(`bootstrap_expect > 0: expecting ${bootstrapExpect} servers`);
  const streaming = cfg.rpc?.enable_streaming ?? server;
  if (server && (cfg.use_streaming_backend ?? true) && !streaming) warnings.push('use_streaming_backend = true requires rpc.enable_streaming on servers to work properly');
  if (!server && streaming) warnings.push('rpc.enable_streaming = true has no effect when not running in server mode');
  if (cfg.auto_encrypt?.tls === true && cfg.auto_config?.enabled === true) fail('both auto_encrypt.tls and auto_config.enabled cannot be set to true.');
  warnings.push(...tlsWarnings(tlsRt));
  if (cfg.enable_script_checks === true && cfg.acl?.enabled !== true && !cfg.http_config?.allow_write_http_from?.length) warnings.push(REMOTE_SCRIPT_WARNING);

  // Checked by Consul only when the agent starts (logging setup, keyring), so also by `consul validate` here.
  const logLevel = String(cfg.log_level ?? 'INFO').toUpperCase();
  if (!['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERR', 'ERROR'].includes(logLevel)) {
    fail(`Invalid log level: ${cfg.log_level}. Valid log levels are: [TRACE DEBUG INFO WARN ERR ERROR]`);
  }
  if (encryptBytes && ![16, 24, 32].includes(encryptBytes.length)) fail('encrypt has invalid key: key size must be 16, 24 or 32 bytes');

  const ap = cfg.autopilot ?? {};
  return {
    raw: cfg,
    warnings,
    datacenter,
    primaryDatacenter,
    domain: (cfg.domain ?? 'consul').replace(/\.$/, ''),
    nodeName,
    nodeIdConfig: cfg.node_id ?? '',
    dataDir,
    server,
    // As configured: the stand-in's raft reads bootstrap_expect = 1 itself.
    bootstrap: cfg.bootstrap === true,
    bootstrapExpect: bootstrapExpectSet,
    bindAddr,
    advertiseAddr,
    advertiseAddrWan,
    clientAddrs,
    httpAddrs,
    httpsAddrs,
    dnsAddrs,
    tls: tlsRt,
    acl: buildAclRuntime(cfg),
    ports,
    retryJoin: cfg.retry_join ?? [],
    retryIntervalMs: durationMs(cfg.retry_interval, 30000),
    retryMax: cfg.retry_max ?? 0,
    retryJoinWan: cfg.retry_join_wan ?? [],
    retryIntervalWanMs: durationMs(cfg.retry_interval_wan, 30000),
    retryMaxWan: cfg.retry_max_wan ?? 0,
    rejoinAfterLeave: cfg.rejoin_after_leave === true,
    leaveOnTerminate: cfg.leave_on_terminate ?? !server,
    skipLeaveOnInterrupt: cfg.skip_leave_on_interrupt ?? server,
    encryptKey,
    disableKeyringFile: cfg.disable_keyring_file === true,
    logLevel,
    uiEnabled: ui.enabled,
    autopilot: {
      cleanupDeadServers: ap.cleanup_dead_servers ?? true,
      lastContactThresholdMs: durationMs(ap.last_contact_threshold, 200),
      maxTrailingLogs,
      minQuorum: ap.min_quorum ?? 0,
      serverStabilizationMs: durationMs(ap.server_stabilization_time, 10000),
    },
    // agent/config/default.go: raft_snapshot_threshold 16384, raft_snapshot_interval 30s,
    // raft_trailing_logs 10240; limits.kv_max_value_size raft.SuggestedMaxDataSize (512 KiB).
    raftSnapshotThreshold: cfg.raft_snapshot_threshold ?? 16384,
    raftSnapshotIntervalMs: durationMs(cfg.raft_snapshot_interval, 30000),
    raftTrailingLogs: cfg.raft_trailing_logs ?? 10240,
    limits: { kvMaxValueSize: cfg.limits?.kv_max_value_size ?? 512 * 1024 },
    performance: {
      raftMultiplier,
      leaveDrainTimeMs: durationMs(cfg.performance?.leave_drain_time, 5000),
      rpcHoldTimeoutMs: durationMs(cfg.performance?.rpc_hold_timeout, 7000),
    },
    services,
    nodeMeta: cfg.node_meta ?? {},
  };
}

/** The whole load: files from dirs and flags, then the runtime config. */
export function loadAgentConfig({ overrides, configDirs, configFiles, configFormat = '' }) {
  const fileWarnings = [];
  const files = listConfigFiles(configDirs, configFiles, (w) => fileWarnings.push(w), configFormat);
  const rt = buildRuntime(loadConfigFiles(files, configFormat), overrides);
  rt.warnings.unshift(...fileWarnings);
  rt.files = files;
  return rt;
}
