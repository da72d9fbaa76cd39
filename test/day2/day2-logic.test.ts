import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExpectedNode } from '../../src/consul/verify/cluster-model.js';
import { classifyConfigChange } from '../../src/consul/agent/config-change.js';
import { generateGossipKey } from '../../src/consul/agent/gossip-key.js';
import { judgeHostProbe, parseHostProbe } from '../../src/consul/agent/host-preflight.js';
import { parseKeyringList, standingOf } from '../../src/consul/api/keyring.js';
import {
  formatMembership,
  reconcileMembers,
  serverResetProblems,
} from '../../src/consul/verify/membership.js';
import { Secret } from '../../src/shell/secret.js';

const node = (host: string, address: string, role: 'server' | 'client'): ExpectedNode => ({
  host,
  nodeName: host,
  address,
  role,
});
const S = [
  node('s1', '10.0.0.1', 'server'),
  node('s2', '10.0.0.2', 'server'),
  node('s3', '10.0.0.3', 'server'),
];
const C = [node('c1', '10.0.0.21', 'client')];

describe('membership reconciliation', () => {
  it('reports each node and finds ghosts by name and by address', () => {
    const r = reconcileMembers(
      [...S, ...C],
      [
        { name: 's1', address: '10.0.0.1', status: 'alive', role: 'server' },
        { name: 's2', address: '10.0.0.2', status: 'failed', role: 'server' },
        { name: 'c1', address: '172.17.0.5', status: 'alive', role: 'client' },
        { name: '4f1c2a9e7b3d', address: '172.17.0.2', status: 'failed', role: 'client' },
      ],
    );
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.nodes.map((n) => [n.host, n.status, n.listedAddress ?? '']),
      [
        ['s1', 'alive', ''],
        ['s2', 'failed', ''],
        ['s3', 'missing', ''],
        ['c1', 'alive', '172.17.0.5'],
      ],
    );
    assert.deepEqual(
      r.ghosts.map((g) => [g.name, g.reason, g.prunable]),
      [
        ['c1', 'address changed', false],
        ['4f1c2a9e7b3d', 'not in the inventory', true],
      ],
    );
    const text = formatMembership(r);
    assert.match(
      text,
      /4f1c2a9e7b3d\s+172\.17\.0\.2\s+failed\s+client\s+not in the inventory\s+yes \(--prune\)/,
    );
    assert.match(text, /drover reset-node c1/);
  });

  it('is ok when every node is alive where the inventory says', () => {
    const r = reconcileMembers(
      S,
      S.map((n) => ({ name: n.host, address: n.address, status: 'alive' as const, role: 'server' as const })),
    );
    assert.equal(r.ok, true);
    assert.deepEqual(r.ghosts, []);
  });

  it('refuses a server reset that would break quorum', () => {
    const peers = S.map((n) => ({ address: `${n.address}:8300`, voter: true }));
    const alive = (ips: string[]) =>
      ips.map((a, i) => ({ name: `n${i}`, address: a, status: 'alive' as const, role: 'server' as const }));
    assert.deepEqual(
      serverResetProblems(S[0]!, S, peers, alive(['10.0.0.1', '10.0.0.2', '10.0.0.3']), '10.0.0.2:8300'),
      [],
    );
    assert.match(
      serverResetProblems(S[0]!, S, peers, alive(['10.0.0.1', '10.0.0.2']), '10.0.0.2:8300').join(),
      /1 of 3 voters.*quorum needs 2/,
    );
    assert.match(serverResetProblems(S[0]!, [S[0]!], peers, [], '')[0] ?? '', /only server/);
  });
});

describe('config change classes', () => {
  const base = {
    datacenter: 'dc1',
    node_name: 'a',
    server: true,
    log_level: 'info',
    retry_join: ['x'],
    encrypt: 'k1',
  };
  it('no-op for key order, reload for log_level, restart, ignored encrypt, dangerous datacenter, new', () => {
    assert.equal(
      classifyConfigChange(base, Object.fromEntries(Object.entries(base).reverse())).class,
      'noop',
    );
    assert.equal(classifyConfigChange(base, { ...base, log_level: 'debug' }).class, 'reload');
    assert.equal(classifyConfigChange(base, { ...base, retry_join: ['y'] }).class, 'restart');
    assert.equal(classifyConfigChange(base, { ...base, encrypt: 'k2' }).class, 'ignored');
    // Autopilot is read at bootstrap only; drover applies a change through the operator API.
    const autopilot = classifyConfigChange(base, { ...base, autopilot: { cleanup_dead_servers: false } });
    assert.equal(autopilot.class, 'ignored');
    assert.match(autopilot.changes[0]?.note ?? '', /operator autopilot API/);
    const d = classifyConfigChange(base, { ...base, datacenter: 'dc2', log_level: 'debug' });
    assert.equal(d.class, 'dangerous');
    assert.deepEqual(
      d.changes.map((c) => [c.key, c.class]),
      [
        ['datacenter', 'dangerous'],
        ['log_level', 'reload'],
      ],
    );
    assert.equal(classifyConfigChange(base, { ...base, server: false }).class, 'dangerous');
    assert.equal(classifyConfigChange(undefined, base).class, 'new');
    assert.equal(
      classifyConfigChange(
        { ...base, acl: { enabled: true, tokens: { agent: 'a' } } },
        { ...base, acl: { enabled: true, tokens: { agent: 'b' } } },
      ).class,
      'reload',
    );
    // A new domain: a restart, but dangerous where servers are checked by name.
    assert.equal(classifyConfigChange(base, { ...base, domain: 'example.internal' }).class, 'restart');
    const named = { defaults: { verify_incoming: true }, internal_rpc: { verify_server_hostname: true } };
    const renamed = classifyConfigChange(
      { ...base, tls: named },
      { ...base, tls: named, domain: 'example.internal' },
    );
    assert.equal(renamed.class, 'dangerous');
    assert.match(renamed.changes[0]?.note ?? '', /server\.<dc>\.<domain>/);
    // TLS: reloadable once on; turned on at once with a check on, the agent is cut off mid-roll.
    const tls = (verify: boolean) => ({
      defaults: { ca_file: 'ca.pem', verify_incoming: verify, verify_outgoing: false },
      internal_rpc: { verify_server_hostname: false },
    });
    assert.equal(
      classifyConfigChange({ ...base, tls: tls(false) }, { ...base, tls: tls(true) }).class,
      'reload',
    );
    assert.equal(classifyConfigChange(base, { ...base, tls: tls(false) }).class, 'restart');
    const bigBang = classifyConfigChange(base, { ...base, tls: tls(true) });
    assert.equal(bigBang.class, 'dangerous');
    assert.match(bigBang.changes[0]!.note, /turn it on in stages/);
    assert.equal(
      classifyConfigChange(base, {
        ...base,
        tls: { ...tls(false), internal_rpc: { verify_server_hostname: true } },
      }).class,
      'dangerous',
    );
    assert.equal(classifyConfigChange({ ...base, tls: tls(true) }, base).class, 'restart');
    assert.ok(
      !JSON.stringify(classifyConfigChange(base, { ...base, encrypt: 'k2' })).includes('k2'),
      'no values in the result',
    );
  });
});

describe('host pre-flight', () => {
  const probe = [
    'docker=present',
    'daemon=20.10.24',
    'image=remote',
    'container=absent',
    'addr=127.0.0.1/8',
    'addr=10.0.0.1/24',
    'addr=172.17.0.1/16',
    'listen=tcp 0.0.0.0:22',
    'listen=udp 127.0.0.53%lo:53',
    'fs=ext2/ext3',
    'avail_kb=81190036',
    'mount=/',
    'now_ns=1700000000500000000',
  ].join('\n');
  const wanted = {
    bindAddr: '10.0.0.1',
    clientAddrs: ['127.0.0.1'],
    ports: [8300, 8301, 8302, 8500, 8600],
    minFreeMb: 1024,
    maxClockSkewSeconds: 2,
    controlTimeMs: 1700000000000,
  };

  it('passes a good host', () => {
    const checks = judgeHostProbe(parseHostProbe(probe), wanted);
    assert.deepEqual(
      checks.filter((c) => !c.ok),
      [],
    );
    assert.match(checks.find((c) => c.name === 'clock')?.detail ?? '', /\+0\.50s/);
  });

  it('names every problem: bind_addr not on an interface, ports taken, tmpfs, disk, skew, no daemon, no image', () => {
    const bad = probe
      .replace('daemon=20.10.24', 'daemon_error=Cannot connect to the Docker daemon')
      .replace('image=remote', 'image_error=manifest unknown')
      .replace('listen=tcp 0.0.0.0:22', 'listen=tcp 0.0.0.0:8500\nlisten=udp [::]:8600')
      .replace('fs=ext2/ext3', 'fs=tmpfs')
      .replace('avail_kb=81190036', 'avail_kb=1000')
      .replace('now_ns=1700000000500000000', 'now_ns=1700000030000000000');
    const checks = judgeHostProbe(parseHostProbe(bad), { ...wanted, bindAddr: '10.0.0.99' });
    const failed = Object.fromEntries(checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
    assert.deepEqual(Object.keys(failed).sort(), [
      'bind_addr',
      'clock',
      'data_dir',
      'disk',
      'docker',
      'image',
      'ports',
    ]);
    assert.match(
      failed['bind_addr'] ?? '',
      /10\.0\.0\.99 is not on any interface of this host \(it has 127\.0\.0\.1, 10\.0\.0\.1, 172\.17\.0\.1\)/,
    );
    assert.match(failed['ports'] ?? '', /8500\/tcp on 0\.0\.0\.0, 8600\/udp on ::/);
  });

  it('accepts ports held by our own running container', () => {
    const ours = probe
      .replace('container=absent', 'container=running')
      .replace('listen=tcp 0.0.0.0:22', 'listen=tcp 10.0.0.1:8300');
    assert.ok(judgeHostProbe(parseHostProbe(ours), wanted).every((c) => c.ok));
  });

  it('counts as clock skew only the distance outside the window in which the host read its clock', () => {
    const clock = (start: number, end: number) =>
      judgeHostProbe(parseHostProbe(probe), { ...wanted, controlTimeMs: start, controlEndMs: end }).find(
        (c) => c.name === 'clock',
      );
    // A slow round trip (3 s) around the host's reading is no skew.
    assert.deepEqual(clock(1699999998000, 1700000001000), {
      name: 'clock',
      ok: true,
      detail: '+0.00s against this machine (read within 3.00s)',
    });
    // Read after the window closed: ahead by 2.5 s at least.
    assert.equal(clock(1699999997000, 1699999998000)?.ok, false);
    assert.match(clock(1699999997000, 1699999998000)?.detail ?? '', /^\+2\.50s .*more than 2s/);
    // Read before the window opened: behind by 3 s at least.
    assert.match(clock(1700000003500, 1700000004000)?.detail ?? '', /^-3\.00s/);
  });
});

describe('keyring answers', () => {
  const k1 = generateGossipKey();
  const k2 = generateGossipKey();
  const body = JSON.stringify([
    { WAN: true, Datacenter: '', Keys: { [k1]: 3, [k2]: 3 }, PrimaryKeys: { [k1]: 3 }, NumNodes: 3 },
    { WAN: false, Datacenter: 'dc1', Keys: { [k1]: 5, [k2]: 4 }, PrimaryKeys: { [k1]: 5 }, NumNodes: 5 },
  ]);
  it('counts where a key is installed and primary, per pool', () => {
    const pools = parseKeyringList(body);
    const one = standingOf(pools, new Secret(k1));
    assert.deepEqual([one.members, one.installedEverywhere, one.primaryEverywhere], [5, true, true]);
    const two = standingOf(pools, new Secret(k2));
    assert.deepEqual(
      [two.installedEverywhere, two.installedAnywhere, two.primaryEverywhere],
      [false, true, false],
    );
    assert.ok(!JSON.stringify(pools).includes(k1), 'keys stay Secrets');
  });
});
