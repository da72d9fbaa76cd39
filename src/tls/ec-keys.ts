import { createHash, createPrivateKey, createPublicKey, KeyObject, webcrypto } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { Secret } from '../shell/secret.js';

/** Consul's default key type: ECDSA on P-256, signatures with SHA-256. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export const generateP256KeyPair = (): Promise<webcrypto.CryptoKeyPair> =>
  webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);

/**
 * Consul's key id: SHA-256 of the DER public key (connect.KeyId). The library's own helper uses
 * SHA-1; any unique id verifies, but the same one keeps drover's certificates like Consul's.
 */
export async function subjectKeyId(publicKey: webcrypto.CryptoKey): Promise<string> {
  const spki = await webcrypto.subtle.exportKey('spki', publicKey);
  return createHash('sha256').update(Buffer.from(spki)).digest('hex');
}

/** `-----BEGIN EC PRIVATE KEY-----` (SEC1), as Consul writes keys (x509.MarshalECPrivateKey). */
export function privateKeyPem(key: webcrypto.CryptoKey): Secret {
  return new Secret(KeyObject.from(key).export({ type: 'sec1', format: 'pem' }) as string);
}

/** The DER SubjectPublicKeyInfo of a private key's public half, to match a key with its certificate. */
export const publicKeyDer = (privateKey: Secret, where: string): Buffer =>
  createPublicKey(parsePrivateKey(privateKey, where)).export({ type: 'spki', format: 'der' });

/**
 * A P-256 private key in PEM (SEC1 or PKCS#8) as a WebCrypto signing key. `where` names it in
 * errors; no error carries the key's text or the parser's own error (which might quote it).
 */
export async function importSigningKey(pem: Secret, where: string): Promise<webcrypto.CryptoKey> {
  const key = parsePrivateKey(pem, where);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const what = key.asymmetricKeyType === 'ec' ? `an EC key on ${curve}` : `a ${key.asymmetricKeyType} key`;
    throw keyProblem(
      where,
      `is ${what}; drover signs with ECDSA P-256 keys (what \`consul tls ca create\` makes)`,
    );
  }
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', pkcs8, EC_P256, false, ['sign']);
}

function parsePrivateKey(pem: Secret, where: string): KeyObject {
  // PKCS#8 and the legacy OpenSSL form of an encrypted key; OpenSSL's error for them is obscure.
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem.reveal())) {
    throw keyProblem(
      where,
      'is encrypted; drover needs it unencrypted (in a 0600 file or a secret variable)',
    );
  }
  try {
    return createPrivateKey(pem.reveal());
  } catch {
    throw keyProblem(where, 'is not a PEM private key');
  }
}

const keyProblem = (where: string, message: string): ConfigError =>
  new ConfigError([{ file: where, message }]);
