import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';
import { ConfigError } from '../errors.js';
import type { Secret } from '../shell/secret.js';
import type { CaMaterial } from './certificate-authority.js';
import { normaliseIp, parseCertificate } from './certificate-facts.js';
import { DAY_MS, DEFAULT_DOMAIN, SERVER_CERT_VALIDITY_DAYS, serverName } from './consul-conventions.js';
import { checkCaMaterial, IN_MEMORY_CA } from './ca-material-check.js';
import { EC_P256, generateP256KeyPair, privateKeyPem, subjectKeyId } from './ec-keys.js';
import { isIssuedBy, namesOutsideConstraints } from './issuer-checks.js';
import { pemText } from './pem-text.js';
import { serialNumberHex, systemRandom, type RandomSource } from './random-source.js';
import { loadX509 } from './x509-library.js';

/** What `consul tls cert create -server` is told: `-dc`, `-domain`, `-node`, the additional SANs. */
export interface ServerCertRequest {
  readonly dc: string;
  readonly domain?: string;
  /** Adds `<node>.server.<dc>.<domain>` (`-node`). */
  readonly node?: string;
  /** The node's own addresses (`-additional-ipaddress`). */
  readonly ipAddresses?: readonly string[];
  readonly dnsNames?: readonly string[];
}

export interface SubjectAltNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** The SANs in Consul's order: the additional names, the node's name, `server.<dc>.<domain>`, `localhost`; the additional addresses, `127.0.0.1`. */
export function serverCertSans(req: ServerCertRequest): SubjectAltNames {
  const domain = req.domain ?? DEFAULT_DOMAIN;
  const name = serverName(req.dc, domain);
  const dnsNames = [...(req.dnsNames ?? []), ...(req.node ? [`${req.node}.${name}`] : []), name, 'localhost'];
  const ipAddresses = [...(req.ipAddresses ?? []), '127.0.0.1'];
  return {
    dnsNames: unique(dnsNames.map((n) => n.toLowerCase())),
    ipAddresses: unique(ipAddresses.map(normaliseIp)),
  };
}

export interface IssueOptions {
  readonly days?: number;
  readonly now?: Date;
  readonly random?: RandomSource;
}

export interface IssuedCertificate {
  readonly certPem: string;
  readonly key: Secret;
}

/**
 * A server certificate signed by `ca`, as `consul tls cert create -server` makes it: a fresh
 * P-256 key, `CN=server.<dc>.<domain>`, server and client auth (servers dial each other). Like
 * Consul it checks the result against the CA before handing it out; names the CA's constraints
 * forbid are refused before anything is signed.
 */
export async function createServerCert(
  ca: CaMaterial,
  req: ServerCertRequest,
  o: IssueOptions = {},
): Promise<IssuedCertificate> {
  const lib = loadX509();
  const { x509 } = lib;
  const name = serverName(req.dc, req.domain ?? DEFAULT_DOMAIN);
  const where = `server certificate ${name}`;
  const issuer = await checkCaMaterial(lib, ca, IN_MEMORY_CA);
  if (!issuer.signingKey) {
    throw new ConfigError([
      { file: 'the CA', message: 'drover has its certificate but not its key, so it makes no certificates' },
    ]);
  }
  const sans = checkedSans(req, where);
  const outside = namesOutsideConstraints(sans.dnsNames, issuer.parsed.facts);
  if (outside.length > 0) {
    throw new ConfigError([
      {
        file: where,
        message:
          `${outside.join(', ')} outside the CA's name constraints (${issuer.parsed.facts.permittedDnsDomains.join(', ')}); ` +
          'use a domain the CA permits, or a CA made without -name-constraint',
      },
    ]);
  }
  const now = o.now ?? new Date();
  const keys = await generateP256KeyPair();
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectKeyIdentifierExtension(await subjectKeyId(keys.publicKey)),
    new x509.SubjectAlternativeNameExtension([
      ...sans.dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...sans.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ]),
  ];
  // Go copies the parent's subject key id into the child; a CA without one gets no AKID.
  if (issuer.parsed.facts.subjectKeyId) {
    extensions.push(new x509.AuthorityKeyIdentifierExtension(issuer.parsed.facts.subjectKeyId));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumberHex(o.random ?? systemRandom),
    subject: `CN=${name}`,
    issuer: issuer.parsed.cert.subjectName,
    notBefore: now,
    notAfter: new Date(now.getTime() + (o.days ?? SERVER_CERT_VALIDITY_DAYS) * DAY_MS),
    signingAlgorithm: EC_P256,
    publicKey: keys.publicKey,
    signingKey: issuer.signingKey,
    extensions,
  });
  const issued = await parseCertificate(lib, pemText(cert), where);
  if (!(await isIssuedBy(issued, issuer.parsed))) {
    throw new ConfigError([{ file: where, message: 'does not verify against the CA that signed it' }]);
  }
  return { certPem: pemText(cert), key: privateKeyPem(keys.privateKey) };
}

function checkedSans(req: ServerCertRequest, where: string): SubjectAltNames {
  const bad = (req.ipAddresses ?? []).filter((ip) => isIP(ip) === 0);
  if (bad.length > 0) {
    throw new ConfigError([{ file: where, message: `not an IP address: ${bad.join(', ')}` }]);
  }
  return serverCertSans(req);
}

const unique = (items: readonly string[]): string[] => [...new Set(items)];
