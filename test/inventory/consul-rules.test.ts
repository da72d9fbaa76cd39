/**
 * schemas/consul-agent.schema.json holds Consul's rules for the values drover renders (read in
 * Consul's source: agent/config/builder.go, logging/log_levels.go, memberlist's keyring); the
 * check before any connection and the template module both use it. Here each rule is compared
 * with an independent oracle, and the gossip key rule with drover's own key check: one rule set.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { agentConfigProblems } from '../../src/consul/agent/agent-config.js';
import { parseGoDuration } from '../../src/consul/parse/go-duration.js';
import { isValidGossipKey } from '../../src/consul/agent/gossip-key.js';

const BASE = {
  datacenter: 'dc1',
  node_name: 'n1',
  data_dir: '/consul/data',
  server: true,
  bind_addr: '10.0.0.1',
  retry_join: ['10.0.0.1'],
};

/** The problems of BASE with `patch` applied, as `key: message`. */
function problems(patch: Record<string, unknown>): string[] {
  return agentConfigProblems(JSON.stringify({ ...BASE, ...patch }), 'consul.json').map(
    (p) => `${p.path}: ${p.message}`,
  );
}
const accepts = (patch: Record<string, unknown>) => problems(patch).length === 0;

test('bind_addr: an IP exactly as Go parses one (net.isIP agrees but for zones), or a go-sockaddr template', () => {
  const samples = [
    '10.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '256.1.1.1',
    '999.1.1.1',
    '010.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '::',
    '::1',
    'fe80::1',
    '::ffff:1.2.3.4',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':::',
    '1:2:3:4:5:6:1.2.3.4',
    '1::1.2.3.4',
    '2001:db8::',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    '12345::1',
    'g::1',
    'not-an-ip',
    '',
    ' 10.0.0.1',
    'localhost',
  ];
  for (const ip of samples) {
    // Consul splits the expanded value on white space, so spaces around one IP are harmless.
    assert.equal(accepts({ bind_addr: ip }), isIP(ip.trim()) !== 0, ip);
  }
  // Go's net.ParseIP takes no zone (fe80::1%eth0); Node's isIP does.
  assert.equal(accepts({ bind_addr: 'fe80::1%eth0' }), false);
  assert.equal(accepts({ bind_addr: '{{ GetPrivateIP }}' }), true);
  assert.equal(accepts({ bind_addr: '{{ GetInterfaceIP "eth0" }}' }), true);
  assert.deepEqual(problems({ bind_addr: 'not-an-ip' }), [
    'bind_addr: must be an IP address or a go-sockaddr template such as {{ GetPrivateIP }}',
  ]);
});

test('client_addr: IPs and templates separated by white space, as Consul splits them', () => {
  for (const ok of ['127.0.0.1', '127.0.0.1 10.0.0.1', ' 127.0.0.1  ::1 ', '0.0.0.0 {{ GetPrivateIP }}'])
    assert.equal(accepts({ client_addr: ok }), true, ok);
  for (const bad of ['garbage', '127.0.0.1,10.0.0.1', '127.0.0.1 x', ''])
    assert.equal(accepts({ client_addr: bad }), false, bad);
});

test("durations: what Go's time.ParseDuration reads, without a sign", () => {
  const samples = [
    '30s',
    '1m30s',
    '0',
    '+0',
    '-1s',
    '.5s',
    '1.s',
    '500ms',
    '1µs',
    '1μs',
    '2h45m',
    '1.5h',
    '30 seconds',
    's',
    '',
    '1d',
    '1',
    '5m-3s',
    '1e3s',
  ];
  for (const d of samples) {
    let go: boolean;
    try {
      parseGoDuration(d);
      go = d.trim() === d && d !== '';
    } catch {
      go = false;
    }
    assert.equal(accepts({ retry_interval: d }), go && !d.startsWith('-'), JSON.stringify(d));
  }
});

test('the gossip key: the schema and the gossip key check accept exactly the same keys (16, 24, 32 bytes)', () => {
  let compared = 0;
  for (let n = 0; n <= 48; n++) {
    for (let i = 0; i < 8; i++) {
      const key = randomBytes(n).toString('base64');
      assert.equal(accepts({ encrypt: key }), isValidGossipKey(key), `${n} bytes`);
      assert.equal(isValidGossipKey(key), [16, 24, 32].includes(n), `${n} bytes`);
      compared++;
    }
  }
  const key32 = randomBytes(32).toString('base64');
  for (const odd of [
    key32.replace(/=$/, ''),
    `${key32.slice(0, 42)}B=`,
    ` ${key32}`,
    key32.replace(/[+/]/g, '-'),
    'x'.repeat(44),
  ]) {
    assert.equal(accepts({ encrypt: odd }), isValidGossipKey(odd), odd);
  }
  assert.ok(compared > 300);
  // Messages name the rule, never the key.
  const bad = randomBytes(20).toString('base64');
  assert.deepEqual(problems({ encrypt: bad }), [
    'encrypt: must be a gossip key: the base64 of 16, 24 or 32 bytes (`drover keygen` makes one)',
  ]);
});

test("log_level: Consul's TRACE, DEBUG, INFO, WARN, ERR, ERROR in any case", () => {
  for (const ok of ['trace', 'DEBUG', 'Info', 'warn', 'err', 'ERROR'])
    assert.equal(accepts({ log_level: ok }), true, ok);
  for (const bad of ['verbose', 'warning', 'off', 'fatal', ''])
    assert.equal(accepts({ log_level: bad }), false, bad);
});

test('datacenter, node name and raft_multiplier', () => {
  assert.equal(accepts({ datacenter: 'my-dc_2' }), true);
  for (const bad of ['My DC', 'DC1', '', 'dc.1']) assert.equal(accepts({ datacenter: bad }), false, bad);
  assert.equal(accepts({ node_name: 'web-1.example_x' }), true);
  for (const bad of ['$(reboot)', '-x', '', 'a b']) assert.equal(accepts({ node_name: bad }), false, bad);
  for (const m of [1, 5, 10]) assert.equal(accepts({ performance: { raft_multiplier: m } }), true);
  for (const m of [0, 11, 2.5, '5'])
    assert.equal(accepts({ performance: { raft_multiplier: m } }), false, String(m));
  assert.deepEqual(problems({ performance: { raft_multiplier: 11 } }), [
    'performance.raft_multiplier: must be a whole number from 1 to 10',
  ]);
});
