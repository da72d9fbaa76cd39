// Length-prefixed frames over TCP: the server RPC port (8300) speaks JSON request/response
// on persistent connections; the gossip port uses one sealed frame each way per connection.
// On 8300 a connection may start TLS, as Consul's RPC does (agent/consul/rpc.go): the first
// byte tells them apart. A plaintext frame starts with its length (below 64 MiB, so 0x00-0x03),
// a TLS ClientHello with 0x16 (RPCTLS here), and RPC_TLS_INSECURE (7, Consul's RPCTLSInsecure)
// is TLS without a client certificate, for AutoEncrypt.Sign only.
import net from 'node:net';
import tls from 'node:tls';
import { tlsErrorText } from './tls-errors.mjs';
import { replay } from './tls-stream.mjs';

const TLS_HANDSHAKE = 0x16;
const RPC_TLS_INSECURE = 0x07;
/** The only method the insecure TLS path serves (tlsutil IncomingInsecureRPCConfig). */
const INSECURE_METHODS = new Set(['AutoEncrypt.Sign']);

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
  const tlsText = tlsErrorText(err, err.host ?? host, () => err.cert);
  if (tlsText) return new Error(tlsText);
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

/**
 * One call over the insecure TLS path (RPC_TLS_INSECURE, then a TLS handshake without a client
 * certificate): what an auto_encrypt client uses before it has a certificate of its own.
 */
export function callInsecureTls(host, port, method, params, tlsOptions, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    let done = false;
    const raw = net.connect({ host, port });
    let conn = null;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      conn?.destroy();
      raw.destroy();
      if (err) reject(err); else resolve(value);
    };
    const timer = setTimeout(() => finish(dialError(host, port, { code: 'ETIMEDOUT' })), timeoutMs);
    raw.on('error', (e) => finish(dialError(host, port, e)));
    raw.on('connect', () => {
      raw.write(Buffer.from([RPC_TLS_INSECURE]));
      conn = tls.connect({ socket: raw, ...tlsOptions });
      conn.on('error', (e) => finish(dialError(host, port, e)));
      conn.on('close', () => finish(new Error('EOF')));
      conn.write(frame(Buffer.from(JSON.stringify({ id: 1, method, params }))));
      readFrames(conn, (body) => {
        let msg;
        try { msg = JSON.parse(body.toString()); } catch { finish(new Error('rpc: bad reply')); return; }
        if (msg.error !== undefined) finish(new Error(msg.error)); else finish(null, msg.result);
      });
    });
  });
}

function serveFrames(conn, handler, insecure) {
  readFrames(conn, async (body) => {
    let msg;
    try { msg = JSON.parse(body.toString()); } catch { conn.destroy(); return; }
    let reply;
    try {
      if (insecure && !INSECURE_METHODS.has(msg.method)) throw new Error(`rpc: can't find service ${msg.method}`);
      reply = { id: msg.id, result: await handler(msg.method, msg.params ?? {}, conn.remoteAddress) };
    } catch (e) { reply = { id: msg.id, error: e.message }; }
    if (!conn.destroyed) conn.write(frame(Buffer.from(JSON.stringify(reply))));
  });
}

/**
 * JSON RPC server: handler(method, params, remoteAddress) -> result (may be a Promise).
 * tlsState() gives the current { options (node TLS server options, null without a cert),
 * verifyIncoming }: with verify_incoming a plaintext connection is logged and closed, as Consul
 * does; without it both plaintext and TLS are served (what a rolling TLS migration needs).
 */
export function createRpcServer(handler, onError, { tlsState = () => null, logger } = {}) {
  const plain = new Set();
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (first) => {
      socket.pause();
      const t = tlsState();
      if (first[0] === TLS_HANDSHAKE || first[0] === RPC_TLS_INSECURE) {
        if (!t?.options) { socket.destroy(); return; }
        const insecure = first[0] === RPC_TLS_INSECURE;
        const options = insecure ? { ...t.options, requestCert: false, rejectUnauthorized: false } : t.options;
        const conn = new tls.TLSSocket(replay(socket, insecure ? first.subarray(1) : first), { isServer: true, ...options });
        conn.on('error', () => conn.destroy());
        serveFrames(conn, handler, insecure);
        return;
      }
      if (t?.verifyIncoming) {
        logger?.warn('agent.server.rpc', 'Non-TLS connection attempted with VerifyIncoming set', { conn: `from=${socket.remoteAddress}:${socket.remotePort}` });
        socket.destroy();
        return;
      }
      plain.add(socket);
      socket.on('close', () => plain.delete(socket));
      socket.unshift(first);
      serveFrames(socket, handler, false);
      socket.resume();
    });
  });
  server.on('error', onError ?? (() => {}));
  // Called when verify_incoming is turned on by a reload: plaintext connections already open go too.
  server.dropPlaintext = () => { for (const s of plain) s.destroy(); };
  return server;
}

/** A persistent JSON RPC connection to one server; reconnects on the next call after a failure. */
export class RpcClient {
  /** tlsOptions() gives node TLS client options when this agent dials TLS (verify_outgoing), else null. */
  constructor(host, port, tlsOptions = () => null) {
    this.host = host;
    this.port = port;
    this.tlsOptions = tlsOptions;
    this.socket = null;
    this.nextId = 1;
    this.pending = new Map();
  }

  connect() {
    if (this.socket) return;
    const t = this.tlsOptions();
    const socket = t ? tls.connect({ host: this.host, port: this.port, ...t }) : net.connect({ host: this.host, port: this.port });
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
  constructor(tlsOptions = () => null) { this.clients = new Map(); this.tlsOptions = tlsOptions; }
  get(addr) {
    let c = this.clients.get(addr);
    if (!c) {
      const i = addr.lastIndexOf(':');
      c = new RpcClient(addr.slice(0, i), Number(addr.slice(i + 1)), this.tlsOptions);
      this.clients.set(addr, c);
    }
    return c;
  }
  call(addr, method, params, timeoutMs) { return this.get(addr).call(method, params, timeoutMs); }
  closeAll() { for (const c of this.clients.values()) c.close(); this.clients.clear(); }
}
