// Just enough X.509 (DER) to be a certificate authority with node:crypto: the stand-in's
// "Connect CA" signs the certificates auto_encrypt clients ask for, as Consul's built-in CA
// provider does. ECDSA P-256 with SHA-256, as Consul's defaults (connect.GeneratePrivateKey).
import crypto from 'node:crypto';
import net from 'node:net';

const der = (tag, ...parts) => {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const seq = (...p) => der(0x30, ...p);
const set = (...p) => der(0x31, ...p);
const int = (buf) => der(0x02, buf[0] & 0x80 ? Buffer.concat([Buffer.from([0]), buf]) : buf);
const bool = (v) => der(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (b) => der(0x04, b);
const bits = (b) => der(0x03, Buffer.from([0]), b);
const utf8 = (s) => der(0x0c, Buffer.from(s, 'utf8'));

function oid(dotted) {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (let v of rest) {
    const stack = [v & 0x7f];
    while ((v >>= 7)) stack.unshift((v & 0x7f) | 0x80);
    out.push(...stack);
  }
  return der(0x06, Buffer.from(out));
}

function time(d) {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return der(0x17, Buffer.from(s));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const name = (cn) => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const ext = (id, critical, value) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
const keyId = (spki) => crypto.createHash('sha256').update(spki).digest().subarray(0, 20);

function altNames({ dns = [], ips = [], uris = [] }) {
  const names = [
    ...uris.map((u) => der(0x86, Buffer.from(u))),
    ...dns.map((d) => der(0x82, Buffer.from(d))),
    ...ips.filter((ip) => net.isIPv4(ip)).map((ip) => der(0x87, Buffer.from(ip.split('.').map(Number)))),
  ];
  return seq(...names);
}

/**
 * A certificate as PEM. subject/issuer are common names; publicKey is the subject's KeyObject,
 * signer the issuer's private KeyObject (the same key pair for a self-signed root).
 */
export function makeCertificate({
  subject,
  issuer,
  publicKey,
  signer,
  issuerPublicKey,
  ca = false,
  days,
  sans,
}) {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const issuerSpki = (issuerPublicKey ?? publicKey).export({ type: 'spki', format: 'der' });
  const serial = crypto.randomBytes(16);
  serial[0] &= 0x7f;
  const now = new Date();
  const extensions = [
    ext('2.5.29.19', true, seq(...(ca ? [bool(true)] : []))),
    // keyUsage: CA keyCertSign|cRLSign|digitalSignature; leaf digitalSignature|keyEncipherment
    ext('2.5.29.15', true, ca ? bits(Buffer.from([0x86])) : bits(Buffer.from([0xa0]))),
    ext('2.5.29.14', false, octets(keyId(spki))),
    ext('2.5.29.35', false, seq(der(0x80, keyId(issuerSpki)))),
  ];
  if (!ca) extensions.push(ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))));
  if (sans) extensions.push(ext('2.5.29.17', false, altNames(sans)));
  const tbs = seq(
    der(0xa0, int(Buffer.from([2]))),
    int(serial),
    ECDSA_SHA256,
    name(issuer),
    seq(time(new Date(now.getTime() - 60000)), time(new Date(now.getTime() + days * 86400e3))),
    name(subject),
    Buffer.from(spki),
    der(0xa3, seq(...extensions)),
  );
  const signature = crypto.sign('sha256', tbs, signer);
  const cert = seq(tbs, ECDSA_SHA256, bits(signature));
  return `-----BEGIN CERTIFICATE-----\n${cert
    .toString('base64')
    .match(/.{1,64}/g)
    .join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** A new ECDSA P-256 key pair: { privateKey, publicKey } KeyObjects. */
export function newKeyPair() {
  return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
}
