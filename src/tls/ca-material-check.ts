import type { webcrypto } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { certificatesOf } from './ca-bundle.js';
import type { CaMaterial } from './certificate-authority.js';
import { parseCertificate, type ParsedCertificate } from './certificate-facts.js';
import { importSigningKey, publicKeyDer } from './ec-keys.js';
import type { X509Library } from './x509-library.js';

/** Where a CA's two halves came from, for messages (file paths, variable names; never contents). */
export interface CaOrigin {
  readonly cert: string;
  readonly key: string;
}

export const IN_MEMORY_CA: CaOrigin = { cert: 'the CA certificate', key: 'the CA key' };

export interface CheckedCa {
  /** The issuer: the certificate the key belongs to; without a key, the first certificate. */
  readonly parsed: ParsedCertificate;
  /** The issuer's PEM, alone. */
  readonly issuerPem: string;
  /** Every certificate of the text, each a CA: a bundle while a CA changes, else one. */
  readonly certificates: readonly string[];
  /** Present when the material has a key: it is the issuer's own. */
  readonly signingKey?: webcrypto.CryptoKey;
}

/**
 * Every certificate of the CA text is a CA, and the key (when there is one) belongs to one of
 * them, the issuer. Several certificates are a trust bundle: the operator's own CA change, the
 * old and the new CA side by side.
 */
export async function checkCaMaterial(
  lib: X509Library,
  ca: CaMaterial,
  origin: CaOrigin,
): Promise<CheckedCa> {
  const pems = certificatesOf(ca.certPem);
  if (pems.length === 0) throw new ConfigError([{ file: origin.cert, message: 'is not a PEM certificate' }]);
  const parsed: ParsedCertificate[] = [];
  for (const [i, pem] of pems.entries()) {
    const where = pems.length > 1 ? `${origin.cert} (certificate ${i + 1} of ${pems.length})` : origin.cert;
    const one = await parseCertificate(lib, pem, where);
    if (!one.facts.isCa) {
      throw new ConfigError([
        { file: where, message: 'is not a CA certificate (basicConstraints CA:FALSE)' },
      ]);
    }
    parsed.push(one);
  }
  if (!ca.key)
    return { parsed: parsed[0] as ParsedCertificate, issuerPem: pems[0] as string, certificates: pems };
  const signingKey = await importSigningKey(ca.key, origin.key);
  const publicKey = publicKeyDer(ca.key, origin.key);
  const issuer = parsed.findIndex((p) => publicKey.equals(Buffer.from(p.cert.publicKey.rawData)));
  if (issuer < 0) {
    const which = pems.length > 1 ? 'of any certificate in' : 'of';
    throw new ConfigError([{ file: origin.key, message: `is not the key ${which} ${origin.cert}` }]);
  }
  return {
    parsed: parsed[issuer] as ParsedCertificate,
    issuerPem: pems[issuer] as string,
    certificates: pems,
    signingKey,
  };
}
