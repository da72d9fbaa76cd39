import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  applyTlsCa,
  caFilesBeside,
  resolveTlsCa,
  TLS_CA_KEY_ENV,
  tlsDir,
} from '../../src/app/tls-material-source.js';
import { ConfigError } from '../../src/errors.js';
import type { Host, Inventory } from '../../src/inventory/types.js';
import { Secret } from '../../src/shell/secret.js';
import { createCa } from '../../src/tls/certificate-authority.js';
import { createServerCert } from '../../src/tls/server-certificate.js';
import { OpensslDir } from './openssl.js';

function inventory(
  file: string,
  vars: Record<string, unknown> = {},
  s2: Record<string, unknown> = vars,
): Inventory {
  const host = (name: string, address: string, own: Record<string, unknown>): Host => ({
    name,
    address,
    groups: ['all', 'servers'],
    vars: { address, ...own },
  });
  return {
    file,
    hosts: new Map([
      ['s1', host('s1', '10.0.0.1', vars)],
      ['s2', host('s2', '10.0.0.2', s2)],
    ]),
    groups: new Map([
      [
        'servers',
        { name: 'servers', vars: {}, children: [], directHosts: ['s1', 's2'], hosts: ['s1', 's2'] },
      ],
    ]),
    warnings: [],
  };
}

const freshInventoryFile = (): string => join(mkdtempSync(join(tmpdir(), 'drover-tls-src-')), 'prod.yaml');
const mode = (file: string): number => statSync(file).mode & 0o777;
const NO_ENV = {};

/** The body lines of a PEM key: what must never show up anywhere, even in part. */
const keyLines = (pem: Secret): string[] =>
  pem
    .reveal()
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('-----'));

function assertNoKeyText(text: string, ...keys: Secret[]): void {
  assert.doesNotMatch(text, /PRIVATE KEY/);
  for (const k of keys)
    for (const line of keyLines(k)) assert.ok(!text.includes(line), `key text in: ${text}`);
}

async function refusal(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('resolved, expected a refusal');
}

describe('the CA beside the inventory', () => {
  it('is only announced by a run that changes nothing', async () => {
    const file = freshInventoryFile();
    const r = await resolveTlsCa(inventory(file), { create: false, env: NO_ENV });
    assert.equal(r.source, 'new');
    assert.deepEqual(r.notes, [`note: no CA in ${tlsDir(file)}; deploy will create one there`]);
    assert.equal(existsSync(tlsDir(file)), false);
  });

  it('is made once (key 0600, folder 0700), then reused as it is', async () => {
    const file = freshInventoryFile();
    const made = await resolveTlsCa(inventory(file), { create: true, env: NO_ENV });
    const files = caFilesBeside(file);
    assert.equal(made.source, 'new');
    assert.deepEqual([made.certFile, made.keyFile], [files.cert, files.key]);
    assert.equal(files.cert, join(tlsDir(file), 'consul-agent-ca.pem'));
    assert.equal(files.key, join(tlsDir(file), 'consul-agent-ca-key.pem'));
    assert.equal(mode(files.key), 0o600);
    assert.equal(mode(files.cert), 0o644);
    assert.equal(mode(tlsDir(file)), 0o700);
    assert.match(
      made.notes[0] as string,
      /^wrote a new CA to .*consul-agent-ca\.pem and its key to .*\(mode 0600\)/,
    );
    assertNoKeyText(JSON.stringify(made) + made.notes.join('\n'), made.ca?.key as Secret);

    const ssl = new OpensslDir();
    assert.match(ssl.run('verify', '-CAfile', files.cert, files.cert), /: OK/);
    assert.match(ssl.attempt('ec', '-in', files.key, '-check', '-noout').output, /EC Key valid/);

    const again = await resolveTlsCa(inventory(file), { create: true, env: NO_ENV });
    assert.equal(again.source, 'file');
    assert.deepEqual(again.notes, []);
    assert.equal(again.ca?.certPem, readFileSync(files.cert, 'utf8'));
    assert.equal(again.ca?.key?.reveal(), readFileSync(files.key, 'utf8'));
    assert.equal(again.caFacts?.fingerprintSha256, made.caFacts?.fingerprintSha256);
    const cert = await createServerCert(again.ca!, { dc: 'dc1', ipAddresses: ['10.0.0.1'] });
    assert.match(ssl.run('verify', '-CAfile', files.cert, ssl.write('s1.pem', cert.certPem)), /: OK/);
  });

  it('is refused when others can read its key', async () => {
    const file = freshInventoryFile();
    await resolveTlsCa(inventory(file), { create: true, env: NO_ENV });
    const { key } = caFilesBeside(file);
    chmodSync(key, 0o644);
    const err = await refusal(resolveTlsCa(inventory(file), { create: true, env: NO_ENV }));
    assert.equal(err.message, `${key}: CA key file is readable by others (mode 644); chmod 600 it`);
  });

  it('a key left without its certificate is refused, not replaced', async () => {
    const file = freshInventoryFile();
    await resolveTlsCa(inventory(file), { create: true, env: NO_ENV });
    const { cert, key } = caFilesBeside(file);
    unlinkSync(cert);
    const err = await refusal(resolveTlsCa(inventory(file), { create: true, env: NO_ENV }));
    assert.match(
      err.message,
      /consul-agent-ca-key\.pem: is a CA key without its certificate: put the certificate at /,
    );
    assert.match(err.message, /remove the key to make a new CA/);
    assert.ok(existsSync(key));
  });

  it('is off when every host says consul_tls_enable: false', async () => {
    const file = freshInventoryFile();
    const off = await resolveTlsCa(inventory(file, { consul_tls_enable: false }), {
      create: true,
      env: NO_ENV,
    });
    assert.deepEqual(off, { source: 'disabled', notes: [] });
    const one = await resolveTlsCa(inventory(file, { consul_tls_enable: false }, {}), {
      create: false,
      env: NO_ENV,
    });
    assert.equal(one.source, 'new');
  });
});

describe('a CA supplied by the operator', async () => {
  const ca = await createCa();
  const other = await createCa();
  /** An inventory folder holding `ca.pem` (the operator's CA certificate) and `ca-key.pem` (0600). */
  function operatorFiles(): { file: string; dir: string } {
    const dir = mkdtempSync(join(tmpdir(), 'drover-tls-op-'));
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki', 'ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'pki', 'ca-key.pem'), ca.key.reveal(), { mode: 0o600 });
    return { file: join(dir, 'prod.yaml'), dir };
  }

  it('as paths relative to the inventory', async () => {
    const { file, dir } = operatorFiles();
    const vars = { consul_tls_ca_crt: 'pki/ca.pem', consul_tls_ca_key: 'pki/ca-key.pem' };
    const r = await resolveTlsCa(inventory(file, vars), { create: true, env: NO_ENV });
    assert.equal(r.source, 'inventory');
    assert.equal(r.certFile, join(dir, 'pki', 'ca.pem'));
    assert.equal(r.keyFile, join(dir, 'pki', 'ca-key.pem'));
    assert.equal(r.ca?.key?.reveal(), ca.key.reveal());
    assert.equal(existsSync(tlsDir(file)), false, 'nothing made beside the inventory');
  });

  it('with the key from the environment (inventory `{ env: NAME }` or DROVER_TLS_CA_KEY)', async () => {
    const { file } = operatorFiles();
    const fromVar = await resolveTlsCa(
      inventory(file, { consul_tls_ca_crt: 'pki/ca.pem', consul_tls_ca_key: new Secret(ca.key.reveal()) }),
      { create: true, env: NO_ENV },
    );
    assert.equal(fromVar.source, 'inventory');
    const fromEnv = await resolveTlsCa(inventory(file, { consul_tls_ca_crt: 'pki/ca.pem' }), {
      create: true,
      env: { [TLS_CA_KEY_ENV]: ca.key.reveal() },
    });
    assert.equal(fromEnv.source, 'env');
    assert.equal(fromEnv.keyFile, undefined);
    assert.ok(fromEnv.ca?.key instanceof Secret);
    assertNoKeyText(JSON.stringify(fromEnv), ca.key);
  });

  it('beside the inventory, the certificate kept in git and the key from CI', async () => {
    const file = freshInventoryFile();
    mkdirSync(tlsDir(file));
    writeFileSync(caFilesBeside(file).cert, ca.certPem);
    const r = await resolveTlsCa(inventory(file), {
      create: true,
      env: { [TLS_CA_KEY_ENV]: ca.key.reveal() },
    });
    assert.equal(r.source, 'env');
    assert.equal(r.ca?.certPem, ca.certPem);
  });

  it('as the certificate only: CA only, nothing is made', async () => {
    const { file } = operatorFiles();
    const r = await resolveTlsCa(inventory(file, { consul_tls_ca_crt: 'pki/ca.pem' }), {
      create: true,
      env: NO_ENV,
    });
    assert.equal(r.source, 'ca-only');
    assert.equal(r.ca?.key, undefined);
    assert.equal(r.caFacts?.isCa, true);
    assert.match(r.notes[0] as string, /but not its key: it trusts this CA and makes no certificates/);
    assert.equal(existsSync(tlsDir(file)), false);
    await assert.rejects(createServerCert(r.ca!, { dc: 'dc1' }), /has its certificate but not its key/);
  });

  it('is refused, without ever quoting a key, when the parts do not fit', async () => {
    const { file } = operatorFiles();
    const rsa = new Secret(
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }) as string,
    );
    const damaged = new Secret(ca.key.reveal().replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA'));
    const crt = { consul_tls_ca_crt: 'pki/ca.pem' };
    const env = (k: Secret) => ({ [TLS_CA_KEY_ENV]: k.reveal() });
    const cases: [() => Promise<unknown>, RegExp][] = [
      [
        () => resolveTlsCa(inventory(file, crt), { create: true, env: env(other.key) }),
        new RegExp(`^environment variable ${TLS_CA_KEY_ENV}: is not the key of .*pki/ca\\.pem$`),
      ],
      [
        () => resolveTlsCa(inventory(file, crt), { create: true, env: env(rsa) }),
        /: is a rsa key; drover signs with ECDSA P-256 keys/,
      ],
      [
        () => resolveTlsCa(inventory(file, crt), { create: true, env: env(damaged) }),
        /: is not (a PEM private key|the key of)/,
      ],
      [
        () =>
          resolveTlsCa(inventory(file, { ...crt, consul_tls_ca_key: new Secret(other.key.reveal()) }), {
            create: true,
            env: NO_ENV,
          }),
        /prod\.yaml: consul_tls_ca_key: is not the key of/,
      ],
      [
        () =>
          resolveTlsCa(inventory(file, { consul_tls_ca_crt: 'pki/missing.pem' }), {
            create: true,
            env: NO_ENV,
          }),
        /prod\.yaml: consul_tls_ca_crt: names .*pki\/missing\.pem, which does not exist/,
      ],
      [
        () =>
          resolveTlsCa(inventory(file, { consul_tls_ca_crt: 'pki/ca-key.pem' }), {
            create: true,
            env: NO_ENV,
          }),
        /pki\/ca-key\.pem: is not a PEM certificate/,
      ],
      [
        () =>
          resolveTlsCa(inventory(file, crt, { consul_tls_ca_crt: 'pki/other.pem' }), {
            create: true,
            env: NO_ENV,
          }),
        /consul_tls_ca_crt: differs between hosts; one CA serves the whole inventory/,
      ],
    ];
    const body = keyLines(ca.key);
    for (const pasted of [body.join(''), body.join('\n'), `${body.join('')}`.repeat(3)]) {
      cases.push([
        () =>
          resolveTlsCa(inventory(file, { ...crt, consul_tls_ca_key: new Secret(pasted) }), {
            create: true,
            env: NO_ENV,
          }),
        /prod\.yaml: consul_tls_ca_key: is neither PEM text nor the path of a file \(relative to the inventory\)$/,
      ]);
    }
    for (const [attempt, message] of cases) {
      const err = await refusal(attempt());
      assert.match(err.message, message);
      assertNoKeyText(
        `${err.message}\n${err.stack}\n${JSON.stringify(err)}`,
        ca.key,
        other.key,
        rsa,
        damaged,
      );
    }
  });
});

describe('the CA for a Consul playbook run (applyTlsCa)', () => {
  it('asks for nothing unless some host turns TLS on (the playbooks default it to false)', async () => {
    const file = freshInventoryFile();
    const inv = inventory(file);
    const lines: string[] = [];
    assert.equal(await applyTlsCa(inv, { create: true, env: NO_ENV, warn: (l) => lines.push(l) }), inv);
    assert.deepEqual(lines, []);
    assert.equal(existsSync(tlsDir(file)), false, 'no CA is made for a cluster without TLS');
  });

  it('hands the run the CA certificate and its key as a Secret, and says when the CA expires', async () => {
    const file = freshInventoryFile();
    const lines: string[] = [];
    const out = await applyTlsCa(inventory(file, { consul_tls_enable: true }), {
      create: true,
      env: NO_ENV,
      warn: (l) => lines.push(l),
    });
    const files = caFilesBeside(file);
    for (const host of out.hosts.values()) {
      assert.equal(host.vars['drover_tls_ca_pem'], readFileSync(files.cert, 'utf8'));
      const key = host.vars['consul_tls_ca_key'];
      assert.ok(key instanceof Secret);
      assert.equal(key.reveal(), readFileSync(files.key, 'utf8'));
    }
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^wrote a new CA to /);
    assert.match(
      lines[1] ?? '',
      /^note: CA .*consul-agent-ca\.pem \(Consul Agent CA \d+\) expires \d{4}-\d\d-\d\d \(182[45] days\)$/,
    );
    assert.ok(!lines.join('\n').includes('PRIVATE KEY'));
  });

  it('plan announces the CA it would make and writes nothing', async () => {
    const file = freshInventoryFile();
    const lines: string[] = [];
    const out = await applyTlsCa(inventory(file, { consul_tls_enable: true }), {
      create: false,
      env: NO_ENV,
      warn: (l) => lines.push(l),
    });
    assert.match(lines[0] ?? '', /^note: no CA in .*; deploy will create one there$/);
    assert.equal(existsSync(tlsDir(file)), false);
    assert.equal(typeof out.hosts.get('s1')?.vars['drover_tls_ca_pem'], 'string');
  });
});
