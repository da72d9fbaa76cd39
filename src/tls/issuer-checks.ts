import type { CertificateFacts, ParsedCertificate } from './certificate-facts.js';

/**
 * Whether `ca` issued `leaf`: the issuer name is the CA's subject and the CA's key made the
 * signature. A renewed CA with the same name but a new key does not count: certificates it did
 * not sign are not trusted by agents that were given only the new CA.
 */
export async function isIssuedBy(leaf: ParsedCertificate, ca: ParsedCertificate): Promise<boolean> {
  if (leaf.cert.issuerName.toString() !== ca.cert.subjectName.toString()) return false;
  return leaf.cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true });
}

/**
 * DNS names the CA's name constraints forbid (RFC 5280 4.2.1.10: a name is within `d` when it is
 * `d` or ends in `.d`). Addresses are not checked: Consul's constraints hold only DNS names, so
 * IP SANs stay allowed, as Go and OpenSSL also decide.
 */
export function namesOutsideConstraints(dnsNames: readonly string[], ca: CertificateFacts): string[] {
  return dnsNames.filter((name) => {
    const excluded = ca.excludedDnsDomains.some((d) => withinDomain(name, d));
    const permitted =
      ca.permittedDnsDomains.length === 0 || ca.permittedDnsDomains.some((d) => withinDomain(name, d));
    return excluded || !permitted;
  });
}

function withinDomain(name: string, domain: string): boolean {
  const d = domain.replace(/^\./, '').toLowerCase();
  const n = name.toLowerCase();
  return d === '' || n === d || n.endsWith(`.${d}`);
}
