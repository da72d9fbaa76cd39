import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import type { FileState } from '../../src/facts/file-state.js';
import {
  consulTlsCertModule,
  TLS_CA_KEY_VAR,
  TLS_CA_PEM_VAR,
  TLS_ISSUER_PEM_VAR,
  type ConsulTlsCertArgs,
  type TlsCertFacts,
} from '../../src/modules/consul-tls-cert.js';
import { readFile, writeFileAtomic } from '../../src/remote/fs.js';
import { render } from '../../src/shell/cmd.js';
import { Secret } from '../../src/shell/secret.js';
import { trustBundle } from '../../src/tls/ca-bundle.js';
import { createCa } from '../../src/tls/certificate-authority.js';
import { createServerCert } from '../../src/tls/server-certificate.js';
import { OpensslDir } from '../tls/openssl.js';
import { factsAsked, planContext, shown } from './fixture.js';

const DIR = '/opt/consul/config/tls';
const DAY = 86_400_000;
const server: ConsulTlsCertArgs = {
  dir: DIR,
  role: 'server',
  datacenter: 'dc1',
  address: '10.213.0.11',
  owner: '100',
  group: '1000',
};
const client: ConsulTlsCertArgs = { ...server, role: 'client' };
const attrs = { mode: '644', uid: '100', owner: 'UNKNOWN', gid: '1000', group: 'UNKNOWN' };
const present = (content: string, mode = '644'): FileState => ({ exists: true, content, ...attrs, mode });
const absent: FileState = { exists: false };

describe('consul_tls_cert: the agent TLS files, as facts in and a plan out', async () => {
  const ca = await createCa();
  const otherCa = await createCa();
  const withKey = planContext({ vars: { [TLS_CA_PEM_VAR]: ca.certPem, [TLS_CA_KEY_VAR]: ca.key } });
  const caOnly = planContext({ vars: { [TLS_CA_PEM_VAR]: ca.certPem } });
  const onHost = async (o: { daysAgo?: number; address?: string; by?: typeof ca } = {}) => {
    const issued = await createServerCert(
      o.by ?? ca,
      { dc: 'dc1', ipAddresses: [o.address ?? server.address] },
      // A minute back: made before the run that judges it.
      { now: new Date(Date.now() - (o.daysAgo ?? 0) * DAY - 60_000) },
    );
    return { cert: present(issued.certPem), key: present(issued.key.reveal(), '600'), issued };
  };

  it('reads the CA, the certificate and the key on a server, only the CA on a client', async () => {
    const want = await consulTlsCertModule.desired!(server, withKey);
    assert.deepEqual(factsAsked(consulTlsCertModule, want), {
      ca: {
        read: { effect: 'read', sends: render(readFile(`${DIR}/consul-agent-ca.pem`), { redact: true }) },
      },
      cert: {
        read: { effect: 'read', sends: render(readFile(`${DIR}/dc1-server-consul-0.pem`), { redact: true }) },
      },
      key: {
        read: {
          effect: 'read',
          sends: render(readFile(`${DIR}/dc1-server-consul-0-key.pem`), { redact: true }),
        },
      },
    });
    const clientWant = await consulTlsCertModule.desired!(client, withKey);
    assert.deepEqual(Object.keys(factsAsked(consulTlsCertModule, clientWant)), ['ca']);
    assert.equal(clientWant.fresh, undefined, 'clients get their certificate through auto_encrypt');
  });

  it('issues a first certificate with the node SANs, key 0600 and certificate 0644, the key never shown', async () => {
    const want = await consulTlsCertModule.desired!(server, withKey);
    const facts: TlsCertFacts = { ca: absent, cert: absent, key: absent };
    const change = consulTlsCertModule.plan(want, facts, withKey);
    const expires = new Date(want.now.getTime() + 365 * DAY).toISOString().slice(0, 10);
    assert.equal(change.changed, true);
    assert.match(
      change.summary,
      new RegExp(`^new certificate for s1, expires ${expires} \\(365 days\\): there is no certificate yet; `),
    );
    assert.deepEqual(change.data, {
      expires,
      days_left: 365,
      renew_reasons: ['there is no certificate yet'],
      changed: true,
      dir: DIR,
    });
    const steps = (change.steps ?? []).map(shown);
    const write = (file: string, mode: string) =>
      render(writeFileAtomic(`${DIR}/${file}`, { mode, owner: '100', group: '1000' }), { redact: true });
    assert.deepEqual(
      steps.map((s) => s.sends),
      [
        write('consul-agent-ca.pem', '0644'),
        write('dc1-server-consul-0.pem', '0644'),
        write('dc1-server-consul-0-key.pem', '0600'),
      ],
    );
    const key = (want.fresh?.key as Secret).reveal();
    assert.equal(steps[2]?.stdin, key, 'the key travels on stdin');
    const visible = JSON.stringify({
      summary: change.summary,
      diff: change.diff,
      data: change.data,
      sends: steps.map((s) => s.sends),
    });
    assert.ok(!visible.includes('PRIVATE KEY'), 'no key in what people see');
    assert.deepEqual(
      (change.diff ?? []).map((d) => d.path),
      [`${DIR}/consul-agent-ca.pem`, `${DIR}/dc1-server-consul-0.pem`],
    );

    const ssl = new OpensslDir();
    const caFile = ssl.write('ca.pem', String(steps[0]?.stdin));
    const certFile = ssl.write('cert.pem', String(steps[1]?.stdin));
    const keyFile = ssl.write('key.pem', key);
    assert.match(
      ssl.run('verify', '-CAfile', caFile, '-verify_hostname', 'server.dc1.consul', certFile),
      /: OK/,
    );
    assert.match(ssl.run('verify', '-CAfile', caFile, '-verify_ip', '10.213.0.11', certFile), /: OK/);
    assert.match(
      ssl.run('x509', '-in', certFile, '-noout', '-ext', 'subjectAltName'),
      /DNS:server\.dc1\.consul, DNS:localhost, IP Address:10\.213\.0\.11, IP Address:127\.0\.0\.1/,
    );
    assert.equal(
      ssl.run('pkey', '-in', keyFile, '-pubout'),
      ssl.run('x509', '-in', certFile, '-noout', '-pubkey'),
      "the key written is the certificate's",
    );
  });

  it('keeps a certificate that fits, and says when it expires', async () => {
    const want = await consulTlsCertModule.desired!(server, withKey);
    const { cert, key } = await onHost({ daysAgo: 100 });
    const change = consulTlsCertModule.plan(want, { ca: present(ca.certPem), cert, key }, withKey);
    const expires = new Date(new Date(want.now).getTime() + 265 * DAY).toISOString().slice(0, 10);
    assert.equal(change.changed, false);
    assert.equal(change.steps, undefined);
    assert.match(change.summary, new RegExp(`^certificate for s1 expires ${expires} \\(26[45] days\\)$`));
  });

  it('keeps it without the CA key too (CA only): nothing to sign', async () => {
    const want = await consulTlsCertModule.desired!(server, caOnly);
    assert.equal(want.fresh, undefined);
    const { cert, key } = await onHost();
    assert.equal(
      consulTlsCertModule.plan(want, { ca: present(ca.certPem), cert, key }, caOnly).changed,
      false,
    );
  });

  for (const [what, host, reason] of [
    ['near its expiry', { daysAgo: 340 }, /^it expires in 2[45] days \(\d{4}-\d\d-\d\d\)$/],
    ['expired', { daysAgo: 400 }, /^it expired on \d{4}-\d\d-\d\d$/],
    [
      'for another address',
      { address: '10.213.0.99' },
      /^its SANs differ: it lacks 10\.213\.0\.11 and still names 10\.213\.0\.99$/,
    ],
    ['by another CA', { by: otherCa }, /^it was not issued by the current CA \(Consul Agent CA \d+\)$/],
  ] as const) {
    it(`renews a certificate ${what}, and says why`, async () => {
      const want = await consulTlsCertModule.desired!(server, withKey);
      const { cert, key } = await onHost(host);
      const change = consulTlsCertModule.plan(want, { ca: present(ca.certPem), cert, key }, withKey);
      assert.equal(change.changed, true);
      const reasons = change.data?.['renew_reasons'] as string[];
      assert.equal(reasons.length, 1, reasons.join('; '));
      assert.match(reasons[0] ?? '', reason);
      assert.equal(change.steps?.length, 2, 'the certificate and its key; the CA file is in place');
    });
  }

  it('renews a fitting certificate issued before renew_issued_before (rotate-tls), and keeps a newer one', async () => {
    const asked = { ...server, renew_issued_before: new Date(Date.now() - 30_000).toISOString() };
    const want = await consulTlsCertModule.desired!(asked, withKey);
    const old = await onHost({ daysAgo: 10 });
    const change = consulTlsCertModule.plan(want, { ca: present(ca.certPem), ...old }, withKey);
    assert.equal(change.changed, true);
    assert.deepEqual(change.data?.['renew_reasons'], [
      `a new one was asked for (issued ${new Date(Date.now() - 10 * DAY - 60_000).toISOString().slice(0, 10)})`,
    ]);
    assert.equal(change.steps?.length, 2);
    // What this run just issued (after the instant) stays: a second look changes nothing.
    const fresh = want.fresh!;
    const again = consulTlsCertModule.plan(
      want,
      { ca: present(ca.certPem), cert: present(fresh.certPem), key: present(fresh.key.reveal(), '600') },
      withKey,
    );
    assert.equal(again.changed, false);
  });

  it('renews a certificate whose key on the host is not its own (a write cut short)', async () => {
    const want = await consulTlsCertModule.desired!(server, withKey);
    const { cert } = await onHost();
    const { key } = await onHost();
    const change = consulTlsCertModule.plan(want, { ca: present(ca.certPem), cert, key }, withKey);
    assert.deepEqual(change.data?.['renew_reasons'], ["its key on the host is not the certificate's"]);
  });

  it('stops when a certificate must be replaced and drover has no CA key', async () => {
    const want = await consulTlsCertModule.desired!(server, caOnly);
    const { cert, key } = await onHost({ daysAgo: 400 });
    assert.throws(
      () => consulTlsCertModule.plan(want, { ca: present(ca.certPem), cert, key }, caOnly),
      /s1: its server certificate must be replaced \(it expired on .*\), but drover has the CA certificate without its key/,
    );
  });

  it('puts only the CA on a client', async () => {
    const want = await consulTlsCertModule.desired!(client, withKey);
    const change = consulTlsCertModule.plan(want, { ca: absent }, withKey);
    assert.equal(change.summary, `create ${DIR}/consul-agent-ca.pem (mode 0644, owner 100:1000)`);
    assert.equal(change.steps?.length, 1);
    assert.equal(consulTlsCertModule.plan(want, { ca: present(ca.certPem) }, withKey).changed, false);
  });

  it('during a CA rotation: every agent gets both CAs, and a server certificate must come from the issuer', async () => {
    const bundle = trustBundle([ca.certPem, otherCa.certPem]);
    const rotating = (issuer: typeof ca) =>
      planContext({
        vars: {
          [TLS_CA_PEM_VAR]: bundle,
          [TLS_ISSUER_PEM_VAR]: issuer.certPem,
          [TLS_CA_KEY_VAR]: issuer.key,
        },
      });
    const clientWant = await consulTlsCertModule.desired!(client, rotating(ca));
    const toBoth = consulTlsCertModule.plan(clientWant, { ca: present(ca.certPem) }, rotating(ca));
    assert.equal(toBoth.changed, true);
    assert.match(toBoth.summary, /^update .*consul-agent-ca\.pem/);
    const fromOld = await onHost();
    // Step 1: the old CA still issues; its certificate stays, only the CA file changes.
    const step1 = consulTlsCertModule.plan(
      await consulTlsCertModule.desired!(server, rotating(ca)),
      { ca: present(ca.certPem), ...fromOld },
      rotating(ca),
    );
    assert.equal(step1.steps?.length, 1);
    // Step 2: the new CA issues; the server gets a certificate from it.
    const want = await consulTlsCertModule.desired!(server, rotating(otherCa));
    const step2 = consulTlsCertModule.plan(want, { ca: present(bundle), ...fromOld }, rotating(otherCa));
    assert.match((step2.data?.['renew_reasons'] as string[]).join(), /not issued by the current CA/);
    assert.ok(new X509Certificate(want.fresh!.certPem).checkIssued(new X509Certificate(otherCa.certPem)));
  });

  it("names the cluster's domain in a server's certificate, under the usual file names", async () => {
    const want = await consulTlsCertModule.desired!({ ...server, domain: 'example.internal' }, withKey);
    const leaf = new X509Certificate(want.fresh!.certPem);
    assert.match(leaf.subject, /CN=server\.dc1\.example\.internal/);
    assert.match(leaf.subjectAltName ?? '', /DNS:server\.dc1\.example\.internal/);
    const fromDefault = await onHost();
    const change = consulTlsCertModule.plan(want, { ca: present(ca.certPem), ...fromDefault }, withKey);
    assert.match((change.data?.['renew_reasons'] as string[]).join(), /not server\.dc1\.example\.internal/);
    assert.ok(change.summary.includes(`${DIR}/dc1-server-consul-0.pem`), change.summary);
  });

  it('needs the CA the session resolves', async () => {
    await assert.rejects(consulTlsCertModule.desired!(server, planContext()), /s1: no CA for TLS/);
  });
});
