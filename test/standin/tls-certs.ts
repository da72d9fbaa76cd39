/**
 * Certificates for the stand-in's TLS tests, made with `openssl` as an operator would (ECDSA
 * P-256, like `consul tls ca create` / `consul tls cert create`), in a temp dir of the test.
 * Keys never leave that dir and are never printed.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import { readFileSync } from 'node:fs';

export interface CertFiles {
  cert: string;
  key: string;
}

export interface Ca extends CertFiles {
  dir: string;
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(dir: string, name = 'consul-agent-ca'): Ca {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}.pem`);
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key);
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  );
  return { dir, key, cert };
}

/** A leaf certificate signed by ca, usable for both server and client auth, with the given SANs. */
export function makeCert(ca: Ca, name: string, cn: string, sans: string[]): CertFiles {
  const key = join(ca.dir, `${name}-key.pem`);
  const csr = join(ca.dir, `${name}.csr`);
  const ext = join(ca.dir, `${name}.ext`);
  const cert = join(ca.dir, `${name}.pem`);
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key);
  openssl('req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${cn}`);
  writeFileSync(
    ext,
    `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '1',
    '-extfile',
    ext,
  );
  return { key, cert };
}

/** The server certificate Consul expects for a server at ip: server.dc1.consul, localhost, 127.0.0.1, ip. */
export function serverCert(ca: Ca, name: string, ip: string): CertFiles {
  return makeCert(ca, name, 'server.dc1.consul', [
    'DNS:server.dc1.consul',
    'DNS:localhost',
    'IP:127.0.0.1',
    `IP:${ip}`,
  ]);
}

export interface HttpsResult {
  status: number;
  body: string;
}

/** One HTTPS request; rejects with node's TLS error (its `code` tells which). */
export function httpsRequest(
  host: string,
  port: number,
  path: string,
  opts: { ca?: string; client?: CertFiles; method?: string; headers?: Record<string, string> } = {},
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: false,
        timeout: 10000,
        ...(opts.ca ? { ca: readFileSync(opts.ca) } : {}),
        ...(opts.client ? { cert: readFileSync(opts.client.cert), key: readFileSync(opts.client.key) } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
