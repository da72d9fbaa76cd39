import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createCa } from '../../src/tls/certificate-authority.js';
import { assessServerCert, RENEW_WITHIN_DAYS } from '../../src/tls/renewal.js';
import { createServerCert } from '../../src/tls/server-certificate.js';
import { OpensslDir } from './openssl.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const at = (days: number): Date => new Date(NOW.getTime() + days * DAY);
const S1 = { dc: 'dc1', ipAddresses: ['10.0.0.5'] };

describe('whether a server certificate must be renewed', async () => {
  const ca = await createCa({ now: NOW });
  const cert = await createServerCert(ca, S1, { now: NOW });

  it('keeps a fresh certificate of the current CA with the right SANs', async () => {
    const a = await assessServerCert(cert.certPem, ca.certPem, S1, { now: at(1) });
    assert.deepEqual(a.reasons, []);
    assert.equal(a.daysLeft, 364);
    assert.equal(a.facts.notAfter.toISOString(), at(365).toISOString());
  });

  it(`renews within ${RENEW_WITHIN_DAYS} days of expiry, and once expired`, async () => {
    const day335 = await assessServerCert(cert.certPem, ca.certPem, S1, { now: at(335) });
    assert.deepEqual(day335.reasons, []);
    const day336 = await assessServerCert(cert.certPem, ca.certPem, S1, { now: at(336) });
    assert.deepEqual(day336.reasons, ['it expires in 29 days (2027-03-01)']);
    const later = await assessServerCert(cert.certPem, ca.certPem, S1, { now: at(400) });
    assert.equal(later.daysLeft, -35);
    assert.deepEqual(later.reasons, ['it expired on 2027-03-01']);
    const sooner = await assessServerCert(cert.certPem, ca.certPem, S1, {
      now: at(300),
      renewWithinDays: 90,
    });
    assert.deepEqual(sooner.reasons, ['it expires in 65 days (2027-03-01)']);
  });

  it('renews when the address changed or a name was added', async () => {
    const moved = await assessServerCert(
      cert.certPem,
      ca.certPem,
      { dc: 'dc1', ipAddresses: ['10.0.0.9'] },
      { now: NOW },
    );
    assert.deepEqual(moved.reasons, ['its SANs differ: it lacks 10.0.0.9 and still names 10.0.0.5']);
    const named = await assessServerCert(cert.certPem, ca.certPem, { ...S1, node: 's1' }, { now: NOW });
    assert.deepEqual(named.reasons, ['its SANs differ: it lacks s1.server.dc1.consul']);
  });

  it('refuses a certificate of another datacenter', async () => {
    const a = await assessServerCert(
      cert.certPem,
      ca.certPem,
      { dc: 'dc2', ipAddresses: ['10.0.0.5'] },
      { now: NOW },
    );
    assert.deepEqual(a.reasons, [
      'it is for server.dc1.consul, not server.dc2.consul',
      'its SANs differ: it lacks server.dc2.consul and still names server.dc1.consul',
    ]);
  });

  it('renews a certificate the current CA did not issue, even one from a CA of the same name', async () => {
    const next = await createCa({ now: NOW });
    const a = await assessServerCert(cert.certPem, next.certPem, S1, { now: NOW });
    assert.equal(a.reasons.length, 1);
    assert.match(a.reasons[0] as string, /^it was not issued by the current CA \(Consul Agent CA \d+\)$/);
    const sameName = await createCa({ now: NOW, commonName: 'Ops CA' });
    const twin = await createCa({ now: NOW, commonName: 'Ops CA' });
    const byTwin = await createServerCert(twin, S1, { now: NOW });
    const b = await assessServerCert(byTwin.certPem, sameName.certPem, S1, { now: NOW });
    assert.deepEqual(b.reasons, ['it was not issued by the current CA (Ops CA)']);
  });

  it('renews a certificate not yet valid (made on a machine whose clock ran ahead)', async () => {
    const ahead = await createServerCert(ca, S1, { now: at(2) });
    const a = await assessServerCert(ahead.certPem, ca.certPem, S1, { now: NOW });
    assert.deepEqual(a.reasons, ['it is not valid before 2026-03-03']);
  });

  it("reads a certificate made with openssl, and renews one with a name outside the CA's constraints", async () => {
    const constrained = await createCa({ now: NOW, nameConstraint: true });
    const ssl = new OpensslDir();
    const caFile = ssl.write('ca.pem', constrained.certPem);
    const caKey = ssl.write('ca-key.pem', constrained.key.reveal());
    const sans = 'DNS:server.dc1.consul,DNS:localhost,DNS:evil.example,IP:10.0.0.5,IP:127.0.0.1';
    const csr = ssl.write('req.csr', '');
    ssl.run(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      ssl.write('key.pem', ''),
      '-subj',
      '/CN=server.dc1.consul',
      '-addext',
      `subjectAltName=${sans}`,
      '-out',
      csr,
    );
    const certFile = ssl.write('cert.pem', '');
    ssl.run(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caFile,
      '-CAkey',
      caKey,
      '-copy_extensions',
      'copy',
      '-days',
      '400',
      '-out',
      certFile,
    );
    const a = await assessServerCert(readFileSync(certFile, 'utf8'), constrained.certPem, S1);
    assert.deepEqual(a.reasons, [
      'its SANs differ: it still names evil.example',
      "evil.example outside the CA's name constraints",
    ]);
    assert.equal(a.daysLeft, 399);
  });
});
