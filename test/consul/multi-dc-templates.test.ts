import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertAgentConfig } from '../../src/consul/agent/agent-config.js';
import { renderTemplate } from '../../src/template/render.js';
import type { Vars } from '../../src/inventory/types.js';

const template = (name: string): string =>
  readFileSync(new URL(`../../templates/consul/${name}`, import.meta.url), 'utf8');
const SERVER = template('server.json.hbs');
const CLIENT = template('client.json.hbs');

/** Two datacenters in one inventory: `consul_datacenter` set per datacenter group. */
const HOSTVARS: Record<string, Vars> = {
  a1: { bind_addr: '10.0.1.1', consul_datacenter: 'east' },
  a2: { bind_addr: '10.0.1.2', consul_datacenter: 'east' },
  a3: { bind_addr: '10.0.1.3', consul_datacenter: 'east' },
  b1: { bind_addr: '10.0.2.1', consul_datacenter: 'west' },
  b2: { bind_addr: '10.0.2.2', consul_datacenter: 'west' },
  b3: { bind_addr: '10.0.2.3', consul_datacenter: 'west' },
  ca: { bind_addr: '10.0.1.9', consul_datacenter: 'east' },
  cb: { bind_addr: '10.0.2.9', consul_datacenter: 'west' },
};

function varsFor(host: string, extra: Vars = {}, hostvars: Record<string, Vars> = HOSTVARS): Vars {
  return {
    ...hostvars[host],
    inventory_hostname: host,
    groups: {
      all: Object.keys(hostvars),
      servers: Object.keys(hostvars).filter((h) => !h.startsWith('c')),
      clients: Object.keys(hostvars).filter((h) => h.startsWith('c')),
    },
    hostvars,
    consul_node_name: '',
    consul_bootstrap_expect: '',
    consul_retry_interval: '2s',
    consul_ui: true,
    consul_client_addr: '',
    consul_log_level: 'info',
    consul_rejoin_after_leave: true,
    ...extra,
  };
}

const config = (source: string, host: string, extra?: Vars, hostvars?: Record<string, Vars>) =>
  assertAgentConfig(
    renderTemplate(source, varsFor(host, extra, hostvars), { name: 'test', reveal: true }),
    `${host} consul.json`,
  );

test('a server joins its own datacenter on the LAN and the other datacenters over the WAN', () => {
  const b2 = config(SERVER, 'b2');
  assert.equal(b2['datacenter'], 'west');
  assert.deepEqual(b2['retry_join'], ['10.0.2.1', '10.0.2.2', '10.0.2.3']);
  assert.deepEqual(b2['retry_join_wan'], ['10.0.1.1', '10.0.1.2', '10.0.1.3']);
  assert.equal(b2['retry_interval_wan'], '2s');
  // Each datacenter bootstraps from its own servers only.
  assert.equal(b2['bootstrap_expect'], 3);
});

test('a client joins only the servers of its own datacenter and has no WAN', () => {
  const ca = config(CLIENT, 'ca');
  assert.deepEqual(ca['retry_join'], ['10.0.1.1', '10.0.1.2', '10.0.1.3']);
  assert.equal('retry_join_wan' in ca, false);
});

test('one datacenter: no retry_join_wan, unless consul_retry_join_wan names servers elsewhere', () => {
  const single: Record<string, Vars> = {
    a1: { bind_addr: '10.0.1.1', consul_datacenter: 'east' },
    a2: { bind_addr: '10.0.1.2', consul_datacenter: 'east' },
    a3: { bind_addr: '10.0.1.3', consul_datacenter: 'east' },
  };
  const plain = config(SERVER, 'a1', {}, single);
  assert.equal('retry_join_wan' in plain, false);
  assert.equal('retry_interval_wan' in plain, false);
  const peered = config(
    SERVER,
    'a1',
    { consul_retry_join_wan: ['10.0.2.1', '10.0.2.2', '10.0.1.1'] },
    single,
  );
  assert.deepEqual(peered['retry_join_wan'], ['10.0.2.1', '10.0.2.2', '10.0.1.1']);
});

test('in a two-datacenter inventory, consul_retry_join_wan adds to the other datacenters, without duplicates', () => {
  const a1 = config(SERVER, 'a1', { consul_retry_join_wan: ['10.0.3.1', '10.0.2.1'] });
  assert.deepEqual(a1['retry_join_wan'], ['10.0.2.1', '10.0.2.2', '10.0.2.3', '10.0.3.1']);
});

test('hosts that name no datacenter count as one (the single-datacenter inventories of before)', () => {
  const none: Record<string, Vars> = {
    s1: { bind_addr: '10.0.0.1' },
    s2: { bind_addr: '10.0.0.2' },
    s3: { bind_addr: '10.0.0.3' },
  };
  const s1 = config(SERVER, 's1', { consul_datacenter: 'dc1' }, none);
  assert.deepEqual(s1['retry_join'], ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  assert.equal(s1['bootstrap_expect'], 3);
  assert.equal('retry_join_wan' in s1, false);
});

test('ACLs across datacenters: every agent names the primary; only servers elsewhere replicate, with their token', () => {
  const acl: Vars = {
    consul_acl_enable: true,
    consul_acl_default_policy: 'deny',
    consul_acl_down_policy: 'extend-cache',
    consul_acl_tokens: true,
    consul_acl_datacenter: 'east',
    drover_acl_agent_token: '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b',
    drover_acl_dns_token: '7a2e3d4c-5b6f-4a71-9b8c-0d1e2f3a4b5c',
    drover_acl_services_token: '9c4a5f6e-7d8b-4c93-8dae-2f3a4b5c6d7e',
  };
  const replication = '8b3f4e5d-6c7a-4b82-8c9d-1e2f3a4b5c6d';
  const a1 = config(SERVER, 'a1', acl);
  const b1 = config(SERVER, 'b1', { ...acl, drover_acl_replication_token: replication });
  const cb = config(CLIENT, 'cb', acl);
  for (const c of [a1, b1, cb]) assert.equal(c['primary_datacenter'], 'east');
  const aclOf = (c: Record<string, unknown>) => c['acl'] as Record<string, unknown>;
  assert.equal('enable_token_replication' in aclOf(a1), false);
  assert.equal('replication' in (aclOf(a1)['tokens'] as object), false);
  assert.equal(aclOf(b1)['enable_token_replication'], true);
  assert.equal((aclOf(b1)['tokens'] as Record<string, unknown>)['replication'], replication);
  assert.equal('enable_token_replication' in aclOf(cb), false);
  // Every agent registers its config files' services with its services token.
  for (const c of [a1, b1, cb])
    assert.equal(
      (aclOf(c)['tokens'] as Record<string, unknown>)['config_file_service_registration'],
      acl['drover_acl_services_token'],
    );
  // Replication is on from the first start, even before the agents carry tokens.
  const tokenless = config(SERVER, 'b1', {
    ...acl,
    consul_acl_tokens: false,
    consul_acl_default_policy: 'allow',
  });
  assert.equal(aclOf(tokenless)['enable_token_replication'], true);
  assert.equal('tokens' in aclOf(tokenless), false);
  // One datacenter that names no primary renders none: its own is the primary.
  assert.equal('primary_datacenter' in config(SERVER, 'a1', { ...acl, consul_acl_datacenter: '' }), false);
  assert.equal('primary_datacenter' in config(SERVER, 'b1', { consul_acl_datacenter: 'east' }), false);
});
