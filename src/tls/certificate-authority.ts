import type * as X509 from '@peculiar/x509';
import type { Secret } from '../shell/secret.js';
import { CA_VALIDITY_DAYS, caCommonName, caSubject, DAY_MS, DEFAULT_DOMAIN } from './consul-conventions.js';
import { EC_P256, generateP256KeyPair, privateKeyPem, subjectKeyId } from './ec-keys.js';
import { pemText } from './pem-text.js';
import { serialNumberHex, systemRandom, type RandomSource } from './random-source.js';
import { loadX509, type X509Library } from './x509-library.js';

/** A CA as drover holds it: the certificate (public) and, unless the CA is someone else's, its key. */
export interface CaMaterial {
  readonly certPem: string;
  readonly key?: Secret;
}

export interface CreateCaOptions {
  /** Consul's DNS domain (`-domain`): what a name-constrained CA permits. */
  readonly domain?: string;
  /** Replaces `Consul Agent CA <serial>` (`-common-name`). */
  readonly commonName?: string;
  /**
   * `-name-constraint`: the CA may only sign DNS names under the domain, `localhost` and these
   * (`-additional-name-constraint`). Off by default, as in Consul.
   */
  readonly nameConstraint?: boolean;
  readonly additionalNameConstraints?: readonly string[];
  readonly days?: number;
  readonly now?: Date;
  readonly random?: RandomSource;
}

/** What `consul tls ca create` makes: a self-signed ECDSA P-256 CA. */
export async function createCa(o: CreateCaOptions = {}): Promise<Required<CaMaterial>> {
  const lib = loadX509();
  const { x509 } = lib;
  const now = o.now ?? new Date();
  const serialNumber = serialNumberHex(o.random ?? systemRandom);
  const keys = await generateP256KeyPair();
  const keyId = await subjectKeyId(keys.publicKey);
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    new x509.SubjectKeyIdentifierExtension(keyId),
    new x509.AuthorityKeyIdentifierExtension(keyId),
  ];
  if (o.nameConstraint) {
    const permitted = [...(o.additionalNameConstraints ?? []), o.domain ?? DEFAULT_DOMAIN, 'localhost'];
    extensions.push(dnsNameConstraints(lib, permitted));
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name: caSubject(o.commonName ?? caCommonName(serialNumber)),
    notBefore: now,
    notAfter: new Date(now.getTime() + (o.days ?? CA_VALIDITY_DAYS) * DAY_MS),
    signingAlgorithm: EC_P256,
    keys,
    extensions,
  });
  return { certPem: pemText(cert), key: privateKeyPem(keys.privateKey) };
}

/** Critical, as Go writes PermittedDNSDomainsCritical; the library has no class for this extension. */
function dnsNameConstraints({ x509, asn1, AsnConvert }: X509Library, domains: readonly string[]) {
  const der = AsnConvert.serialize(
    new asn1.NameConstraints({
      permittedSubtrees: new asn1.GeneralSubtrees(
        domains.map((d) => new asn1.GeneralSubtree({ base: new asn1.GeneralName({ dNSName: d }) })),
      ),
    }),
  );
  return new x509.Extension(asn1.id_ce_nameConstraints, true, der);
}
