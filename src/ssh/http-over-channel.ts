import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { HttpRequest, HttpResponse, HttpTls } from './transport.js';

/**
 * An HTTP/1.1 exchange over a direct-tcpip channel, parsed by Node's own HTTP client; with
 * `req.tls`, inside TLS over that channel (the agent's HTTPS port, its certificate checked
 * against the cluster's CA and the expected name), so HTTPS needs no port opened to drover.
 * `req.token` travels as the `X-Consul-Token` header and nowhere else: not in the path, and not
 * in any error, which names the request by method and URL only.
 */
export function httpOverChannel(channel: Duplex, req: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
  return exchange(req.tls ? secured(channel, req.tls) : socketLike(channel), req, timeoutMs);
}

/** TLS 1.2+ (Consul's own minimum) over the channel; a certificate that does not verify fails the request. */
function secured(channel: Duplex, tls: HttpTls): Socket {
  return tlsConnect({ socket: channel, ca: tls.ca, servername: tls.servername, minVersion: 'TLSv1.2' });
}

/** node:http expects a net.Socket; these are the calls it makes that a channel lacks. */
function socketLike(channel: Duplex): Socket {
  const socketish = Object.assign(channel, {
    setKeepAlive: () => socketish,
    setNoDelay: () => socketish,
    setTimeout: () => socketish,
    ref: () => socketish,
    unref: () => socketish,
  });
  return socketish as unknown as Socket;
}

function exchange(socket: Socket, req: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const body = req.bytes ?? req.body ?? '';
    const r = httpRequest(
      {
        method: req.method ?? 'GET',
        path: req.path,
        headers: {
          host: `${req.host}:${req.port}`,
          connection: 'close',
          // Consul reads the header before Authorization: Bearer; the clear text goes only here.
          ...(req.token && { 'x-consul-token': req.token.reveal() }),
          ...((req.body !== undefined || req.bytes !== undefined) && {
            'content-type': typeof body === 'string' ? 'application/json' : 'application/octet-stream',
            'content-length': String(Buffer.byteLength(body)),
          }),
        },
        createConnection: () => socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          }
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers, body: bytes.toString('utf8'), bytes });
        });
      },
    );
    const timer = setTimeout(() => r.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
    r.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    r.end(body);
  });
}
