import { X509Certificate } from 'node:crypto';
import { certificatesOf } from './ca-bundle.js';
import { normaliseIp, parseCertificate, type CertificateFacts } from './certificate-facts.js';
import { DAY_MS, DEFAULT_DOMAIN, serverName } from './consul-conventions.js';
import { namesOutsideConstraints } from './issuer-checks.js';
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
 * Why a server's certificate must be replaced, empty when it can stay: it must be for the name
 * the server needs, issued by the current CA (by one of `caPem`'s certificates when it is a
 * bundle: a CA drover only trusts and does not issue with), valid now and for more than
 * `renewWithinDays`, with exactly the SANs the server needs now (an address that changed, or a
 * certificate of another datacenter, makes it unfit). Synchronous, on Node's own X.509, so a module's pure plan and
 * assessServerCert judge by the same rules.
 */
export function renewalReasons(
  certPem: string,
  caPem: string,
  want: ServerCertRequest,
  o: AssessOptions = {},
): string[] {
  const leaf = new X509Certificate(certPem);
  const cas = certificatesOf(caPem).map((pem) => new X509Certificate(pem));
  const name = serverName(want.dc, want.domain ?? DEFAULT_DOMAIN);
  const now = o.now ?? new Date();
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  const daysLeft = wholeDays(notAfter, now);
  const reasons: string[] = [];
  const cn = commonNameOf(leaf.subject);
  if (cn !== name) reasons.push(`it is for ${cn ?? 'no name'}, not ${name}`);
  // A renewed CA with the same name but a new key does not count: agents given only the new CA
  // do not trust what the old key signed.
  if (!cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) {
    const names = cas.map((ca) => commonNameOf(ca.subject) ?? ca.fingerprint256).join(', ');
    reasons.push(`it was not issued by the current CA (${names})`);
  }
  if (now < notBefore) reasons.push(`it is not valid before ${day(notBefore)}`);
  if (daysLeft < 0) reasons.push(`it expired on ${day(notAfter)}`);
  else if (daysLeft < (o.renewWithinDays ?? RENEW_WITHIN_DAYS)) {
    reasons.push(`it expires in ${daysLeft} days (${day(notAfter)})`);
  }
  const sanChange = sanDifference(sansOf(leaf), serverCertSans(want));
  if (sanChange) reasons.push(sanChange);
  return reasons;
}

/**
 * renewalReasons, plus what only a full X.509 parser sees (names outside the CA's name
 * constraints), with the certificate's facts: for reports that show a certificate in detail.
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
  const reasons = renewalReasons(certPem, caPem, want, o);
  const outside = namesOutsideConstraints(facts.dnsNames, ca.facts);
  if (outside.length > 0) reasons.push(`${outside.join(', ')} outside the CA's name constraints`);
  return { facts, daysLeft: wholeDays(facts.notAfter, o.now ?? new Date()), reasons };
}

/** Whole days from `now` to `then`; negative once past. */
export const wholeDays = (then: Date, now: Date): number =>
  Math.floor((then.getTime() - now.getTime()) / DAY_MS);

const commonNameOf = (subject: string): string | undefined => /(?:^|\n)CN=([^\n]*)/.exec(subject)?.[1];

/** `DNS:a, IP Address:b` as Node prints SANs, as the names themselves. */
function sansOf(leaf: X509Certificate): string[] {
  return (
    (leaf.subjectAltName ?? '')
      .split(', ')
      // Consul's certificates carry DNS names and addresses only; other types are not compared.
      .filter((entry) => entry.startsWith('DNS:') || entry.startsWith('IP Address:'))
      .map((entry) =>
        entry.startsWith('IP Address:')
          ? normaliseIp(entry.slice('IP Address:'.length))
          : entry.replace(/^DNS:/, '').toLowerCase(),
      )
  );
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
