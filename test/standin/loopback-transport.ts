import http from 'node:http';
import net from 'node:net';
import type { Cmd } from '../../src/shell/cmd.js';
import type {
  ExecResult,
  HttpRequest,
  HttpResponse,
  TcpExchange,
  Transport,
} from '../../src/ssh/transport.js';

/**
 * A Transport whose HTTP and TCP go straight from this process (for stand-in agents on loopback
 * addresses), so drover's Consul code can be run against real agents without SSH.
 */
export class LoopbackTransport implements Transport {
  constructor(readonly host = 'loopback') {}

  exec(_cmd: Cmd): Promise<ExecResult> {
    throw new Error('no exec on the loopback transport');
  }

  http(req: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const r = http.request(
        {
          host: req.host,
          port: req.port,
          path: req.path,
          method: req.method ?? 'GET',
          timeout: (req.timeoutSeconds ?? 5) * 1000,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: {}, body }));
        },
      );
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.on('error', reject);
      r.end(req.body);
    });
  }

  tcpExchange(req: TcpExchange): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let received = Buffer.alloc(0);
      const socket = net.connect({ host: req.host, port: req.port });
      const timer = setTimeout(() => socket.destroy(new Error('timeout')), (req.timeoutSeconds ?? 5) * 1000);
      const done = (err: Error | null) => {
        clearTimeout(timer);
        socket.destroy();
        if (err) reject(err);
        else resolve(received);
      };
      socket.on('connect', () => socket.write(req.send));
      socket.on('data', (c: Buffer) => {
        received = Buffer.concat([received, c]);
        if (req.complete(received)) done(null);
      });
      socket.on('error', (e) => done(e));
      socket.on('close', () => done(req.complete(received) ? null : new Error('closed early')));
    });
  }

  async close(): Promise<void> {}
}
