import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertAgentConfig } from '../../src/consul/agent/agent-config.js';
import { ConfigError } from '../../src/errors.js';
import { Secret } from '../../src/shell/secret.js';
import { renderTemplate } from '../../src/template/render.js';
import type { Vars } from '../../src/inventory/types.js';

const template = (name: string): string =>
  readFileSync(new URL(`../../templates/consul/${name}`, import.meta.url), 'utf8');
const SERVER = template('server.json.hbs');
const CLIENT = template('client.json.hbs');

// A key in `consul keygen`'s format (base64 of 32 bytes); made up for this test.
const GOSSIP_KEY = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';

/** What the deploy playbook gives every host: its own vars plus the whole inventory's. */
function varsFor(host: string, extra: Vars = {}): Vars {
  const hostvars: Record<string, Vars> = {
    s1: { address: '192.168.0.1', bind_addr: '10.0.0.11' },
    s2: { address: '192.168.0.2', bind_addr: '10.0.0.12' },
    s3: { address: '192.168.0.3', bind_addr: '10.0.0.13' },
    c1: { address: '192.168.0.21', bind_addr: '10.0.0.21' },
  };
  return {
    ...hostvars[host],
    inventory_hostname: host,
    groups: { all: Object.keys(hostvars), servers: ['s1', 's2', 's3'], clients: ['c1'] },
    hostvars,
    consul_datacenter: 'dc1',
    consul_node_name: '',
    consul_bootstrap_expect: '',
    consul_retry_interval: '30s',
    consul_ui: true,
    consul_client_addr: '',
    consul_log_level: 'info',
    consul_rejoin_after_leave: true,
    ...extra,
  };
}

const render = (source: string, vars: Vars, reveal = true): string =>
  renderTemplate(source, vars, { name: 'templates/consul/test.json.hbs', reveal });

test('server template: the agent JSON drover writes, valid against the schema', () => {
  const text = render(SERVER, varsFor('s2'));
  assert.deepEqual(assertAgentConfig(text, 's2 consul.json'), {
    datacenter: 'dc1',
    node_name: 's2',
    data_dir: '/consul/data',
    server: true,
    bootstrap_expect: 3,
    ui_config: { enabled: true },
    bind_addr: '10.0.0.12',
    client_addr: '127.0.0.1 10.0.0.12',
    retry_join: ['10.0.0.11', '10.0.0.12', '10.0.0.13'],
    retry_interval: '30s',
    rejoin_after_leave: true,
    skip_leave_on_interrupt: true,
    log_level: 'info',
  });
});

test('bootstrap_expect defaults to the size of the servers group, and can be set', () => {
  assert.equal(assertAgentConfig(render(SERVER, varsFor('s1')), 's1')['bootstrap_expect'], 3);
  const five = render(SERVER, varsFor('s1', { consul_bootstrap_expect: 5 }));
  assert.equal(assertAgentConfig(five, 's1')['bootstrap_expect'], 5);
});

test("consul_raft_multiplier renders performance.raft_multiplier; unset, Consul's default stays", () => {
  for (const [source, host] of [
    [SERVER, 's1'],
    [CLIENT, 'c1'],
  ] as const) {
    assert.equal(assertAgentConfig(render(source, varsFor(host)), host)['performance'], undefined);
    const quick = render(source, varsFor(host, { consul_raft_multiplier: 1 }));
    assert.deepEqual(assertAgentConfig(quick, host)['performance'], { raft_multiplier: 1 });
  }
});

test('client template: no server-only keys, leaves gracefully on docker stop', () => {
  const text = render(
    CLIENT,
    varsFor('c1', { consul_node_name: 'edge-1', consul_log_level: 'warn', consul_rejoin_after_leave: false }),
  );
  assert.deepEqual(assertAgentConfig(text, 'c1 consul.json'), {
    datacenter: 'dc1',
    node_name: 'edge-1',
    data_dir: '/consul/data',
    server: false,
    bind_addr: '10.0.0.21',
    client_addr: '127.0.0.1 10.0.0.21',
    retry_join: ['10.0.0.11', '10.0.0.12', '10.0.0.13'],
    retry_interval: '30s',
    rejoin_after_leave: false,
    leave_on_terminate: true,
    log_level: 'warn',
  });
});

test('the gossip key goes to the host in clear, and is redacted in anything shown to people', () => {
  const vars = varsFor('s1', { consul_encrypt: new Secret(GOSSIP_KEY) });
  const forHost = render(SERVER, vars, true);
  assert.equal(assertAgentConfig(forHost, 's1')['encrypt'], GOSSIP_KEY);
  for (const source of [SERVER, CLIENT]) {
    const shown = render(source, vars, false);
    assert.ok(!shown.includes(GOSSIP_KEY));
    assert.equal((JSON.parse(shown) as Record<string, unknown>)['encrypt'], '<redacted>');
  }
});

test('no gossip key: no encrypt key at all (never an empty one)', () => {
  for (const source of [SERVER, CLIENT]) {
    assert.ok(!('encrypt' in assertAgentConfig(render(source, varsFor('s1')), 'x')));
  }
});

test('consul_client_addr overrides the listen addresses', () => {
  const cfg = assertAgentConfig(render(SERVER, varsFor('s1', { consul_client_addr: '0.0.0.0' })), 's1');
  assert.equal(cfg['client_addr'], '0.0.0.0');
});

test('a missing variable never reaches a host: the render or the check names where', () => {
  const noBind = varsFor('c1');
  delete noBind['bind_addr'];
  assert.throws(
    () => render(CLIENT, noBind),
    (e: unknown) => e instanceof ConfigError && /line \d+: .*not defined/.test(e.message),
  );
  // Handlebars' strict mode does not check helper arguments; the json helper does, so the
  // render fails at the template line instead of writing `undefined` into the file.
  const noDc = varsFor('s1');
  delete noDc['consul_datacenter'];
  assert.throws(
    () => render(SERVER, noDc),
    (e: unknown) =>
      e instanceof ConfigError && /line \d+: the value given to json is not defined/.test(e.message),
  );
});

test('a bad variable value renders but is caught by the schema, with the key named', () => {
  const text = render(
    SERVER,
    varsFor('s1', { consul_bootstrap_expect: '3', consul_retry_interval: '30 seconds' }),
  );
  assert.throws(
    () => assertAgentConfig(text, 's1 consul.json'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(
        e.problems.map((p) => [p.path, p.message.split(' ^')[0]]),
        [
          ['bootstrap_expect', 'must be a whole number from 1 to 11'],
          ['retry_interval', 'must be a Go duration such as 30s, 1m30s or 500ms (not negative)'],
        ],
      );
      return true;
    },
  );
});
