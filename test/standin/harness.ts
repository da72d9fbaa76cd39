/**
 * Test harness for the Consul stand-in: starts real agent processes on loopback addresses,
 * each with its own config and data dir, and runs the stand-in's CLI against them.
 * Every process started here is killed when the test file ends, even when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STANDIN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'lab', 'standin');
export const CONSUL = join(STANDIN_DIR, 'consul.mjs');

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];
const agents: Agent[] = [];

function killAll(): void {
  for (const p of running) {
    try {
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}
process.on('exit', killAll);

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Kills every agent this file started and removes temp dirs; call from after(). */
export async function cleanup(): Promise<void> {
  const exits = [...running].map(
    (p) =>
      new Promise<void>((r) =>
        p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r()),
      ),
  );
  killAll();
  await Promise.race([Promise.all(exits), idle(3000)]);
  // STANDIN_LOG_DIR=dir keeps every agent's output there, for debugging a failed run.
  const logDir = process.env.STANDIN_LOG_DIR;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    for (const a of agents) writeFileSync(join(logDir, `${a.ip}-${a.name}.log`), a.log);
  }
  agents.length = 0;
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A delay that does not keep the test process alive (for timeouts raced against work). */
const idle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/** Polls fn until it returns a truthy value; fails after timeoutMs with the last value seen. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T> | T,
  timeoutMs = 15000,
  everyMs = 200,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= until)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last: ${String(last instanceof Error ? last.message : JSON.stringify(last))}`,
      );
    await sleep(everyMs);
  }
}

export interface AgentSpec {
  ip: string;
  name: string;
  server?: boolean;
  bootstrapExpect?: number;
  retryJoin?: string[];
  encrypt?: string;
  /**
   * performance.raft_multiplier written for a server. Tests default to 1 (Consul's dev-mode
   * value) to stay fast; `null` writes nothing, so the agent uses Consul's default of 5.
   */
  raftMultiplier?: number | null;
  extra?: Record<string, unknown>;
  env?: Record<string, string>;
}

export class Agent {
  proc: ChildProcess | null = null;
  /** Output of the current run; `log` keeps every run's. */
  out = '';
  log = '';
  readonly configDir: string;
  readonly dataDir: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({
    code: null,
    signal: null,
  });

  constructor(
    readonly spec: AgentSpec,
    root: string,
  ) {
    this.configDir = join(root, spec.name, 'config');
    this.dataDir = join(root, spec.name, 'data');
    mkdirSync(this.configDir, { recursive: true });
    mkdirSync(this.dataDir, { recursive: true });
    this.writeConfig();
    agents.push(this);
  }

  get ip(): string {
    return this.spec.ip;
  }
  get name(): string {
    return this.spec.name;
  }

  writeConfig(patch: Record<string, unknown> = {}): void {
    const s = this.spec;
    const multiplier = s.raftMultiplier === undefined ? 1 : s.raftMultiplier;
    const cfg: Record<string, unknown> = {
      node_name: s.name,
      datacenter: 'dc1',
      bind_addr: s.ip,
      client_addr: s.ip,
      retry_join: s.retryJoin ?? [],
      retry_interval: '1s',
      log_level: 'info',
      ...(s.server
        ? {
            server: true,
            bootstrap_expect: s.bootstrapExpect ?? 3,
            autopilot: { server_stabilization_time: '1s' },
            ...(multiplier === null ? {} : { performance: { raft_multiplier: multiplier } }),
          }
        : {}),
      ...(s.encrypt ? { encrypt: s.encrypt } : {}),
      ...(s.extra ?? {}),
      ...patch,
    };
    writeFileSync(join(this.configDir, 'agent.json'), JSON.stringify(cfg, null, 2));
  }

  start(): this {
    this.out = '';
    const proc = spawn(
      process.execPath,
      [CONSUL, 'agent', `-data-dir=${this.dataDir}`, `-config-dir=${this.configDir}`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CONSUL_STANDIN_AUTOPILOT_INTERVAL: '60s', ...(this.spec.env ?? {}) },
      },
    );
    this.proc = proc;
    running.add(proc);
    this.log += `==== start ${new Date().toISOString()}\n`;
    const record = (c: Buffer): void => {
      this.out += c.toString();
      this.log += c.toString();
    };
    proc.stdout?.on('data', record);
    proc.stderr?.on('data', record);
    this.exit = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        running.delete(proc);
        resolve({ code, signal });
      });
    });
    return this;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.proc?.kill(signal);
  }

  /** Waits (bounded) for the process to exit. */
  async stopped(timeoutMs = 10000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const r = await Promise.race([this.exit, idle(timeoutMs).then(() => null)]);
    if (!r) throw new Error(`${this.name} did not exit within ${timeoutMs} ms`);
    return r;
  }

  http(path: string, method = 'GET', body?: string): Promise<HttpResult> {
    return httpRequest(this.ip, 8500, path, method, body);
  }

  cli(...args: string[]): Promise<CliResult> {
    return runCli(args, { CONSUL_HTTP_ADDR: `${this.ip}:8500` });
  }

  async leader(): Promise<string> {
    const r = await this.http('/v1/status/leader');
    return JSON.parse(r.body) as string;
  }

  /** The raft section of this server's /v1/agent/self Stats (what `consul info` prints). */
  async raft(): Promise<Record<string, string>> {
    const r = await this.http('/v1/agent/self');
    const raft = (JSON.parse(r.body) as { Stats: { raft?: Record<string, string> } }).Stats.raft;
    if (!raft) throw new Error(`${this.name} has no raft stats`);
    return raft;
  }

  /** `consul info` parsed into sections of key/value pairs. */
  async info(): Promise<Record<string, Record<string, string>>> {
    const r = await this.cli('info');
    if (r.code !== 0) throw new Error(`consul info failed: ${r.stderr}`);
    return parseInfo(r.stdout);
  }
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request. The timeout is longer than Consul's rpc_hold_timeout (7s): without a leader a
 * server holds a request that long before it answers "No cluster leader".
 */
export function httpRequest(
  host: string,
  port: number,
  path: string,
  method = 'GET',
  body?: string,
  timeoutMs = 15000,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method, headers, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A call to an agent's HTTP API on port 8500 with an ACL token (X-Consul-Token) or a bearer
 * token (Authorization), and a JSON body (a string is sent as it is).
 */
export function consulCall(
  ip: string,
  path: string,
  o: { method?: string; token?: string; bearer?: string; body?: unknown } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (o.token) headers['X-Consul-Token'] = o.token;
  if (o.bearer) headers.Authorization = `Bearer ${o.bearer}`;
  const payload =
    o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  return httpRequest(ip, 8500, path, o.method ?? 'GET', payload, 15000, headers);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 20000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CONSUL, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    running.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      running.delete(proc);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parses `consul info`: "section:" lines at column 0, "\tkey = value" lines below. */
export function parseInfo(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const head = /^([a-z_]+):$/.exec(line);
    if (head?.[1]) {
      section = out[head[1]] = {};
      continue;
    }
    const kv = /^\t([a-z_]+) = (.*)$/.exec(line);
    if (!kv?.[1] || !section) throw new Error(`unexpected consul info line: ${JSON.stringify(line)}`);
    section[kv[1]] = kv[2] ?? '';
  }
  return out;
}

/** Parses a columnized table by its header (column starts are where header words start). */
export function parseTable(text: string, headers: string[]): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const head = lines[0] ?? '';
  const starts = headers.map((h) => {
    const i = head.indexOf(h);
    if (i < 0) throw new Error(`header ${h} missing in ${JSON.stringify(head)}`);
    return i;
  });
  return lines.slice(1).map((line) => {
    const row: Record<string, string> = {};
    headers.forEach((h, i) => {
      row[h] = line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim();
    });
    return row;
  });
}

/** Sends one DNS A query over UDP and returns the rcode and the answered IPv4 addresses. */
export async function dnsQuery(
  server: string,
  name: string,
  port = 8600,
): Promise<{ rcode: number; addresses: string[] }> {
  const dgram = await import('node:dgram');
  const labels = name.split('.').filter(Boolean);
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
  const id = Math.floor(Math.random() * 65535);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const query = Buffer.concat([header, qname, Buffer.from([0, 1, 0, 1])]);
  const sock = dgram.createSocket('udp4');
  try {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('DNS timeout')), 3000);
      sock.on('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      sock.send(query, port, server);
    });
    const rcode = reply.readUInt16BE(2) & 0xf;
    const count = reply.readUInt16BE(6);
    let pos = query.length;
    const addresses: string[] = [];
    for (let i = 0; i < count; i++) {
      while (reply[pos] !== 0 && ((reply[pos] ?? 0) & 0xc0) !== 0xc0) pos += (reply[pos] ?? 0) + 1;
      pos += reply[pos] === 0 ? 1 : 2;
      const rdlen = reply.readUInt16BE(pos + 8);
      addresses.push([...reply.subarray(pos + 10, pos + 10 + rdlen)].join('.'));
      pos += 10 + rdlen;
    }
    return { rcode, addresses };
  } finally {
    sock.close();
  }
}
