/**
 * Replacing the CA beside the inventory (tls-ca-rotation.ts, rotate-tls-ca.ts): what the agents
 * trust and which CA issues at each step, every state a crash can leave on disk, and the resume.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { rotateCa } from '../../src/app/rotate-tls-ca.js';
import {
  caRotationFiles,
  promoteNextCa,
  readCaRotation,
  startCaRotation,
  type CaRotationStage,
} from '../../src/app/tls-ca-rotation.js';
import { applyTlsCa, caFilesBeside, resolveTlsCa, tlsDir } from '../../src/app/tls-material-source.js';
import { ConfigError, ExitCode } from '../../src/errors.js';
import type { Host, Inventory } from '../../src/inventory/types.js';
import { Secret } from '../../src/shell/secret.js';
import { certificatesOf, trustBundle } from '../../src/tls/ca-bundle.js';
import { checkCaMaterial } from '../../src/tls/ca-material-check.js';
import { createCa } from '../../src/tls/certificate-authority.js';
import { renewalReasons } from '../../src/tls/renewal.js';
import { createServerCert } from '../../src/tls/server-certificate.js';
import { loadX509 } from '../../src/tls/x509-library.js';

function inventoryAt(file: string): Inventory {
  const host = (name: string, address: string): Host => ({
    name,
    address,
    groups: ['all', 'servers'],
    vars: { address, consul_tls_enable: true },
  });
  return {
    file,
    hosts: new Map([['s1', host('s1', '10.0.0.1')]]),
    groups: new Map([
      ['servers', { name: 'servers', vars: {}, children: [], directHosts: ['s1'], hosts: ['s1'] }],
    ]),
    warnings: [],
  };
}

/** An inventory whose CA beside it was made by a first deploy. */
async function deployedInventory(): Promise<{ inv: Inventory; oldCa: string; oldKey: string }> {
  const file = join(mkdtempSync(join(tmpdir(), 'drover-ca-rot-')), 'prod.yaml');
  const inv = inventoryAt(file);
  await resolveTlsCa(inv, { create: true, env: {} });
  const files = caFilesBeside(file);
  return { inv, oldCa: readFileSync(files.cert, 'utf8'), oldKey: readFileSync(files.key, 'utf8') };
}

const fingerprints = (pem: string): string[] =>
  certificatesOf(pem)
    .map((c) => new X509Certificate(c).fingerprint256)
    .sort();

/** What a step's run gives the hosts: the CA file's text and the issuer's certificate. */
async function hostVars(inv: Inventory): Promise<{ trusted: string; issuer: string; key: string }> {
  const applied = await applyTlsCa(inv, { create: true, env: {}, warn: () => undefined });
  const vars = applied.hosts.get('s1')?.vars ?? {};
  const key = vars['consul_tls_ca_key'];
  assert.ok(key instanceof Secret);
  return {
    trusted: String(vars['drover_tls_ca_pem']),
    issuer: String(vars['drover_tls_issuer_pem']),
    key: key.reveal(),
  };
}

describe('trust bundles', () => {
  it('hold each CA once, in an order that depends only on the set', async () => {
    const a = await createCa({ now: new Date('2026-01-01T00:00:00Z') });
    const b = await createCa({ now: new Date('2026-06-01T00:00:00Z') });
    const one = trustBundle([b.certPem, a.certPem, b.certPem]);
    assert.equal(one, trustBundle([a.certPem + b.certPem]));
    assert.deepEqual(certificatesOf(one), [a.certPem, b.certPem]);
  });

  it("take the issuer from the bundle by its key, and refuse a key that is no certificate's", async () => {
    const a = await createCa();
    const b = await createCa();
    const checked = await checkCaMaterial(
      loadX509(),
      { certPem: a.certPem + b.certPem, key: b.key },
      { cert: 'ca.pem', key: 'ca-key.pem' },
    );
    assert.equal(checked.issuerPem, b.certPem);
    assert.equal(checked.certificates.length, 2);
    const c = await createCa();
    await assert.rejects(
      checkCaMaterial(
        loadX509(),
        { certPem: a.certPem + b.certPem, key: c.key },
        { cert: 'ca.pem', key: 'k' },
      ),
      (err: unknown) =>
        err instanceof ConfigError && /not the key of any certificate in ca\.pem/.test(err.message),
    );
  });

  it('let a server certificate from any trusted CA stay when drover only trusts (no key)', async () => {
    const a = await createCa();
    const b = await createCa();
    const req = { dc: 'dc1', ipAddresses: ['10.0.0.1'] };
    const fromB = await createServerCert(b, req);
    assert.deepEqual(renewalReasons(fromB.certPem, a.certPem + b.certPem, req), []);
    assert.match(renewalReasons(fromB.certPem, a.certPem, req).join(), /not issued by the current CA/);
  });
});

describe("an operator's own CA change: both certificates in consul_tls_ca_crt", () => {
  it('is trusted whole, and the certificate the key belongs to issues', async () => {
    const { inv } = await deployedInventory();
    const oldCa = await createCa({ now: new Date('2026-01-01T00:00:00Z') });
    const newCa = await createCa({ now: new Date('2026-06-01T00:00:00Z') });
    writeFileSync(join(tlsDir(inv.file), 'ours.pem'), newCa.certPem + oldCa.certPem);
    const host = inv.hosts.get('s1') as Host;
    const vars = { ...host.vars, consul_tls_ca_crt: 'prod.tls/ours.pem', consul_tls_ca_key: newCa.key };
    const ours: Inventory = { ...inv, hosts: new Map([['s1', { ...host, vars }]]) };
    const v = await hostVars(ours);
    assert.equal(v.trusted, newCa.certPem + oldCa.certPem, 'the file as it is');
    assert.equal(v.issuer, newCa.certPem);
    assert.equal((await resolveTlsCa(ours, { create: false, env: {} })).rotation, undefined);
  });
});

describe('a CA rotation beside the inventory', () => {
  it('trusts both CAs while the old one issues, then both while the new one issues, then the new one only', async () => {
    const { inv, oldCa } = await deployedInventory();
    const files = caRotationFiles(caFilesBeside(inv.file));
    const seen: { stage: CaRotationStage; trusted: string[]; issuer: string }[] = [];
    const code = await rotateCa({
      inventory: inv,
      ask: async () => true,
      warn: () => undefined,
      runStep: async (stage) => {
        const v = await hostVars(inv);
        seen.push({ stage, trusted: fingerprints(v.trusted), issuer: v.issuer });
        // The issuer's key is the one the host is given.
        await checkCaMaterial(
          loadX509(),
          { certPem: v.issuer, key: new Secret(v.key) },
          { cert: 'i', key: 'k' },
        );
        return ExitCode.ok;
      },
    });
    assert.equal(code, ExitCode.ok);
    const newCa = readFileSync(caFilesBeside(inv.file).cert, 'utf8');
    assert.notEqual(newCa, oldCa);
    const both = fingerprints(oldCa + newCa);
    assert.deepEqual(
      seen.map((s) => s.stage),
      ['trust', 'issue', 'drop'],
    );
    assert.deepEqual(seen[0]?.trusted, both);
    assert.equal(seen[0]?.issuer, oldCa);
    assert.deepEqual(seen[1]?.trusted, both);
    assert.equal(seen[1]?.issuer, newCa);
    assert.deepEqual(seen[2]?.trusted, fingerprints(newCa));
    assert.equal(seen[2]?.issuer, newCa);
    for (const f of Object.values(files)) assert.equal(existsSync(f), false, f);
    assert.equal((await hostVars(inv)).trusted, newCa);
  });

  it('resumes at the step that failed, without asking again', async () => {
    const { inv } = await deployedInventory();
    let asked = 0;
    const steps: CaRotationStage[] = [];
    const run = (failAt?: CaRotationStage) =>
      rotateCa({
        inventory: inv,
        ask: async () => (asked++, true),
        warn: () => undefined,
        runStep: async (stage) => (steps.push(stage), stage === failAt ? ExitCode.gateAborted : ExitCode.ok),
      });
    assert.equal(await run('issue'), ExitCode.gateAborted);
    const r = await resolveTlsCa(inv, { create: false, env: {} });
    assert.equal(r.rotation, 'issue');
    assert.ok(r.notes.some((n) => /CA rotation is under way \(step 2 of 3/.test(n)));
    assert.equal(await run(), ExitCode.ok);
    assert.deepEqual(steps, ['trust', 'issue', 'issue', 'drop']);
    assert.equal(asked, 1);
  });

  it('reads every state a promotion cut short can leave as one that trusts both, with an issuer and its key', async () => {
    const { inv, oldCa, oldKey } = await deployedInventory();
    const ca = caFilesBeside(inv.file);
    const files = caRotationFiles(ca);
    await startCaRotation(files, {});
    const nextCa = readFileSync(files.nextCert, 'utf8');
    const nextKey = readFileSync(files.nextKey, 'utf8');
    const both = fingerprints(oldCa + nextCa);
    // The files after each write of promoteNextCa, in its order.
    const states: Record<string, string>[] = [
      { [files.previous]: oldCa },
      { [files.previous]: oldCa, [ca.cert]: trustBundle([oldCa, nextCa]) },
      { [files.previous]: oldCa, [ca.cert]: trustBundle([oldCa, nextCa]), [ca.key]: nextKey },
      { [files.previous]: oldCa, [ca.cert]: nextCa, [ca.key]: nextKey },
    ];
    for (const [i, writes] of states.entries()) {
      const dir = mkdtempSync(join(tmpdir(), 'drover-ca-cut-'));
      const at = inventoryAt(join(dir, 'prod.yaml'));
      const here = caFilesBeside(at.file);
      const hereFiles = caRotationFiles(here);
      mkdirSync(tlsDir(at.file), { mode: 0o700 });
      const put = (file: string, text: string) =>
        writeFileSync(file, text, { mode: file.includes('key') ? 0o600 : 0o644 });
      put(here.cert, oldCa);
      put(here.key, oldKey);
      put(hereFiles.nextCert, nextCa);
      put(hereFiles.nextKey, nextKey);
      for (const [file, text] of Object.entries(writes))
        put(file.replace(tlsDir(inv.file), tlsDir(at.file)), text);
      const v = await hostVars(at);
      assert.deepEqual(fingerprints(v.trusted), both, `state ${i}`);
      await checkCaMaterial(
        loadX509(),
        { certPem: v.issuer, key: new Secret(v.key) },
        { cert: 'i', key: 'k' },
      );
      // The last state is a promotion that only lacks its clean-up, which a run that changes hosts does.
      if (i < states.length - 1) await promoteNextCa(hereFiles, here);
      else assert.equal(existsSync(hereFiles.nextCert), false);
      assert.equal(readFileSync(here.cert, 'utf8'), nextCa, `state ${i}`);
      assert.equal(readFileSync(here.key, 'utf8').trim(), nextKey.trim(), `state ${i}`);
      const after = await readCaRotation(hereFiles, {
        certificates: [nextCa],
        key: new Secret(nextKey),
      });
      assert.equal(after.stage, 'issue', `state ${i}`);
    }
  });

  it('refuses a CA that is not the one kept beside the inventory', async () => {
    const { inv } = await deployedInventory();
    const theirs = await createCa();
    const dir = tlsDir(inv.file);
    writeFileSync(join(dir, 'theirs.pem'), theirs.certPem);
    const host = inv.hosts.get('s1') as Host;
    const withTheirs: Inventory = {
      ...inv,
      hosts: new Map([['s1', { ...host, vars: { ...host.vars, consul_tls_ca_crt: 'prod.tls/theirs.pem' } }]]),
    };
    await assert.rejects(
      rotateCa({
        inventory: withTheirs,
        ask: async () => true,
        warn: () => undefined,
        runStep: async () => 0,
      }),
      /replacing it is yours/,
    );
  });
});
