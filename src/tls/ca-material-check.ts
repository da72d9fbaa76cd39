import type { webcrypto } from 'node:crypto';
import { ConfigError } from '../errors.js';
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
  readonly parsed: ParsedCertificate;
  /** Present when the material has a key: it is the certificate's own. */
  readonly signingKey?: webcrypto.CryptoKey;
}

/** The CA certificate is a CA, and the key (when there is one) belongs to it. */
export async function checkCaMaterial(
  lib: X509Library,
  ca: CaMaterial,
  origin: CaOrigin,
): Promise<CheckedCa> {
  const parsed = await parseCertificate(lib, ca.certPem, origin.cert);
  if (!parsed.facts.isCa) {
    throw new ConfigError([
      { file: origin.cert, message: 'is not a CA certificate (basicConstraints CA:FALSE)' },
    ]);
  }
  if (!ca.key) return { parsed };
  const signingKey = await importSigningKey(ca.key, origin.key);
  if (!publicKeyDer(ca.key, origin.key).equals(Buffer.from(parsed.cert.publicKey.rawData))) {
    throw new ConfigError([{ file: origin.key, message: `is not the key of ${origin.cert}` }]);
  }
  return { parsed, signingKey };
}
