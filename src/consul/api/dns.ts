import { randomInt } from 'node:crypto';
import type { HostChannel } from '../../remote/step.js';
import { ConsulOutputError } from './output-error.js';

/**
 * DNS lookups against Consul's DNS interface (port 8600), sent as DNS over TCP (RFC 1035 4.2.2:
 * a two-byte length, then the message) through the host's SSH connection. Nothing has to be
 * installed on the host or in the container (no dig, no nslookup), and TCP gives no truncation.
 */
export const DEFAULT_DNS_PORT = 8600;

export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};

export interface DnsAnswer {
  rcode: number;
  /** IPv4 addresses of the A records in the answer section, in the order given. */
  addresses: string[];
}

/** An A query for `name` with recursion desired, as bytes (without the TCP length prefix). */
export function encodeQuery(name: string, id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // one question
  const labels = name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length === 0 || bytes.length > 63) throw new Error(`not a DNS name: ${JSON.stringify(name)}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  return Buffer.concat([header, ...parts, Buffer.from([0, 0, 1, 0, 1])]); // root, QTYPE A, QCLASS IN
}

/** Skips a (possibly compressed) name at `pos`; returns the offset after it. */
function skipName(msg: Buffer, pos: number): number {
  for (let guard = 0; guard < 128; guard++) {
    const len = msg[pos];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2;
    pos += 1 + len;
  }
  throw new Error('name too long');
}

/** Parses a response to a query with `id`: its rcode and A records. */
export function decodeResponse(msg: Buffer, id: number): DnsAnswer {
  if (msg.length < 12) throw new Error(`response too short (${msg.length} bytes)`);
  if (msg.readUInt16BE(0) !== id) throw new Error('response to another query (id mismatch)');
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) === 0) throw new Error('not a response (QR is 0)');
  const rcode = flags & 0x000f;
  const questions = msg.readUInt16BE(4);
  const answers = msg.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < questions; i++) pos = skipName(msg, pos) + 4;
  const addresses: string[] = [];
  for (let i = 0; i < answers; i++) {
    pos = skipName(msg, pos);
    if (pos + 10 > msg.length) throw new Error('truncated answer');
    const type = msg.readUInt16BE(pos);
    const rdlength = msg.readUInt16BE(pos + 8);
    const rdata = msg.subarray(pos + 10, pos + 10 + rdlength);
    if (rdata.length !== rdlength) throw new Error('truncated answer data');
    if (type === 1 && rdlength === 4) addresses.push([...rdata].join('.'));
    pos += 10 + rdlength;
  }
  return { rcode, addresses };
}

/** The whole length-prefixed message has arrived. */
export const tcpMessageComplete = (received: Buffer): boolean =>
  received.length >= 2 && received.length >= 2 + received.readUInt16BE(0);

export interface DnsRoute {
  channel: HostChannel;
  /** DNS server address as seen from the transport's host (127.0.0.1 or an agent's bind_addr). */
  host: string;
  port?: number;
  timeoutSeconds?: number;
}

/** Asks `route` for the A records of `name`. Rejects when no DNS answer came back at all. */
export async function lookupA(route: DnsRoute, name: string): Promise<DnsAnswer> {
  const port = route.port ?? DEFAULT_DNS_PORT;
  const source = `DNS ${name} A @${route.host}:${port} via ${route.channel.host}`;
  const tcp = route.channel.tcpExchange?.bind(route.channel);
  if (!tcp) throw new ConsulOutputError(source, 'this connection cannot open TCP channels');
  const id = randomInt(0, 0x10000);
  const query = encodeQuery(name, id);
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(query.length);
  let received: Buffer;
  try {
    received = await tcp({
      host: route.host,
      port,
      send: Buffer.concat([prefix, query]),
      complete: tcpMessageComplete,
      timeoutSeconds: route.timeoutSeconds ?? 5,
      maxBytes: 65_537,
    });
  } catch (err) {
    throw new ConsulOutputError(source, `no answer: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  try {
    return decodeResponse(received.subarray(2, 2 + received.readUInt16BE(0)), id);
  } catch (err) {
    throw new ConsulOutputError(source, `bad answer: ${err instanceof Error ? err.message : String(err)}`);
  }
}
