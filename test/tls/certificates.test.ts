import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { Secret } from '../../src/shell/secret.js';
import { createCa } from '../../src/tls/certificate-authority.js';
import { certificateFacts } from '../../src/tls/certificate-facts.js';
import { caFileNames, serverCertFileNames } from '../../src/tls/consul-conventions.js';
import { createServerCert, serverCertSans } from '../../src/tls/server-certificate.js';
import { countingRandom } from './fixed-random.js';
import { OpensslDir } from './openssl.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;

describe('the CA, as consul tls ca create makes it', async () => {
  const ca = await createCa({ now: NOW, random: countingRandom(0x80) });
  const ssl = new OpensslDir();
  const caFile = ssl.write(caFileNames().cert, ca.certPem);
  const text = ssl.run('x509', '-in', caFile, '-noout', '-text');

  it('is a self-signed ECDSA P-256 CA with Consul subject and a 128-bit serial in its name', () => {
    // Bytes 0x80..0x8f: the top bit is set, so DER needs a leading zero and the value keeps 128 bits.
    const serial = BigInt('0x808182838485868788898a8b8c8d8e8f');
    assert.match(
      ssl.run('x509', '-in', caFile, '-noout', '-subject', '-nameopt', 'RFC2253'),
      new RegExp(
        `subject=CN=Consul Agent CA ${serial},O=HashiCorp Inc\\.,street=101 Second Street,L=San Francisco,ST=CA,postalCode=94105,C=US`,
      ),
    );
    assert.equal(
      ssl.run('x509', '-in', caFile, '-noout', '-serial').trim(),
      'serial=808182838485868788898A8B8C8D8E8F',
    );
    assert.match(text, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(ssl.run('verify', '-CAfile', caFile, caFile), /: OK/);
  });

  it('has the CA extensions and is valid for 1825 days from now', () => {
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    assert.match(text, /X509v3 Subject Key Identifier:/);
    assert.doesNotMatch(text, /Name Constraints/);
    assert.match(text, /Not Before: Mar  1 12:00:00 2026 GMT/);
    assert.match(text, /Not After : Feb 28 12:00:00 2031 GMT/);
  });

  it('writes its key as SEC1 "EC PRIVATE KEY", which openssl checks', () => {
    const pem = ca.key.reveal();
    assert.match(pem, /^-----BEGIN EC PRIVATE KEY-----\n/);
    const keyFile = ssl.write(caFileNames().key, pem);
    assert.match(ssl.attempt('ec', '-in', keyFile, '-check', '-noout').output, /EC Key valid/);
    assert.equal(String(ca.key), '<redacted>');
    assert.doesNotMatch(JSON.stringify(ca), /PRIVATE KEY/);
  });
});

describe('a server certificate, as consul tls cert create -server makes it', async () => {
  const ca = await createCa({ now: NOW });
  const server = await createServerCert(ca, { dc: 'dc1', ipAddresses: ['10.213.0.11'] }, { now: NOW });
  const ssl = new OpensslDir();
  const caFile = ssl.write('consul-agent-ca.pem', ca.certPem);
  const names = serverCertFileNames('dc1');
  const certFile = ssl.write(names.cert, server.certPem);
  const keyFile = ssl.write(names.key, server.key.reveal());
  const text = ssl.run('x509', '-in', certFile, '-noout', '-text');

  it('is named as Consul names it', () => {
    assert.deepEqual(names, { cert: 'dc1-server-consul-0.pem', key: 'dc1-server-consul-0-key.pem' });
    assert.deepEqual(caFileNames('example'), {
      cert: 'example-agent-ca.pem',
      key: 'example-agent-ca-key.pem',
    });
  });

  it('verifies against the CA for its name, localhost and its addresses', () => {
    assert.match(ssl.run('verify', '-CAfile', caFile, certFile), /: OK/);
    for (const check of [
      ['-verify_hostname', 'server.dc1.consul'],
      ['-verify_hostname', 'localhost'],
      ['-verify_ip', '10.213.0.11'],
      ['-verify_ip', '127.0.0.1'],
    ]) {
      assert.match(ssl.run('verify', '-CAfile', caFile, ...check, certFile), /: OK/, check.join(' '));
    }
    const other = ssl.attempt('verify', '-CAfile', caFile, '-verify_hostname', 'server.dc2.consul', certFile);
    assert.notEqual(other.code, 0);
    assert.match(other.output, /hostname mismatch/);
  });

  it("has Consul's CN, SANs, usages and a validity of 365 days", () => {
    assert.match(
      ssl.run('x509', '-in', certFile, '-noout', '-subject'),
      /subject=CN\s*=\s*server\.dc1\.consul/,
    );
    assert.match(
      text,
      /X509v3 Subject Alternative Name:\s+DNS:server\.dc1\.consul, DNS:localhost, IP Address:10\.213\.0\.11, IP Address:127\.0\.0\.1\n/,
    );
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.match(
      text,
      /X509v3 Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/,
    );
    assert.match(text, /Not Before: Mar  1 12:00:00 2026 GMT/);
    assert.match(text, /Not After : Mar  1 12:00:00 2027 GMT/);
  });

  it("names the CA's key as its authority key id", async () => {
    const caFacts = await certificateFacts(ca.certPem, 'ca');
    const facts = await certificateFacts(server.certPem, 'cert');
    assert.equal(caFacts.subjectKeyId?.length, 64, 'SHA-256, as Consul');
    assert.equal(facts.authorityKeyId, caFacts.subjectKeyId);
    assert.notEqual(facts.subjectKeyId, caFacts.subjectKeyId);
  });

  it('comes with a key of its own that matches it', () => {
    assert.match(ssl.attempt('ec', '-in', keyFile, '-check', '-noout').output, /EC Key valid/);
    const pub = (args: string[]) => ssl.run(...args);
    assert.equal(
      pub(['x509', '-in', certFile, '-noout', '-pubkey']),
      pub(['ec', '-in', keyFile, '-pubout']).replace(/^read EC key\n/, ''),
    );
    assert.notEqual(server.key.reveal(), ca.key.reveal());
  });

  it('adds -node, -additional-dnsname and -additional-ipaddress as Consul orders them', () => {
    assert.deepEqual(
      serverCertSans({
        dc: 'eu',
        domain: 'example',
        node: 's1',
        dnsNames: ['consul.corp'],
        ipAddresses: ['fd00:0:0::1'],
      }),
      {
        dnsNames: ['consul.corp', 's1.server.eu.example', 'server.eu.example', 'localhost'],
        ipAddresses: ['fd00::1', '127.0.0.1'],
      },
    );
  });
});

describe('what a CA refuses to sign', async () => {
  const constrained = await createCa({
    now: NOW,
    nameConstraint: true,
    additionalNameConstraints: ['corp.example'],
  });

  it('a name-constrained CA permits the domain, localhost and the additional names, and IPs', async () => {
    const ssl = new OpensslDir();
    const caFile = ssl.write('ca.pem', constrained.certPem);
    assert.match(
      ssl.run('x509', '-in', caFile, '-noout', '-text'),
      /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:corp\.example\s+DNS:consul\s+DNS:localhost/,
    );
    const cert = await createServerCert(
      constrained,
      { dc: 'dc1', dnsNames: ['consul.corp.example'], ipAddresses: ['192.0.2.7'] },
      { now: NOW },
    );
    const certFile = ssl.write('cert.pem', cert.certPem);
    assert.match(ssl.run('verify', '-CAfile', caFile, '-verify_ip', '192.0.2.7', certFile), /: OK/);
  });

  it('a name outside the constraints is refused before anything is signed', async () => {
    await assert.rejects(
      createServerCert(constrained, { dc: 'dc1', dnsNames: ['consul.evil.example'] }, { now: NOW }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /consul\.evil\.example outside the CA's name constraints \(corp\.example, consul, localhost\)/.test(
          err.message,
        ),
    );
    await assert.rejects(
      createServerCert(constrained, { dc: 'dc1', domain: 'example.org' }, { now: NOW }),
      /server\.dc1\.example\.org outside the CA's name constraints/,
    );
  });

  it('a CA-only material (no key), a key of another CA, a leaf as CA and a bad address are refused', async () => {
    const other = await createCa({ now: NOW });
    const leaf = await createServerCert(other, { dc: 'dc1' }, { now: NOW });
    const encrypted = new Secret(
      createPrivateKey(other.key.reveal()).export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'pw',
      }) as string,
    );
    const cases: [Parameters<typeof createServerCert>, RegExp][] = [
      [[{ certPem: other.certPem }, { dc: 'dc1' }], /has its certificate but not its key/],
      [
        [{ certPem: other.certPem, key: constrained.key }, { dc: 'dc1' }],
        /the CA key: is not the key of the CA certificate/,
      ],
      [[{ certPem: leaf.certPem, key: leaf.key }, { dc: 'dc1' }], /is not a CA/],
      [[other, { dc: 'dc1', ipAddresses: ['10.0.0.300'] }], /not an IP address: 10\.0\.0\.300/],
      [
        [{ certPem: other.certPem, key: encrypted }, { dc: 'dc1' }],
        /the CA key: is encrypted; drover needs it unencrypted/,
      ],
      [
        [
          {
            certPem: other.certPem,
            key: new Secret('-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n'),
          },
          { dc: 'dc1' },
        ],
        /: the CA key: is not a PEM private key$/,
      ],
    ];
    for (const [args, message] of cases) await assert.rejects(createServerCert(...args), message);
  });
});

describe('certificate facts', async () => {
  const ca = await createCa({ now: NOW, random: countingRandom(1) });
  const server = await createServerCert(ca, { dc: 'dc1', ipAddresses: ['10.0.0.5'] }, { now: NOW, days: 90 });

  it('gives expiry, SANs, serial and fingerprints as openssl prints them', async () => {
    const facts = await certificateFacts(server.certPem, 'cert');
    assert.equal(facts.notBefore.toISOString(), NOW.toISOString());
    assert.equal(facts.notAfter.getTime(), NOW.getTime() + 90 * DAY);
    assert.deepEqual(facts.dnsNames, ['server.dc1.consul', 'localhost']);
    assert.deepEqual(facts.ipAddresses, ['10.0.0.5', '127.0.0.1']);
    assert.equal(facts.commonName, 'server.dc1.consul');
    assert.equal(facts.isCa, false);
    const ssl = new OpensslDir();
    const file = ssl.write('cert.pem', server.certPem);
    assert.equal(
      ssl.run('x509', '-in', file, '-noout', '-fingerprint', '-sha256').trim(),
      `sha256 Fingerprint=${facts.fingerprintSha256}`,
    );
    assert.equal(
      ssl.run('x509', '-in', file, '-noout', '-serial').trim().toLowerCase(),
      `serial=${facts.serialNumber}`,
    );
    assert.equal(
      ssl.run('x509', '-in', file, '-noout', '-enddate').trim(),
      'notAfter=May 30 12:00:00 2026 GMT',
    );
  });

  it('of the CA: its name from the counting serial, and its constraints', async () => {
    const facts = await certificateFacts(ca.certPem, 'ca');
    assert.equal(facts.commonName, `Consul Agent CA ${BigInt('0x0102030405060708090a0b0c0d0e0f10')}`);
    assert.equal(facts.isCa, true);
    assert.deepEqual(facts.permittedDnsDomains, []);
  });

  it('refuses what is not a certificate, without quoting it', async () => {
    for (const text of ['garbage', ca.key.reveal()]) {
      await assert.rejects(certificateFacts(text, 'dc1-server-consul-0.pem'), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.message, 'dc1-server-consul-0.pem: is not a PEM certificate');
        return true;
      });
    }
  });
});
