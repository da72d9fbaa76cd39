import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/errors.js';
import { checkConsulInventory } from '../../src/inventory/consul-checks.js';
import { loadInventory } from '../../src/inventory/load.js';
import { isSecret } from '../../src/shell/secret.js';

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

test('inventories/lab.yaml loads, matches the lab and passes the Consul checks', async () => {
  const inv = await loadInventory(repo('inventories/lab.yaml'), { env: {} });
  assert.deepEqual(checkConsulInventory(inv), { errors: [], warnings: [] });
  assert.deepEqual(inv.warnings, []);
  assert.deepEqual(inv.groups.get('servers')?.hosts, ['h1', 'h2', 'h3']);
  assert.deepEqual(inv.groups.get('clients')?.hosts, ['h4', 'h5']);
  assert.deepEqual(
    [...inv.hosts.values()].map((h) => h.address),
    ['10.213.0.11', '10.213.0.12', '10.213.0.13', '10.213.0.14', '10.213.0.15'],
  );
  const h1 = inv.hosts.get('h1')?.vars ?? {};
  assert.equal(h1['ssh_key'], repo('test/lab/state/ssh/id_ed25519'));
  assert.equal(h1['ssh_known_hosts'], repo('test/lab/state/ssh/known_hosts'));
  assert.equal(h1['consul_image'], '10.213.0.1:5000/consul:1.20.1');
  assert.equal(h1['consul_datacenter'], 'lab');
  assert.equal(h1['consul_data_dir'], '/opt/platform/consul/data');
  assert.equal(h1['consul_encrypt'], undefined);
});

test('inventories/prod.example.yaml needs CONSUL_GOSSIP_KEY and then passes the Consul checks', async () => {
  const file = repo('inventories/prod.example.yaml');
  await assert.rejects(loadInventory(file, { env: {} }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /all\.vars\.consul_encrypt: .*environment variable CONSUL_GOSSIP_KEY/);
    return true;
  });
  const inv = await loadInventory(file, {
    env: { CONSUL_GOSSIP_KEY: 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=' },
  });
  assert.deepEqual(checkConsulInventory(inv), { errors: [], warnings: [] });
  assert.deepEqual(inv.groups.get('servers')?.hosts, ['s1', 's2', 's3']);
  assert.equal(inv.groups.get('clients')?.hosts.length, 2);
  const s1 = inv.hosts.get('s1')?.vars ?? {};
  assert.ok(isSecret(s1['consul_encrypt']));
  assert.equal(s1['consul_image'], 'hashicorp/consul:1.20.1');
  assert.equal(s1['consul_config_dir'], '/opt/platform/consul/config');
});
