// Length-prefixed frames over TCP: the server RPC port (8300) speaks JSON request/response
// on persistent connections; the gossip port uses one sealed frame each way per connection.
import net from 'node:net';

export function frame(buf) {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(buf.length);
  return Buffer.concat([head, buf]);
}

// Big enough for an InstallSnapshot of a lab-sized state store.
const MAX_FRAME = 64 * 1024 * 1024;

/** Calls onFrame(buffer) for each complete frame received on the socket. */
export function readFrames(socket, onFrame) {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const len = pending.readUInt32BE(0);
      if (len > MAX_FRAME) { socket.destroy(); return; }
      if (pending.length < 4 + len) break;
      const body = pending.subarray(4, 4 + len);
      pending = pending.subarray(4 + len);
      onFrame(body);
    }
  });
}

/** Go-style dial error text ("dial tcp 10.0.0.1:8301: connect: connection refused"). */
export function dialError(host, port, err) {
  // A connection that broke after it was made fails on the read or write, not on the dial.
  if (err.code === 'ECONNRESET') return new Error(`read tcp ${host}:${port}: read: connection reset by peer`);
  if (err.code === 'EPIPE') return new Error(`write tcp ${host}:${port}: write: broken pipe`);
  const reason = {
    ECONNREFUSED: 'connect: connection refused', ETIMEDOUT: 'i/o timeout', EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable', EADDRNOTAVAIL: 'connect: cannot assign requested address',
  }[err.code] ?? err.message;
  return new Error(`dial tcp ${host}:${port}: ${reason}`);
}

/** One request frame, one response frame, bounded by timeoutMs. */
export function exchange(host, port, payload, timeoutMs = 1500) {
  return new Promise((resolve, reject) => {
    let done = false;
    const socket = net.connect({ host, port });
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err); else resolve(value);
    };
    const timer = setTimeout(() => finish(dialError(host, port, { code: 'ETIMEDOUT' })), timeoutMs);
    socket.on('connect', () => socket.write(frame(payload)));
    socket.on('error', (e) => finish(dialError(host, port, e)));
    socket.on('close', () => finish(new Error('EOF')));
    readFrames(socket, (body) => finish(null, body));
  });
}

/** JSON RPC server: handler(method, params, remoteAddress) -> result (may be a Promise). */
export function createRpcServer(handler, onError) {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    readFrames(socket, async (body) => {
      let msg;
      try { msg = JSON.parse(body.toString()); } catch { socket.destroy(); return; }
      let reply;
      try { reply = { id: msg.id, result: await handler(msg.method, msg.params ?? {}, socket.remoteAddress) }; }
      catch (e) { reply = { id: msg.id, error: e.message }; }
      if (!socket.destroyed) socket.write(frame(Buffer.from(JSON.stringify(reply))));
    });
  });
  server.on('error', onError ?? (() => {}));
  return server;
}

/** A persistent JSON RPC connection to one server; reconnects on the next call after a failure. */
export class RpcClient {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.socket = null;
    this.nextId = 1;
    this.pending = new Map();
  }

  connect() {
    if (this.socket) return;
    const socket = net.connect({ host: this.host, port: this.port });
    this.socket = socket;
    socket.setNoDelay(true);
    const fail = (err) => {
      if (this.socket === socket) this.socket = null;
      socket.destroy();
      for (const [id, p] of this.pending) if (p.socket === socket) { this.pending.delete(id); clearTimeout(p.timer); p.reject(err); }
    };
    socket.on('error', (e) => fail(dialError(this.host, this.port, e)));
    socket.on('close', () => fail(new Error('EOF')));
    readFrames(socket, (body) => {
      let msg;
      try { msg = JSON.parse(body.toString()); } catch { return; }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error !== undefined) p.reject(new Error(msg.error)); else p.resolve(msg.result);
    });
  }

  call(method, params, timeoutMs = 1000) {
    this.connect();
    const socket = this.socket;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // A stalled peer (frozen or partitioned) must not keep a half-open socket forever.
        if (this.socket === socket) { this.socket = null; socket.destroy(); }
        reject(new Error(`rpc error: timeout calling ${method} on ${this.host}:${this.port}`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, socket });
      socket.write(frame(Buffer.from(JSON.stringify({ id, method, params }))));
    });
  }

  close() {
    if (this.socket) this.socket.destroy();
    this.socket = null;
  }
}

/** Keeps one RpcClient per address. */
export class RpcPool {
  constructor() { this.clients = new Map(); }
  get(addr) {
    let c = this.clients.get(addr);
    if (!c) {
      const i = addr.lastIndexOf(':');
      c = new RpcClient(addr.slice(0, i), Number(addr.slice(i + 1)));
      this.clients.set(addr, c);
    }
    return c;
  }
  call(addr, method, params, timeoutMs) { return this.get(addr).call(method, params, timeoutMs); }
  closeAll() { for (const c of this.clients.values()) c.close(); this.clients.clear(); }
}
