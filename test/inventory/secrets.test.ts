import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { isSecret, type Secret } from '../../src/shell/secret.js';
import { inventoryList } from '../../src/inventory/show.js';
import { inventory, lines, problems } from './helpers.js';

const text = lines(
  'all:',
  '  vars:',
  '    consul_encrypt: pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=',
  '    acl_token: tok-1234',
  '    db_password: { env: DB_PASS }',
  '    api_secret: { env: API_SECRET }',
  '    image_tag: { env: IMAGE_TAG }',
  '    nested:',
  '      replication_token: rep-5678',
  '      name: plain',
  '    token_count: 3',
  '  hosts:',
  '    s1: { address: 10.0.0.1 }',
);
const env = { DB_PASS: 'hunter22', API_SECRET: 'shh-9999', IMAGE_TAG: '1.20.1' };

test('secret-named vars are wrapped in Secret, at any depth; other vars are not', () => {
  const vars = inventory(text, env).hosts.get('s1')?.vars ?? {};
  for (const name of ['consul_encrypt', 'acl_token', 'db_password', 'api_secret']) {
    assert.ok(isSecret(vars[name]), `${name} should be a Secret`);
  }
  assert.equal((vars['consul_encrypt'] as Secret).reveal(), 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=');
  const nested = vars['nested'] as Record<string, unknown>;
  assert.ok(isSecret(nested['replication_token']));
  assert.equal(nested['name'], 'plain');
  assert.equal(vars['token_count'], 3);
});

test('{ env: NAME } reads the environment; a secret from the environment is a Secret too', () => {
  const vars = inventory(text, env).hosts.get('s1')?.vars ?? {};
  assert.equal((vars['db_password'] as Secret).reveal(), 'hunter22');
  assert.equal(vars['image_tag'], '1.20.1');
});

test('no secret value appears in the list output, JSON or inspect output', () => {
  const inv = inventory(text, env);
  const listed = inventoryList(inv);
  const s1 = listed._meta.hostvars['s1'] ?? {};
  assert.equal(s1['consul_encrypt'], '<redacted>');
  assert.equal(s1['db_password'], '<redacted>');
  assert.deepEqual(s1['nested'], { replication_token: '<redacted>', name: 'plain' });
  const shown = JSON.stringify(listed) + inspect(inv, { depth: 10 });
  for (const clear of ['pUqJrVyVRj5', 'tok-1234', 'rep-5678', 'hunter22', 'shh-9999']) {
    assert.ok(!shown.includes(clear), `${clear} leaked`);
  }
});

test('a missing or empty environment variable names the var and the variable, never a value', () => {
  assert.deepEqual(problems(text, { IMAGE_TAG: '', API_SECRET: 'shh-9999' }), [
    '/inv/prod.yaml:5:18 all.vars.db_password: db_password comes from the environment variable DB_PASS, ' +
      'which is not set or empty',
    '/inv/prod.yaml:7:16 all.vars.image_tag: image_tag comes from the environment variable IMAGE_TAG, ' +
      'which is not set or empty',
  ]);
});

test('a secret must be text: the schema says so at the top level, the loader below it', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  vars:',
        '    ssh_password: 1234',
        '    acl:',
        '      agent_token: [a, b]',
        '  hosts:',
        '    s1: { address: 10.0.0.1 }',
      ),
    ),
    ['/inv/prod.yaml:3:19 all.vars.ssh_password: must be a string or a mapping'],
  );
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  vars:',
        '    acl:',
        '      agent_token: [a, b]',
        '  hosts:',
        '    s1: { address: 10.0.0.1 }',
      ),
    ),
    [
      '/inv/prod.yaml:4:20 all.vars.acl.agent_token: must be a string (quoted) or { env: NAME }: agent_token is a secret',
    ],
  );
});

test('an env reference with a bad variable name or extra keys is a schema error', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  vars:',
        '    consul_encrypt: { env: 1KEY }',
        '    ssh_user: { env: USER, default: root }',
        '  hosts:',
        '    s1: { address: 10.0.0.1 }',
      ),
    ),
    [
      '/inv/prod.yaml:3:28 all.vars.consul_encrypt.env: must match the pattern ^[A-Za-z_][A-Za-z0-9_]*$',
      '/inv/prod.yaml:4:37 all.vars.ssh_user.default: unknown key',
    ],
  );
});

test('consul_tls_ca_key is a secret by name, and consul_tls_ca_crt a path beside the inventory', () => {
  const inv = inventory(
    lines(
      'all:',
      '  vars:',
      '    consul_tls_ca_key: { env: CA_KEY }',
      '    consul_tls_ca_crt: prod.tls/consul-agent-ca.pem',
      '  hosts:',
      '    s1: { address: 10.0.0.1 }',
    ),
    { CA_KEY: '-----BEGIN EC PRIVATE KEY-----' },
  );
  const vars = inv.hosts.get('s1')?.vars ?? {};
  assert.ok(isSecret(vars['consul_tls_ca_key']));
  assert.equal((vars['consul_tls_ca_key'] as Secret).reveal(), '-----BEGIN EC PRIVATE KEY-----');
  assert.doesNotMatch(JSON.stringify(inventoryList(inv)), /BEGIN EC PRIVATE KEY/);
  assert.equal(vars['consul_tls_ca_crt'], '/inv/prod.tls/consul-agent-ca.pem');
});
