// A socket whose first bytes were already read (to tell TLS from plaintext), as a Duplex that
// yields them again. node:tls wraps a net.Socket by its handle and would miss those bytes; any
// other Duplex it reads through streams, so the TLS handshake sees the whole ClientHello.
import { Duplex } from 'node:stream';

export function replay(socket, first) {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  if (first.length) d.push(first);
  socket.on('data', (c) => {
    if (!d.push(c)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  socket.on('error', (e) => d.destroy(e));
  // What node's http and tls servers read from or call on their connection's socket.
  d.remoteAddress = socket.remoteAddress;
  d.remotePort = socket.remotePort;
  d.remoteFamily = socket.remoteFamily;
  d.localAddress = socket.localAddress;
  d.localPort = socket.localPort;
  d.setNoDelay = (v) => socket.setNoDelay(v);
  d.setKeepAlive = (...a) => socket.setKeepAlive(...a);
  d.setTimeout = (ms, cb) => {
    socket.setTimeout(ms, cb);
    return d;
  };
  d.ref = () => socket.ref();
  d.unref = () => socket.unref();
  return d;
}
