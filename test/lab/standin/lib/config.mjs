// Agent configuration: command-line flags, config dir/files (*.json merged in name order),
// strict key/type checks with Consul's error wording, and the runtime defaults Consul applies.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SCHEMA } from './config-schema.mjs';
import { parseDuration } from './duration.mjs';
import { normalizeChecks } from './checks.mjs';

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
  'serf-lan-bind': 'serf_lan', 'serf-wan-bind': 'serf_wan', segment: 'segment', 'config-format': null, hcl: null,
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
  return { overrides, configDirs, configFiles, dev };
}

// --- reading and checking config files ------------------------------------------------------

function goType(v) {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

function goValue(v) {
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (v && typeof v === 'object') return `map[${Object.entries(v).map(([k, x]) => `${k}:${goValue(x)}`).join(' ')}]`;
  return String(v);
}

/** Checks one parsed file against the schema: mapstructure type errors and unused (unknown) keys. */
export function checkTree(obj, schema = SCHEMA, prefix = '') {
  const typeErrors = [];
  const unknown = [];
  for (const [key, value] of Object.entries(obj)) {
    const name = prefix + key;
    const type = schema[key];
    if (type === undefined) { unknown.push(name); continue; }
    if (value === null || type === 'any') continue;
    const bad = () => typeErrors.push(`'${name}' expected type '${goExpected(type)}', got unconvertible type '${goType(value)}', value: '${goValue(value)}'`);
    if (typeof type === 'object') {
      if (typeof value !== 'object' || Array.isArray(value)) { typeErrors.push(`'${name}' expected a map, got '${goKind(value)}'`); continue; }
      const sub = checkTree(value, type, `${name}.`);
      typeErrors.push(...sub.typeErrors);
      unknown.push(...sub.unknown);
    } else if (type === 'string') { if (typeof value !== 'string') bad(); }
    else if (type === 'bool') { if (typeof value !== 'boolean') bad(); }
    else if (type === 'int') { if (typeof value !== 'number') bad(); }
    else if (type === 'strings') {
      if (!Array.isArray(value)) typeErrors.push(`'${name}': source data must be an array or slice, got ${goKind(value)}`);
      else value.forEach((v, i) => { if (typeof v !== 'string') typeErrors.push(`'${name}[${i}]' expected type 'string', got unconvertible type '${goType(v)}', value: '${goValue(v)}'`); });
    } else if (type === 'map') { if (typeof value !== 'object' || Array.isArray(value)) typeErrors.push(`'${name}' expected a map, got '${goKind(value)}'`); }
  }
  return { typeErrors, unknown };
}

function goExpected(type) {
  return type === 'int' ? 'int' : type === 'bool' ? 'bool' : 'string';
}
function goKind(v) {
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'number') return 'float64';
  return typeof v === 'object' ? 'map' : typeof v;
}

/** Consul merges config sources: maps recursively, slices appended, scalars replaced. */
export function mergeConfig(base, next) {
  const out = { ...base };
  for (const [k, v] of Object.entries(next)) {
    const cur = out[k];
    if (Array.isArray(cur) && Array.isArray(v)) out[k] = [...cur, ...v];
    else if (cur && v && typeof cur === 'object' && typeof v === 'object' && !Array.isArray(cur) && !Array.isArray(v)
      && !['service', 'check', 'node_meta'].includes(k)) out[k] = mergeConfig(cur, v);
    else out[k] = v;
  }
  return out;
}

/** Lists config files like Consul: every *.json / *.hcl of each dir in name order, then -config-file entries. */
export function listConfigFiles(configDirs, configFiles, warn = () => {}) {
  const files = [];
  for (const dir of configDirs) {
    let st;
    try { st = fs.statSync(dir); } catch (e) { throw new ConfigError(`Error loading ${dir}: ${e.code === 'ENOENT' ? `stat ${dir}: no such file or directory` : e.message}`); }
    if (!st.isDirectory()) { files.push(dir); continue; }
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (!fs.statSync(full).isFile()) continue;
      if (name.endsWith('.json') || name.endsWith('.hcl')) files.push(full);
      else warn(`skipping file ${full}, extension must be .hcl or .json, or config format must be set`);
    }
  }
  return [...files, ...configFiles];
}

/**
 * Consul collects `service`/`services` (and `check`/`checks`) from every config source into one
 * list, so one file per service works; as lists they are appended by mergeConfig.
 */
function asLists(obj) {
  const out = { ...obj };
  for (const [one, many] of [['service', 'services'], ['check', 'checks']]) {
    const list = [];
    if (out[one] && typeof out[one] === 'object') list.push(out[one]);
    if (Array.isArray(out[many])) list.push(...out[many]);
    else if (out[many] && typeof out[many] === 'object') list.push(out[many]);
    delete out[one];
    if (list.length) out[many] = list; else delete out[many];
  }
  return out;
}

/** Reads, checks and merges config files; throws ConfigError with Consul's wording on the first bad file. */
export function loadConfigFiles(files) {
  let merged = {};
  for (const file of files) {
    if (file.endsWith('.hcl')) {
      throw new ConfigError(`failed to parse ${file}: the Consul stand-in only reads JSON config files (HCL is not supported)`);
    }
    let text;
    try { text = fs.readFileSync(file, 'utf8'); } catch (e) { throw new ConfigError(`Error loading ${file}: ${e.message}`); }
    let obj;
    try { obj = JSON.parse(text); } catch (e) { throw new ConfigError(`failed to parse ${file}: ${e.message}`); }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new ConfigError(`failed to parse ${file}: json: cannot unmarshal ${goKind(obj)} into Go value of type map[string]interface {}`);
    const { typeErrors, unknown } = checkTree(obj);
    if (typeErrors.length) throw new ConfigError(`failed to parse ${file}: ${typeErrors.length} error(s) decoding:\n\n${typeErrors.map((e) => `* ${e}`).join('\n')}`);
    if (unknown.length) throw new ConfigError(`failed to parse ${file}: ${multiError(unknown.map((k) => `invalid config key ${k}`))}`);
    merged = mergeConfig(merged, asLists(obj));
  }
  return merged;
}

// --- runtime config ---------------------------------------------------------------------------

const PRIVATE_V4 = [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10]];
const ipNum = (ip) => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
const inCidr = (ip, [net, bits]) => (ipNum(ip) >>> (32 - bits)) === (ipNum(net) >>> (32 - bits));

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

const isIPv4 = (s) => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((p) => Number(p) <= 255);

function durationOf(name, value, fallback, errors) {
  if (value === undefined) return fallback;
  try { return parseDuration(value); } catch (e) { errors.push(`${name}: invalid duration: "${value}": ${e.message}`); return fallback; }
}

function normalizeServices(cfg, errors) {
  const defs = [];
  if (cfg.service) defs.push(cfg.service);
  if (Array.isArray(cfg.services)) defs.push(...cfg.services);
  else if (cfg.services && typeof cfg.services === 'object') defs.push(cfg.services);
  const seen = new Set();
  const scriptsEnabled = cfg.enable_script_checks === true || cfg.enable_local_script_checks === true;
  return defs.map((d) => {
    const name = d.name ?? d.Name;
    if (!name) errors.push('service: missing service name');
    const id = d.id ?? d.ID ?? name;
    if (name && seen.has(id)) errors.push(`service "${name}": duplicate service ID "${id}"`);
    seen.add(id);
    return {
      id, name, tags: d.tags ?? d.Tags ?? [], port: d.port ?? d.Port ?? 0,
      address: d.address ?? d.Address ?? '', meta: d.meta ?? d.Meta ?? {},
      checks: name ? normalizeChecks(d, id, name, errors, { scriptsEnabled }) : [],
    };
  });
}

/** Applies defaults and checks the merged config; returns the runtime config or throws ConfigError. */
export function buildRuntime(fileConfig, overrides = {}, { forValidate = false } = {}) {
  const cfg = mergeConfig(fileConfig, overrides);
  const errors = [];
  const warnings = [];
  const server = cfg.server === true;
  const bootstrapExpect = cfg.bootstrap_expect ?? 0;
  if (bootstrapExpect < 0) errors.push(`bootstrap_expect cannot be ${bootstrapExpect}. Must be greater than or equal to zero`);
  if (bootstrapExpect > 0 && !server) errors.push("'bootstrap_expect > 0' requires 'server = true'");
  if (bootstrapExpect > 0 && cfg.bootstrap === true) errors.push("'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive");
  if (cfg.bootstrap === true && !server) errors.push("'bootstrap = true' requires 'server = true'");
  if (bootstrapExpect === 1) warnings.push('BootstrapExpect is set to 1; this is the same as Bootstrap mode.');
  if (bootstrapExpect === 2) warnings.push('A cluster with 2 servers will provide no failure tolerance. See https://developer.hashicorp.com/docs/internals/consensus.html#deployment-table');
  if (bootstrapExpect > 2 && bootstrapExpect % 2 === 0) warnings.push('A cluster with an even number of servers does not achieve optimum fault tolerance. See https://developer.hashicorp.com/docs/internals/consensus.html#deployment-table');
  const dataDir = cfg.data_dir ?? '';
  if (!dataDir && !forValidate) errors.push('data_dir cannot be empty');

  const logLevel = String(cfg.log_level ?? 'INFO').toUpperCase();
  if (!['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERR', 'ERROR'].includes(logLevel)) {
    errors.push(`Invalid log level: ${cfg.log_level}. Valid log levels are: [TRACE DEBUG INFO WARN ERR ERROR]`);
  }

  let encryptKey = cfg.encrypt ?? '';
  if (encryptKey) {
    const raw = /^[A-Za-z0-9+/]*={0,2}$/.test(encryptKey) && encryptKey.length % 4 === 0 ? Buffer.from(encryptKey, 'base64') : null;
    if (!raw) errors.push(`encrypt has invalid key: illegal base64 data at input byte ${Math.max(0, encryptKey.search(/[^A-Za-z0-9+/=]/))}`);
    else if (![16, 24, 32].includes(raw.length)) errors.push('encrypt has invalid key: key size must be 16, 24 or 32 bytes');
  }

  const ports = {
    dns: 8600, http: 8500, https: -1, grpc: -1, grpc_tls: 8503, serf_lan: 8301, serf_wan: 8302, server: 8300,
    ...(cfg.ports ?? {}),
  };
  for (const [k, v] of Object.entries(ports)) {
    if (!Number.isInteger(v) || v > 65535 || (v < 1 && v !== -1 && v !== 0)) errors.push(`ports.${k}: invalid port ${v}`);
  }

  let bindAddr = '';
  let advertiseAddr = '';
  let clientAddrs = [];
  try {
    bindAddr = resolveTemplate(cfg.bind_addr ?? '0.0.0.0', 'bind_addr');
    if (!isIPv4(bindAddr)) errors.push(`bind_addr: cannot parse "${bindAddr}" as an IPv4 address (the stand-in supports IPv4 only)`);
    advertiseAddr = cfg.advertise_addr !== undefined ? resolveTemplate(cfg.advertise_addr, 'advertise_addr') : '';
    if (advertiseAddr && !isIPv4(advertiseAddr)) errors.push(`advertise_addr: cannot parse "${advertiseAddr}" as an IPv4 address`);
    if (advertiseAddr === '0.0.0.0') errors.push('Advertise address cannot be 0.0.0.0, :: or [::]');
    if (!advertiseAddr && bindAddr === '0.0.0.0' && !forValidate) {
      const ips = privateIPv4s();
      if (ips.length > 1) errors.push("Multiple private IPv4 addresses found. Please configure one with 'bind' and/or 'advertise'.");
      else if (ips.length === 0) errors.push("No private IPv4 address found");
      else advertiseAddr = ips[0];
    }
    if (!advertiseAddr) advertiseAddr = bindAddr;
    clientAddrs = resolveTemplate(cfg.client_addr ?? '127.0.0.1', 'client_addr').split(/\s+/).filter(Boolean);
    for (const a of clientAddrs) if (!isIPv4(a)) errors.push(`client_addr: cannot parse "${a}" as an IPv4 address (the stand-in supports IPv4 only)`);
  } catch (e) {
    errors.push(e.message);
  }

  const retryIntervalMs = durationOf('retry_interval', cfg.retry_interval, 30000, errors);
  const retryIntervalWanMs = durationOf('retry_interval_wan', cfg.retry_interval_wan, 30000, errors);
  const ap = cfg.autopilot ?? {};
  const autopilot = {
    cleanupDeadServers: ap.cleanup_dead_servers ?? true,
    lastContactThresholdMs: durationOf('autopilot.last_contact_threshold', ap.last_contact_threshold, 200, errors),
    maxTrailingLogs: ap.max_trailing_logs ?? 250,
    minQuorum: ap.min_quorum ?? 0,
    serverStabilizationMs: durationOf('autopilot.server_stabilization_time', ap.server_stabilization_time, 10000, errors),
  };
  const services = normalizeServices(cfg, errors);
  const uiEnabled = cfg.ui_config?.enabled ?? cfg.ui ?? false;
  const nodeName = cfg.node_name ?? os.hostname();
  if (!/^[A-Za-z0-9\-_.]+$/.test(nodeName)) warnings.push(`Node name "${nodeName}" will not be discoverable via DNS due to invalid characters. Valid characters include all alpha-numerics and dashes.`);

  if (errors.length) throw new ConfigError(multiError(errors));
  return {
    raw: cfg,
    warnings,
    datacenter: String(cfg.datacenter ?? 'dc1').toLowerCase(),
    domain: (cfg.domain ?? 'consul').replace(/\.$/, ''),
    nodeName,
    nodeIdConfig: cfg.node_id ?? '',
    dataDir,
    server,
    bootstrap: cfg.bootstrap === true,
    bootstrapExpect,
    bindAddr,
    advertiseAddr,
    clientAddrs,
    httpAddrs: cfg.addresses?.http ? cfg.addresses.http.split(/\s+/) : clientAddrs,
    dnsAddrs: cfg.addresses?.dns ? cfg.addresses.dns.split(/\s+/) : clientAddrs,
    ports,
    retryJoin: cfg.retry_join ?? [],
    retryIntervalMs,
    retryMax: cfg.retry_max ?? 0,
    retryJoinWan: cfg.retry_join_wan ?? [],
    retryIntervalWanMs,
    retryMaxWan: cfg.retry_max_wan ?? 0,
    rejoinAfterLeave: cfg.rejoin_after_leave === true,
    leaveOnTerminate: cfg.leave_on_terminate ?? !server,
    skipLeaveOnInterrupt: cfg.skip_leave_on_interrupt ?? server,
    encryptKey,
    disableKeyringFile: cfg.disable_keyring_file === true,
    logLevel,
    uiEnabled,
    autopilot,
    services,
    nodeMeta: cfg.node_meta ?? {},
  };
}

/** The whole load: files from dirs and flags, then the runtime config. */
export function loadAgentConfig({ overrides, configDirs, configFiles }, opts = {}) {
  const fileWarnings = [];
  const files = listConfigFiles(configDirs, configFiles, (w) => fileWarnings.push(w));
  const merged = loadConfigFiles(files);
  const rt = buildRuntime(merged, overrides, opts);
  rt.warnings.unshift(...fileWarnings);
  rt.files = files;
  return rt;
}
