// Service health checks, as Consul runs them for services defined in config files: http, tcp,
// ttl and (when enabled) script checks. Definitions are normalized at config load time (with
// Consul's validation wording); a CheckRunner runs them and reports status changes, which the
// agent gossips so the catalog, the health endpoint and DNS see them.
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { parseDuration } from './duration.mjs';

export const STATUS_RANK = { passing: 0, warning: 1, critical: 2 };
const OUTPUT_MAX = 4096;

function durationMs(value, errors, what) {
  if (value === undefined || value === null || value === '') return 0;
  if (typeof value === 'number') return value / 1e6; // Go durations in JSON numbers are nanoseconds.
  try { return parseDuration(value); } catch (e) { errors.push(`${what}: ${e.message}`); return 0; }
}

/**
 * The checks of one service definition (`check` and `checks`), validated the way Consul's
 * CheckType.Validate does. IDs follow Consul: `service:<id>` for one check, `service:<id>:<n>`
 * for several.
 */
export function normalizeChecks(def, serviceId, serviceName, errors, { scriptsEnabled = false } = {}) {
  const raw = [];
  if (def.check && typeof def.check === 'object') raw.push(def.check);
  if (Array.isArray(def.checks)) raw.push(...def.checks);
  return raw.map((c, i) => {
    const problems = [];
    const where = `service "${serviceName}"`;
    const interval = durationMs(c.interval ?? c.Interval, problems, 'interval');
    const ttl = durationMs(c.ttl ?? c.TTL, problems, 'ttl');
    const timeout = durationMs(c.timeout ?? c.Timeout, problems, 'timeout');
    const args = c.args ?? c.Args ?? c.script_args ?? c.ScriptArgs;
    const type = c.http ?? c.HTTP ? 'http' : c.tcp ?? c.TCP ? 'tcp' : Array.isArray(args) && args.length ? 'script' : ttl > 0 ? 'ttl' : c.grpc ?? c.GRPC ? 'grpc' : '';
    const intervalCheck = ['http', 'tcp', 'script', 'grpc'].includes(type);
    if (interval > 0 && ttl > 0) problems.push('Interval and TTL cannot both be specified');
    else if (intervalCheck && interval <= 0) problems.push('Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or GRPC checks');
    else if (!intervalCheck && ttl <= 0) problems.push('TTL must be > 0 for TTL checks');
    if (type === 'script' && !scriptsEnabled) {
      problems.push("Scripts are disabled on this agent from local sources; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true");
    }
    if (type === 'grpc') problems.push('gRPC checks are not supported by the Consul stand-in');
    const status = c.status ?? c.Status ?? 'critical';
    if (!(status in STATUS_RANK)) problems.push(`Invalid initial status "${status}"`);
    for (const p of problems) errors.push(`${where}: Check is not valid: ${p}`);
    const id = c.id ?? c.ID ?? c.check_id ?? c.CheckID ?? (raw.length === 1 ? `service:${serviceId}` : `service:${serviceId}:${i + 1}`);
    return {
      id, name: c.name ?? c.Name ?? `Service '${serviceName}' check`, type, status, notes: c.notes ?? c.Notes ?? '',
      http: c.http ?? c.HTTP ?? '', method: c.method ?? c.Method ?? 'GET', tcp: c.tcp ?? c.TCP ?? '',
      args: Array.isArray(args) ? args.map(String) : [], intervalMs: interval, ttlMs: ttl, timeoutMs: timeout > 0 ? timeout : 10000,
      serviceId, serviceName,
    };
  });
}

/** Worst status of a list of checks; `passing` when there are none (as Consul counts it). */
export function aggregateStatus(checks) {
  let worst = 'passing';
  for (const c of checks ?? []) if ((STATUS_RANK[c.status] ?? 2) > STATUS_RANK[worst]) worst = c.status;
  return worst;
}

function httpProbe(check) {
  return new Promise((resolve) => {
    let url;
    try { url = new URL(check.http); } catch { resolve({ status: 'critical', output: `Get "${check.http}": invalid URL` }); return; }
    const req = http.request({ host: url.hostname, port: url.port || 80, path: `${url.pathname}${url.search}`, method: check.method, timeout: check.timeoutMs,
      headers: { 'User-Agent': 'Consul Health Check', Accept: 'text/plain, text/*, */*' } }, (res) => {
      let body = '';
      res.on('data', (c) => { if (body.length < OUTPUT_MAX) body += c.toString(); });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const output = `HTTP ${check.method} ${check.http}: ${code} ${res.statusMessage ?? ''} Output: ${body.slice(0, OUTPUT_MAX)}`;
        resolve({ status: code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical', output });
      });
      res.on('error', (e) => resolve({ status: 'critical', output: `${check.method} ${check.http}: ${e.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error(`context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    req.on('error', (e) => resolve({ status: 'critical', output: `${check.method} "${check.http}": ${e.code === 'ECONNREFUSED' ? `dial tcp ${url.host}: connect: connection refused` : e.message}` }));
    req.end();
  });
}

function tcpProbe(check) {
  return new Promise((resolve) => {
    const m = /^(.*):(\d+)$/.exec(check.tcp);
    if (!m) { resolve({ status: 'critical', output: `dial tcp ${check.tcp}: missing port in address` }); return; }
    const socket = net.connect({ host: m[1], port: Number(m[2]) });
    const done = (status, output) => { clearTimeout(timer); socket.destroy(); resolve({ status, output }); };
    const timer = setTimeout(() => done('critical', `dial tcp ${check.tcp}: i/o timeout`), check.timeoutMs);
    socket.on('connect', () => done('passing', `TCP connect ${check.tcp}: Success`));
    socket.on('error', (e) => done('critical', `dial tcp ${check.tcp}: ${e.code === 'ECONNREFUSED' ? 'connect: connection refused' : e.message}`));
  });
}

function scriptProbe(check) {
  return new Promise((resolve) => {
    const [file, ...rest] = check.args;
    execFile(file, rest, { timeout: check.timeoutMs, maxBuffer: OUTPUT_MAX * 4 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.slice(0, OUTPUT_MAX);
      const code = err ? (typeof err.code === 'number' ? err.code : 2) : 0;
      resolve({ status: code === 0 ? 'passing' : code === 1 ? 'warning' : 'critical', output });
    });
  });
}

/**
 * Runs every check of the agent's services on its interval and calls onChange() after a status
 * changes. TTL checks stay in their status until updated with update() (the /v1/agent/check/*
 * endpoints) and turn critical when their TTL runs out.
 */
export class CheckRunner {
  constructor(onChange) {
    this.onChange = onChange;
    this.checks = new Map();
    this.timers = [];
  }

  /** Replaces the running checks (start and reload); a check that keeps its ID keeps its status. */
  set(services) {
    this.stop();
    const next = new Map();
    for (const s of services) {
      for (const c of s.checks ?? []) {
        const prev = this.checks.get(c.id);
        const state = { ...c, status: prev?.status ?? c.status, output: prev?.output ?? '', ttlDeadline: prev?.ttlDeadline ?? 0 };
        next.set(c.id, state);
      }
    }
    this.checks = next;
    for (const c of this.checks.values()) {
      if (c.type === 'ttl') {
        if (!c.ttlDeadline) c.ttlDeadline = Date.now() + c.ttlMs;
        this.timers.push(setInterval(() => this.expireTtl(c), Math.min(1000, c.ttlMs)));
      } else {
        // The first run comes soon after start or reload, then every interval.
        this.timers.push(setTimeout(() => this.run(c), Math.floor(Math.random() * 300)));
        this.timers.push(setInterval(() => this.run(c), c.intervalMs));
      }
    }
  }

  stop() {
    for (const t of this.timers) { clearTimeout(t); clearInterval(t); }
    this.timers = [];
  }

  async run(c) {
    if (c.running) return;
    c.running = true;
    try {
      const r = c.type === 'http' ? await httpProbe(c) : c.type === 'tcp' ? await tcpProbe(c) : c.type === 'script' ? await scriptProbe(c) : null;
      if (r && this.checks.get(c.id) === c) this.record(c, r.status, r.output);
    } finally {
      c.running = false;
    }
  }

  expireTtl(c) {
    if (c.status !== 'critical' && Date.now() > c.ttlDeadline) this.record(c, 'critical', `TTL expired`);
  }

  /** `PUT /v1/agent/check/pass|warn|fail/:id`; returns false for an unknown check. */
  update(id, status, output = '') {
    const c = this.checks.get(id);
    if (!c) return false;
    if (c.type === 'ttl') c.ttlDeadline = Date.now() + c.ttlMs;
    this.record(c, status, output);
    return true;
  }

  record(c, status, output) {
    c.output = output;
    if (c.status === status) return;
    c.status = status;
    this.onChange(c);
  }

  /** Status per check ID, for the wire format of services. */
  statusOf(id) {
    return this.checks.get(id)?.status;
  }

  list() {
    return [...this.checks.values()];
  }
}
