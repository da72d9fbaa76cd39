import { X509Certificate } from 'node:crypto';

/**
 * A trust bundle: several CA certificates in one PEM file, as Consul's `ca_file` takes them (Go's
 * CertPool.AppendCertsFromPEM reads every block). While a CA changes, agents trust the old and
 * the new one through such a file.
 */

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Each certificate of a PEM text, with the final newline Go's pem.Encode writes. */
export const certificatesOf = (text: string): string[] =>
  (text.match(PEM_CERTIFICATE) ?? []).map((block) => `${block}\n`);

/** The same certificate, whatever the surrounding whitespace. */
export const sameCertificate = (a: string, b: string): boolean =>
  new X509Certificate(a).fingerprint256 === new X509Certificate(b).fingerprint256;

/**
 * The distinct certificates of `pems` as one text, oldest first (then by fingerprint): the order
 * depends only on the set, so the file on an agent changes only when the set does.
 */
export function trustBundle(pems: Iterable<string>): string {
  const byPrint = new Map<string, { pem: string; notBefore: number }>();
  for (const text of pems) {
    for (const pem of certificatesOf(text)) {
      const cert = new X509Certificate(pem);
      byPrint.set(cert.fingerprint256, { pem, notBefore: new Date(cert.validFrom).getTime() });
    }
  }
  return [...byPrint.entries()]
    .sort(([pa, a], [pb, b]) => a.notBefore - b.notBefore || pa.localeCompare(pb))
    .map(([, { pem }]) => pem)
    .join('');
}
