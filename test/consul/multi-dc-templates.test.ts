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
