/**
 * What `consul tls ca create` and `consul tls cert create -server` make, so that drover's files
 * look like the ones an operator following HashiCorp's guides already has
 * (command/tls/ca/create, command/tls/cert/create and tlsutil/generate.go in hashicorp/consul).
 */
export const DEFAULT_DOMAIN = 'consul';

/** A DNS name in lower case (`consul`, `example.internal`): what Consul's `domain` may be. */
export const DNS_NAME_PATTERN =
  '^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$';

/** `-days` defaults: "approximately 5 years" for the CA, one year for a certificate. */
export const CA_VALIDITY_DAYS = 1825;
export const SERVER_CERT_VALIDITY_DAYS = 365;

export const DAY_MS = 86_400_000;

/** The CA's subject: HashiCorp's address, then `Consul Agent CA <serial in decimal>`. */
export function caSubject(commonName: string): string {
  // The DN parser knows no postalCode or street, so those two go by OID (2.5.4.17, 2.5.4.9).
  return `C=US, 2.5.4.17=94105, ST=CA, L=San Francisco, 2.5.4.9=101 Second Street, O=HashiCorp Inc., CN=${commonName}`;
}

export const caCommonName = (serialHex: string): string => `Consul Agent CA ${BigInt(`0x${serialHex}`)}`;

/** The name servers present and `verify_server_hostname` checks: `server.<dc>.<domain>`. */
export const serverName = (dc: string, domain: string = DEFAULT_DOMAIN): string => `server.${dc}.${domain}`;

export interface PemFileNames {
  readonly cert: string;
  readonly key: string;
}

/** `consul-agent-ca.pem` and `consul-agent-ca-key.pem` for the default domain. */
export const caFileNames = (domain: string = DEFAULT_DOMAIN): PemFileNames => ({
  cert: `${domain}-agent-ca.pem`,
  key: `${domain}-agent-ca-key.pem`,
});

/** `dc1-server-consul-0.pem` and `dc1-server-consul-0-key.pem`; Consul takes the first free N. */
export const serverCertFileNames = (dc: string, domain: string = DEFAULT_DOMAIN, n = 0): PemFileNames => ({
  cert: `${dc}-server-${domain}-${n}.pem`,
  key: `${dc}-server-${domain}-${n}-key.pem`,
});
