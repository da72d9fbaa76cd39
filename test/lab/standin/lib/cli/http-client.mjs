// The CLI's HTTP client, with Go's error texts (what scripts and drover will match on). It reads
// the settings Consul's api package reads (api/api.go): -http-addr / CONSUL_HTTP_ADDR (an https://
// address or CONSUL_HTTP_SSL=true means TLS), -ca-file / CONSUL_CACERT, -ca-path / CONSUL_CAPATH,
// -client-cert / CONSUL_CLIENT_CERT, -client-key / CONSUL_CLIENT_KEY, -tls-server-name /
// CONSUL_TLS_SERVER_NAME, CONSUL_HTTP_SSL_VERIFY, and the token from -token / CONSUL_HTTP_TOKEN or
// -token-file / CONSUL_HTTP_TOKEN_FILE, sent as X-Consul-Token (never in the URL).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { tlsErrorText } from '../tls-errors.mjs';

const truthy = (v) => ['1', 't', 'true', 'TRUE', 'True', 'T'].includes(v ?? '');

export function agentAddress(flags, env = process.env) {
  const raw = flags['http-addr'] ?? env.CONSUL_HTTP_ADDR ?? '127.0.0.1:8500';
  const tls = raw.startsWith('https://') || (!raw.startsWith('http://') && truthy(env.CONSUL_HTTP_SSL));
  const addr = raw.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const m = /^(.*):(\d+)$/.exec(addr);
  const hp = m ? { host: m[1], port: Number(m[2]) } : { host: addr, port: tls ? 443 : 80 };
  return { ...hp, tls };
}

/** api.NewClient: the token (flag, else env), replaced by the token file's content when one is named. */
function token(flags, env) {
  const file = flags['token-file'] ?? env.CONSUL_HTTP_TOKEN_FILE;
  const value = flags.token ?? env.CONSUL_HTTP_TOKEN ?? '';
  if (!file) return value;
  let data;
  try {
    data = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `Error loading token file: open ${file}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.message}`,
    );
  }
  return data.trim() || value;
}

function readFile(what, file) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(
      `Error loading ${what}: open ${file}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`,
    );
  }
}

function tlsOptions(flags, env, host) {
  const caFile = flags['ca-file'] ?? env.CONSUL_CACERT;
  const caPath = flags['ca-path'] ?? env.CONSUL_CAPATH;
  const cert = flags['client-cert'] ?? env.CONSUL_CLIENT_CERT;
  const key = flags['client-key'] ?? env.CONSUL_CLIENT_KEY;
  const o = {
    servername: flags['tls-server-name'] ?? env.CONSUL_TLS_SERVER_NAME ?? (net.isIP(host) ? undefined : host),
  };
  if (caFile) o.ca = readFile('CA file', caFile);
  else if (caPath) o.ca = fs.readdirSync(caPath).map((n) => fs.readFileSync(path.join(caPath, n)));
  if (cert && key) {
    o.cert = readFile('client cert', cert);
    o.key = readFile('client key', key);
  }
  if (env.CONSUL_HTTP_SSL_VERIFY !== undefined && !truthy(env.CONSUL_HTTP_SSL_VERIFY))
    o.rejectUnauthorized = false;
  return o;
}

const DIAL = {
  ECONNREFUSED: 'connect: connection refused',
  ETIMEDOUT: 'i/o timeout',
  EHOSTUNREACH: 'connect: no route to host',
  ECONNRESET: 'read: connection reset by peer',
};

/**
 * What api.NewClient checks before any request (the token file, the TLS files): the error text,
 * or null. Commands print it as `Error connecting to Consul agent: ...`.
 */
export function clientError(flags, env = process.env) {
  try {
    const { host, tls } = agentAddress(flags, env);
    token(flags, env);
    if (tls) tlsOptions(flags, env, host);
    return null;
  } catch (e) {
    return e.message;
  }
}

/**
 * Sends one request; resolves { status, body: Buffer, headers } or rejects with Go's error text:
 * `<Verb> "<url>": <dial, TLS or read error>`. timeoutMs bounds a silent connection (30 s).
 */
export function send(flags, method, reqPath, { payload = null, headers = {}, timeoutMs = 30000 } = {}, env = process.env) {
  const { host, port, tls } = agentAddress(flags, env);
  const url = `${tls ? 'https' : 'http'}://${host}:${port}${reqPath}`;
  const verb = method[0] + method.slice(1).toLowerCase();
  return new Promise((resolve, reject) => {
    let secret;
    let options;
    try {
      secret = token(flags, env);
      options = tls ? tlsOptions(flags, env, host) : {};
    } catch (e) {
      reject(e);
      return;
    }
    const all = { ...headers, ...(secret ? { 'X-Consul-Token': secret } : {}) };
    let peer;
    const req = (tls ? https : http).request(
      { host, port, path: reqPath, method, timeout: timeoutMs, headers: all, agent: false, ...options },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }),
        );
      },
    );
    req.on('socket', (s) =>
      s.on('secureConnect', () => {
        peer = s.getPeerCertificate();
      }),
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => {
      const tlsText = tlsErrorText(e, host, () => peer ?? e.cert);
      if (tlsText) reject(new Error(`${verb} "${url}": ${tlsText}`));
      else if (e.code === 'ECONNRESET' && tls) reject(new Error(`${verb} "${url}": EOF`));
      else reject(new Error(`${verb} "${url}": dial tcp ${host}:${port}: ${DIAL[e.code] ?? e.message}`));
    });
    req.end(payload ?? undefined);
  });
}

/**
 * A request with a JSON body sent as Consul's api client sends `r.obj` (api/api.go encodeBody +
 * http.NewRequest): from a json.Encoder, so with a trailing newline, as application/json with a
 * Content-Length. Anything but okCodes is `Unexpected response code: N (body)`.
 */
export async function request(flags, method, reqPath, { body, okCodes = [200] } = {}) {
  const payload = body === undefined ? null : Buffer.from(`${JSON.stringify(body)}\n`);
  const headers = payload
    ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) }
    : {};
  const r = await send(flags, method, reqPath, { payload, headers });
  const text = r.body.toString();
  if (!okCodes.includes(r.status)) throw new Error(`Unexpected response code: ${r.status} (${text})`);
  return { status: r.status, body: text, headers: r.headers };
}

export async function getJson(flags, reqPath, opts) {
  const r = await request(flags, 'GET', reqPath, opts);
  return JSON.parse(r.body);
}
