// The CLI's HTTP client, with Go's error texts (what scripts and drover will match on).
import http from 'node:http';

export function agentAddress(flags, env = process.env) {
  let addr = flags['http-addr'] ?? env.CONSUL_HTTP_ADDR ?? '127.0.0.1:8500';
  addr = addr.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const m = /^(.*):(\d+)$/.exec(addr);
  return m ? { host: m[1], port: Number(m[2]) } : { host: addr, port: 80 };
}

const DIAL = { ECONNREFUSED: 'connect: connection refused', ETIMEDOUT: 'i/o timeout', EHOSTUNREACH: 'connect: no route to host', ECONNRESET: 'read: connection reset by peer' };

/**
 * Sends one request; resolves { status, body, headers } or rejects with a Go-like error. A body is
 * sent as Consul's api client sends `r.obj` (api/api.go encodeBody + http.NewRequest): JSON from
 * a json.Encoder, so with a trailing newline, as application/json with a Content-Length.
 */
export function request(flags, method, path, { body, okCodes = [200] } = {}) {
  const { host, port } = agentAddress(flags);
  const url = `http://${host}:${port}${path}`;
  const verb = method[0] + method.slice(1).toLowerCase();
  const payload = body === undefined ? null : Buffer.from(`${JSON.stringify(body)}\n`);
  const headers = payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {};
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method, timeout: 30000, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (!okCodes.includes(res.statusCode ?? 0)) return reject(new Error(`Unexpected response code: ${res.statusCode} (${text})`));
        resolve({ status: res.statusCode, body: text, headers: res.headers });
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => reject(new Error(`${verb} "${url}": dial tcp ${host}:${port}: ${DIAL[e.code] ?? e.message}`)));
    req.end(payload ?? undefined);
  });
}

export async function getJson(flags, path, opts) {
  const r = await request(flags, 'GET', path, opts);
  return JSON.parse(r.body);
}
