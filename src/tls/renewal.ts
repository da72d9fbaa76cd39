import { parseCertificate, type CertificateFacts } from './certificate-facts.js';
import { DAY_MS, DEFAULT_DOMAIN, serverName } from './consul-conventions.js';
import { isIssuedBy, namesOutsideConstraints } from './issuer-checks.js';
import { serverCertSans, type ServerCertRequest } from './server-certificate.js';
import { loadX509 } from './x509-library.js';

/** Renew this long before expiry: a month leaves room for a failed roll and a second try. */
export const RENEW_WITHIN_DAYS = 30;

export interface ServerCertAssessment {
  readonly facts: CertificateFacts;
  /** Whole days until `notAfter`; negative once expired. */
  readonly daysLeft: number;
  /** Why the certificate must be replaced; empty when it can stay. */
  readonly reasons: readonly string[];
}

export interface AssessOptions {
  readonly now?: Date;
  readonly renewWithinDays?: number;
}

/**
 * Whether a server's certificate still fits: issued by the current CA (for the name it must
 * carry, within the CA's constraints), valid for more than `renewWithinDays`, and with exactly
 * the SANs the server needs now (an address that changed, or a certificate of another datacenter,
 * makes it unfit).
 */
export async function assessServerCert(
  certPem: string,
  caPem: string,
  want: ServerCertRequest,
  o: AssessOptions = {},
): Promise<ServerCertAssessment> {
  const lib = loadX509();
  const name = serverName(want.dc, want.domain ?? DEFAULT_DOMAIN);
  const leaf = await parseCertificate(lib, certPem, `server certificate ${name}`);
  const ca = await parseCertificate(lib, caPem, 'the CA certificate');
  const { facts } = leaf;
  const now = o.now ?? new Date();
  const daysLeft = Math.floor((facts.notAfter.getTime() - now.getTime()) / DAY_MS);
  const reasons: string[] = [];

  if (facts.commonName !== name) reasons.push(`it is for ${facts.commonName ?? 'no name'}, not ${name}`);
  if (!(await isIssuedBy(leaf, ca))) {
    reasons.push(
      `it was not issued by the current CA (${ca.facts.commonName ?? ca.facts.fingerprintSha256})`,
    );
  }
  const outside = namesOutsideConstraints(facts.dnsNames, ca.facts);
  if (outside.length > 0) reasons.push(`${outside.join(', ')} outside the CA's name constraints`);
  if (now < facts.notBefore) reasons.push(`it is not valid before ${day(facts.notBefore)}`);
  if (daysLeft < 0) reasons.push(`it expired on ${day(facts.notAfter)}`);
  else if (daysLeft < (o.renewWithinDays ?? RENEW_WITHIN_DAYS)) {
    reasons.push(`it expires in ${daysLeft} days (${day(facts.notAfter)})`);
  }
  const sanChange = sanDifference([...facts.dnsNames, ...facts.ipAddresses], serverCertSans(want));
  if (sanChange) reasons.push(sanChange);
  return { facts, daysLeft, reasons };
}

/**
 * Why a certificate's SANs are not the ones wanted (`lacks ..., still names ...`), or undefined
 * when they are the same set: the one wording for deploy's plan and the renewal decision.
 */
export function sanDifference(
  have: Iterable<string>,
  want: { dnsNames: readonly string[]; ipAddresses: readonly string[] },
): string | undefined {
  const present = new Set(have);
  const needed = new Set([...want.dnsNames, ...want.ipAddresses]);
  const missing = [...needed].filter((n) => !present.has(n));
  const extra = [...present].filter((n) => !needed.has(n));
  if (missing.length === 0 && extra.length === 0) return undefined;
  const parts = [
    ...(missing.length > 0 ? [`lacks ${missing.join(', ')}`] : []),
    ...(extra.length > 0 ? [`still names ${extra.join(', ')}`] : []),
  ];
  return `its SANs differ: it ${parts.join(' and ')}`;
}

const day = (d: Date): string => d.toISOString().slice(0, 10);
