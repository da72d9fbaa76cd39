import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentConfigProblems } from '../../src/consul/agent/agent-config.js';

const valid = {
  datacenter: 'dc1',
  node_name: 's1',
  data_dir: '/consul/data',
  server: true,
  bootstrap_expect: 3,
  ui_config: { enabled: true },
  bind_addr: '10.0.0.11',
  client_addr: '127.0.0.1 10.0.0.11',
  retry_join: ['10.0.0.11', '10.0.0.12', '10.0.0.13'],
  retry_interval: '30s',
  rejoin_after_leave: true,
  skip_leave_on_interrupt: true,
  encrypt: 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=',
  log_level: 'info',
  ports: { http: 8500, dns: -1 },
  autopilot: {
    cleanup_dead_servers: true,
    last_contact_threshold: '200ms',
    server_stabilization_time: '10s',
  },
};

/** Problems of `valid` with some keys changed, as [path, message] pairs. */
function problems(change: Record<string, unknown>): [string | undefined, string][] {
  const config: Record<string, unknown> = { ...valid, ...change };
  for (const [k, v] of Object.entries(change)) if (v === undefined) delete config[k];
  return agentConfigProblems(JSON.stringify(config), 'consul.json').map((p) => [p.path, p.message]);
}

test('a complete server config is valid, and so is IPv6', () => {
  assert.deepEqual(problems({}), []);
  assert.deepEqual(
    problems({ bind_addr: 'fd00::11', client_addr: '127.0.0.1 ::1 fd00::11', retry_join: ['fd00::12'] }),
    [],
  );
});

test('unknown keys are rejected at their path, top level and nested', () => {
  assert.deepEqual(problems({ datacentre: 'dc1' }), [['datacentre', 'unknown key']]);
  assert.deepEqual(problems({ ports: { htpp: 8500 } }), [['ports.htpp', 'unknown key']]);
  assert.deepEqual(problems({ ui_config: { enabled: true, dir: '/ui' } }), [
    ['ui_config.dir', 'unknown key'],
  ]);
});

test('wrong types are rejected with the path', () => {
  assert.deepEqual(problems({ server: 'yes' }), [['server', 'must be a boolean']]);
  assert.deepEqual(problems({ retry_join: '10.0.0.11' }), [['retry_join', 'must be a list']]);
  // A rule with a title (schemas/consul-agent.schema.json) says what the value must be.
  assert.deepEqual(problems({ retry_join: ['10.0.0.11', 12] }), [
    [
      'retry_join[1]',
      'must be an address to join (IP or DNS name, optional :port) or a go-sockaddr template',
    ],
  ]);
  assert.deepEqual(problems({ bootstrap_expect: 2.5 }), [
    ['bootstrap_expect', 'must be a whole number from 1 to 11'],
  ]);
});

test('ports, durations, addresses and log levels are checked by format', () => {
  assert.equal(problems({ ports: { http: 70000 } })[0]?.[0], 'ports.http');
  assert.equal(problems({ ports: { serf_lan: -1 } })[0]?.[0], 'ports.serf_lan');
  assert.deepEqual(problems({ retry_interval: '30s', autopilot: { last_contact_threshold: '3m5.77s' } }), []);
  assert.equal(problems({ retry_interval: '30' })[0]?.[0], 'retry_interval');
  assert.equal(
    problems({ autopilot: { server_stabilization_time: 10 } })[0]?.[0],
    'autopilot.server_stabilization_time',
  );
  assert.equal(problems({ bind_addr: '0.0.0.0.1' })[0]?.[0], 'bind_addr');
  assert.equal(problems({ bind_addr: 'eth0' })[0]?.[0], 'bind_addr');
  assert.equal(problems({ client_addr: '127.0.0.1,10.0.0.11' })[0]?.[0], 'client_addr');
  // Consul splits client_addr on any white space (strings.Fields), so two spaces are one.
  assert.deepEqual(problems({ client_addr: '127.0.0.1  10.0.0.11' }), []);
  assert.equal(
    problems({ log_level: 'verbose' })[0]?.[1],
    'must be one of trace, debug, info, warn, err, error (in any case)',
  );
  assert.equal(problems({ datacenter: 'DC 1' })[0]?.[0], 'datacenter');
  assert.equal(problems({ data_dir: 'consul/data' })[0]?.[0], 'data_dir');
});

test('the gossip key must be base64 of 16, 24 or 32 bytes (as Consul takes), and errors never echo it', () => {
  assert.deepEqual(problems({ encrypt: Buffer.alloc(16, 7).toString('base64') }), []);
  assert.deepEqual(problems({ encrypt: Buffer.alloc(24, 7).toString('base64') }), []);
  const short = 'c2hvcnQ=';
  const tooLong = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=AAAA';
  const wrongPadBits = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5t=';
  for (const bad of [short, tooLong, wrongPadBits, '<redacted>']) {
    const found = agentConfigProblems(JSON.stringify({ ...valid, encrypt: bad }), 'consul.json');
    assert.equal(found.length, 1, bad);
    assert.equal(found[0]?.path, 'encrypt');
    assert.ok(!JSON.stringify(found).includes(bad), 'the value must not appear in the problem');
  }
});

test('clients may not carry server-only keys', () => {
  const client = { server: false, bootstrap_expect: 3, ui_config: undefined };
  assert.deepEqual(problems(client), [['bootstrap_expect', 'is only allowed on servers (server is false)']]);
  assert.deepEqual(problems({ server: false, bootstrap_expect: undefined, ui_config: { enabled: true } }), [
    ['ui_config.enabled', 'must be false on a client (server is false)'],
  ]);
  assert.deepEqual(
    problems({ server: false, bootstrap_expect: undefined, ui_config: { enabled: false } }),
    [],
  );
});

test('missing required keys are named', () => {
  assert.deepEqual(problems({ bind_addr: undefined, retry_join: undefined }), [
    ['', 'missing required key "bind_addr"'],
    ['', 'missing required key "retry_join"'],
  ]);
});

test('text that is not JSON is located without quoting it (it may hold the gossip key)', () => {
  const text = '{\n  "encrypt": "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=",\n  "server": true,\n}\n';
  const found = agentConfigProblems(text, 'consul.json');
  assert.equal(found.length, 1);
  assert.equal(found[0]?.message, 'rendered config is not valid JSON');
  assert.equal(found[0]?.line, 4);
  assert.ok(!JSON.stringify(found).includes('pUqJ'));
});
