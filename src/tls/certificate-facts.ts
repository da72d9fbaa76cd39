import { isIPv6 } from 'node:net';
import type * as X509 from '@peculiar/x509';
import { ConfigError } from '../errors.js';
import { loadX509, type X509Library } from './x509-library.js';

/** What `plan` shows of a certificate and what the renewal decision looks at. */
export interface CertificateFacts {
  readonly commonName: string | undefined;
  readonly issuerCommonName: string | undefined;
  /** Hex, as `openssl x509 -serial` prints it (lower case). */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly isCa: boolean;
  /** SHA-256 of the DER certificate, `AB:CD:...` as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprintSha256: string;
  readonly subjectKeyId: string | undefined;
  /** The issuing CA's subject key id: which CA made this certificate, without needing the CA. */
  readonly authorityKeyId: string | undefined;
  /** A CA's DNS name constraints (none: it may sign any name). */
  readonly permittedDnsDomains: readonly string[];
  readonly excludedDnsDomains: readonly string[];
}

export interface ParsedCertificate {
  readonly cert: X509.X509Certificate;
  readonly facts: CertificateFacts;
}

/** The facts of a PEM certificate; `where` names it in errors. */
export async function certificateFacts(pem: string, where: string): Promise<CertificateFacts> {
  return (await parseCertificate(loadX509(), pem, where)).facts;
}

export async function parseCertificate(
  lib: X509Library,
  pem: string,
  where: string,
): Promise<ParsedCertificate> {
  const { x509 } = lib;
  let cert: X509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pem);
  } catch {
    // The parser's message is dropped: it may quote the input, which could be a key pasted by mistake.
    throw new ConfigError([{ file: where, message: 'is not a PEM certificate' }]);
  }
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const constraints = dnsConstraints(lib, cert);
  const facts: CertificateFacts = {
    commonName: cert.subjectName.getField('CN')[0],
    issuerCommonName: cert.issuerName.getField('CN')[0],
    serialNumber: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => normaliseIp(n.value)),
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca === true,
    fingerprintSha256: colonHex(await cert.getThumbprint('SHA-256')),
    subjectKeyId: cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toLowerCase(),
    authorityKeyId: cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase(),
    ...constraints,
  };
  return { cert, facts };
}

function dnsConstraints({ asn1, AsnConvert }: X509Library, cert: X509.X509Certificate) {
  const ext = cert.getExtension(asn1.id_ce_nameConstraints);
  if (!ext) return { permittedDnsDomains: [], excludedDnsDomains: [] };
  const nc = AsnConvert.parse(ext.value, asn1.NameConstraints);
  const dns = (trees: readonly { base: { dNSName?: string } }[] | undefined): string[] =>
    (trees ?? []).flatMap((t) => (t.base.dNSName !== undefined ? [t.base.dNSName.toLowerCase()] : []));
  return { permittedDnsDomains: dns(nc.permittedSubtrees), excludedDnsDomains: dns(nc.excludedSubtrees) };
}

/** One spelling per address, so that `::1` in an inventory equals `0:0:0:0:0:0:0:1` in a certificate. */
export function normaliseIp(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]`).hostname.slice(1, -1) : ip;
}

const colonHex = (bytes: ArrayBuffer): string =>
  Buffer.from(bytes)
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
