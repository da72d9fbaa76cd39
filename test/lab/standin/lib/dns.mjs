// A minimal DNS responder (UDP and TCP) for the Consul domain: A records only,
// NXDOMAIN for unknown names, empty NOERROR for other types of known names.
import dgram from 'node:dgram';
import net from 'node:net';

function readName(buf, offset) {
  const labels = [];
  let pos = offset;
  for (let guard = 0; guard < 128; guard++) {
    const len = buf[pos];
    if (len === undefined) throw new Error('truncated');
    if (len === 0) return { name: labels.join('.'), end: pos + 1 };
    if ((len & 0xc0) === 0xc0) throw new Error('compressed question name');
    labels.push(buf.subarray(pos + 1, pos + 1 + len).toString('latin1'));
    pos += 1 + len;
  }
  throw new Error('name too long');
}

function encodeName(name) {
  const parts = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/** Builds the answer to one query packet; resolve(name, qtype) -> { rcode, addresses } (or a Promise of it). */
export async function answer(query, resolve) {
  if (query.length < 12) return null;
  const id = query.readUInt16BE(0);
  const flags = query.readUInt16BE(2);
  const qd = query.readUInt16BE(4);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  let q;
  try {
    if (qd !== 1) throw new Error('one question expected');
    q = readName(query, 12);
  } catch {
    head.writeUInt16BE(0x8000 | (flags & 0x0100) | 1, 2); // FORMERR
    return head;
  }
  const qtype = query.readUInt16BE(q.end);
  const question = query.subarray(12, q.end + 4);
  let result;
  try { result = await resolve(q.name.toLowerCase(), qtype); } catch { result = { rcode: 2, addresses: [] }; } // SERVFAIL
  const { rcode, addresses } = result;
  const answers = qtype === 1 || qtype === 255 ? addresses : [];
  // QR, AA, RD copied from the query.
  head.writeUInt16BE(0x8000 | 0x0400 | (flags & 0x0100) | rcode, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  const owner = encodeName(q.name);
  const rrs = answers.map((ip) => {
    const rr = Buffer.alloc(10);
    rr.writeUInt16BE(1, 0); // A
    rr.writeUInt16BE(1, 2); // IN
    rr.writeUInt32BE(0, 4); // TTL 0, Consul's default
    rr.writeUInt16BE(4, 8);
    return Buffer.concat([owner, rr, Buffer.from(ip.split('.').map(Number))]);
  });
  return Buffer.concat([head, question, ...rrs]);
}

export async function startDns(addresses, port, resolve) {
  const closers = [];
  for (const address of addresses) {
    const udp = dgram.createSocket('udp4');
    udp.on('message', async (msg, rinfo) => {
      const out = await answer(msg, resolve);
      if (out) udp.send(out, rinfo.port, rinfo.address, () => {});
    });
    await new Promise((res, rej) => { udp.once('error', rej); udp.bind(port, address, () => { udp.off('error', rej); res(); }); });
    udp.on('error', () => {});
    const tcp = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.setTimeout(5000, () => socket.destroy());
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          answer(msg, resolve).then((out) => {
            if (!out || socket.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length);
            socket.write(Buffer.concat([len, out]));
          });
        }
      });
    });
    await new Promise((res, rej) => { tcp.once('error', rej); tcp.listen(port, address, () => { tcp.off('error', rej); res(); }); });
    closers.push(() => { udp.close(); tcp.close(); });
  }
  return () => closers.forEach((c) => c());
}
