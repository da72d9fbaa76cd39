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

test("consul_domain: Consul's domain in every agent's config, left out for the default", () => {
  for (const [template, host] of [
    [SERVER, 's1'],
    [CLIENT, 'c1'],
  ] as const) {
    const custom = assertAgentConfig(
      render(template, varsFor(host, { consul_domain: 'example.internal' })),
      host,
    );
    assert.equal(custom['domain'], 'example.internal');
    assert.equal(
      'domain' in assertAgentConfig(render(template, varsFor(host, { consul_domain: 'consul' })), host),
      false,
    );
    assert.equal('domain' in assertAgentConfig(render(template, varsFor(host)), host), false);
  }
  assert.throws(
    () => assertAgentConfig(render(SERVER, varsFor('s1', { consul_domain: 'Not A Domain' })), 's1'),
    (e: unknown) =>
      e instanceof ConfigError && /domain/.test(e.message) && /a DNS name in lower case/.test(e.message),
  );
});

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

test('consul_autopilot_* render the autopilot block with the keys set; none set, no block (servers only)', () => {
  assert.equal(assertAgentConfig(render(SERVER, varsFor('s1')), 's1')['autopilot'], undefined);
  const unset = { consul_autopilot_min_quorum: '', consul_autopilot_last_contact_threshold: '' };
  assert.equal(assertAgentConfig(render(SERVER, varsFor('s1', unset)), 's1')['autopilot'], undefined);
  const some = render(
    SERVER,
    varsFor('s1', {
      ...unset,
      consul_autopilot_cleanup_dead_servers: false,
      consul_autopilot_max_trailing_logs: 0,
      consul_autopilot_server_stabilization_time: '30s',
    }),
  );
  assert.deepEqual(assertAgentConfig(some, 's1')['autopilot'], {
    cleanup_dead_servers: false,
    max_trailing_logs: 0,
    server_stabilization_time: '30s',
  });
  const client = render(CLIENT, varsFor('c1', { consul_autopilot_cleanup_dead_servers: false }));
  assert.equal(assertAgentConfig(client, 'c1')['autopilot'], undefined);
});

test('consul_config_extra is merged in: objects key by key, lists and values as given; a key drover renders keeps its value', () => {
  const plain = render(SERVER, varsFor('s1'));
  assert.equal(
    render(SERVER, varsFor('s1', { consul_config_extra: {} })),
    plain,
    'nothing to merge: the file as written',
  );
  const merged = assertAgentConfig(
    render(
      SERVER,
      varsFor('s1', {
        consul_raft_multiplier: 1,
        consul_config_extra: {
          telemetry: { prometheus_retention_time: '60s', disable_hostname: true },
          recursors: ['10.0.0.53'],
          datacenter: 'dc1',
        },
      }),
    ),
    's1',
  );
  assert.deepEqual(merged['telemetry'], { prometheus_retention_time: '60s', disable_hostname: true });
  assert.deepEqual(merged['recursors'], ['10.0.0.53']);
  assert.deepEqual(merged['performance'], { raft_multiplier: 1 });
  assert.equal(merged['datacenter'], 'dc1');
  for (const [extra, at] of [
    [{ datacenter: 'dc2' }, 'consul_config_extra.datacenter'],
    [{ performance: { raft_multiplier: 2 } }, 'consul_config_extra.performance.raft_multiplier'],
    [{ performance: { raft_multiplier: 1 }, node_name: 'other' }, 'consul_config_extra.node_name'],
    [{ retry_join: ['10.9.9.9'] }, 'consul_config_extra.retry_join'],
  ] as const) {
    assert.throws(
      () => render(SERVER, varsFor('s1', { consul_raft_multiplier: 1, consul_config_extra: extra })),
      new RegExp(`${at.replace(/\./g, '\\.')}: drover renders this key itself`),
    );
  }
  const client = assertAgentConfig(
    render(CLIENT, varsFor('c1', { consul_config_extra: { dns_config: { allow_stale: true } } })),
    'c1',
  );
  assert.deepEqual(client['dns_config'], { allow_stale: true });
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

/** The deploy playbook's TLS defaults, turned on. */
const TLS_ON: Vars = {
  consul_tls_enable: true,
  consul_tls_verify_incoming: true,
  consul_tls_verify_outgoing: true,
  consul_tls_verify_server_hostname: true,
  consul_tls_https_port: 8501,
  consul_tls_http: 'loopback',
};

test('server template with TLS: the tls block of Consul 1.12+, auto_encrypt for clients, HTTPS, plain HTTP on loopback', () => {
  const config = assertAgentConfig(render(SERVER, varsFor('s2', TLS_ON)), 's2 consul.json') as Record<
    string,
    unknown
  >;
  assert.deepEqual(config['tls'], {
    defaults: {
      ca_file: '/consul/config/tls/consul-agent-ca.pem',
      cert_file: '/consul/config/tls/dc1-server-consul-0.pem',
      key_file: '/consul/config/tls/dc1-server-consul-0-key.pem',
      verify_incoming: true,
      verify_outgoing: true,
    },
    internal_rpc: { verify_server_hostname: true },
    https: { verify_incoming: false },
  });
  assert.deepEqual(config['auto_encrypt'], { allow_tls: true });
  assert.deepEqual(config['ports'], { https: 8501 });
  assert.deepEqual(config['addresses'], { http: '127.0.0.1' });
  assert.equal(config['client_addr'], '127.0.0.1 10.0.0.12', 'HTTPS listens where HTTP did');
});

test('client template with TLS: the CA only, and its certificate through auto_encrypt', () => {
  const config = assertAgentConfig(render(CLIENT, varsFor('c1', TLS_ON)), 'c1 consul.json') as Record<
    string,
    unknown
  >;
  assert.deepEqual(config['tls'], {
    defaults: {
      ca_file: '/consul/config/tls/consul-agent-ca.pem',
      verify_incoming: true,
      verify_outgoing: true,
    },
    internal_rpc: { verify_server_hostname: true },
    https: { verify_incoming: false },
  });
  assert.deepEqual(config['auto_encrypt'], { tls: true });
});

test('consul_tls_http: off closes plain HTTP, on keeps it as it was', () => {
  for (const [template, host] of [
    [SERVER, 's1'],
    [CLIENT, 'c1'],
  ] as const) {
    const off = assertAgentConfig(
      render(template, varsFor(host, { ...TLS_ON, consul_tls_http: 'off' })),
      host,
    ) as Record<string, unknown>;
    assert.deepEqual(off['ports'], { https: 8501, http: -1 });
    assert.equal(off['addresses'], undefined);
    const on = assertAgentConfig(
      render(template, varsFor(host, { ...TLS_ON, consul_tls_http: 'on', consul_tls_https_port: 9501 })),
      host,
    ) as Record<string, unknown>;
    assert.deepEqual(on['ports'], { https: 9501 });
    assert.equal(on['addresses'], undefined);
  }
});

test('TLS off renders no TLS key at all: the file is what it was before TLS existed', () => {
  for (const [template, host] of [
    [SERVER, 's1'],
    [CLIENT, 'c1'],
  ] as const) {
    const off = { ...TLS_ON, consul_tls_enable: false };
    assert.equal(render(template, varsFor(host, off)), render(template, varsFor(host)));
  }
});

test('the schema refuses auto_encrypt on the wrong side, as Consul does', () => {
  const server = JSON.parse(render(SERVER, varsFor('s1', TLS_ON))) as Record<string, unknown>;
  const client = JSON.parse(render(CLIENT, varsFor('c1', TLS_ON))) as Record<string, unknown>;
  assert.throws(
    () => assertAgentConfig(JSON.stringify({ ...server, auto_encrypt: { tls: true } }), 's1'),
    ConfigError,
  );
  assert.throws(
    () => assertAgentConfig(JSON.stringify({ ...client, auto_encrypt: { allow_tls: true } }), 'c1'),
    ConfigError,
  );
  assert.throws(
    () =>
      assertAgentConfig(
        JSON.stringify({ ...server, tls: { defaults: { verify_server_hostname: true } } }),
        's1',
      ),
    ConfigError,
    'verify_server_hostname belongs to internal_rpc only',
  );
});
