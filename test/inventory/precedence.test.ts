import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inventory, lines } from './helpers.js';

const layered = lines(
  'all:',
  '  vars:',
  '    level: all',
  '    only_all: a',
  '    port: 1',
  '  children:',
  '    consul:',
  '      vars:',
  '        level: parent',
  '        port: 2',
  '      children:',
  '        servers:',
  '          vars:',
  '            level: child',
  '          hosts:',
  '            s1:',
  '              address: 10.0.0.1',
  '              level: host',
  '            s2:',
  '              address: 10.0.0.2',
);

test('vars merge all < parent group < child group < host', () => {
  const inv = inventory(layered);
  assert.equal(inv.hosts.get('s1')?.vars['level'], 'host');
  assert.equal(inv.hosts.get('s2')?.vars['level'], 'child');
  assert.equal(inv.hosts.get('s2')?.vars['port'], 2);
  assert.equal(inv.hosts.get('s2')?.vars['only_all'], 'a');
});

test('a deeper group wins even when its ancestor comes later in the file', () => {
  const inv = inventory(
    lines(
      'all:',
      '  children:',
      '    servers:',
      '      vars: { level: child }',
      '      hosts: { s1: { address: 10.0.0.1 } }',
      '    consul:',
      '      vars: { level: parent }',
      '      children: { servers: }',
    ),
  );
  assert.equal(inv.hosts.get('s1')?.vars['level'], 'child');
  assert.deepEqual(inv.hosts.get('s1')?.groups, ['all', 'servers', 'consul']);
  assert.deepEqual(inv.groups.get('consul')?.hosts, ['s1']);
});

test('a host in two unrelated groups: the later group wins, with a warning naming both', () => {
  const inv = inventory(
    lines(
      'all:',
      '  children:',
      '    east:',
      '      vars: { rack: e, zone: z }',
      '      hosts:',
      '        s1: { address: 10.0.0.1, role: web }',
      '    west:',
      '      vars: { rack: w, zone: z }',
      '      hosts:',
      '        s1: { role: web }',
      '        s2: { address: 10.0.0.2 }',
    ),
  );
  const s1 = inv.hosts.get('s1');
  assert.equal(s1?.vars['rack'], 'w');
  assert.equal(s1?.vars['role'], 'web');
  assert.deepEqual(s1?.groups, ['all', 'east', 'west']);
  assert.equal(inv.hosts.get('s2')?.vars['rack'], 'w');
  // Same value in both groups (zone) is not worth a warning; different values (rack) are.
  assert.deepEqual(
    inv.warnings.map((w) => `${w.line}:${w.column} ${w.path}: ${w.message}`),
    [
      '8:21 all.children.west.vars.rack: group "west" overrides rack from group "east" for host "s1" ' +
        'only because it comes later in the file (both are at the same depth)',
    ],
  );
});

test('bind_addr defaults to address, an explicit one is kept, inventory_hostname is the name', () => {
  const inv = inventory(
    lines(
      'all:',
      '  hosts:',
      '    a: { address: 10.0.0.1 }',
      '    b: { address: 10.0.0.2, bind_addr: 192.168.1.2 }',
    ),
  );
  assert.equal(inv.hosts.get('a')?.vars['bind_addr'], '10.0.0.1');
  assert.equal(inv.hosts.get('b')?.vars['bind_addr'], '192.168.1.2');
  assert.equal(inv.hosts.get('b')?.address, '10.0.0.2');
  assert.equal(inv.hosts.get('b')?.vars['inventory_hostname'], 'b');
});

test('hosts only in all land in the implicit ungrouped group; group listings keep inventory order', () => {
  const inv = inventory(
    lines(
      'all:',
      '  hosts:',
      '    lone: { address: 10.0.0.9 }',
      '  children:',
      '    servers:',
      '      hosts:',
      '        s2: { address: 10.0.0.2 }',
      '        s1: { address: 10.0.0.1 }',
    ),
  );
  assert.deepEqual([...inv.hosts.keys()], ['lone', 's2', 's1']);
  assert.deepEqual(inv.groups.get('ungrouped')?.hosts, ['lone']);
  assert.deepEqual(inv.hosts.get('lone')?.groups, ['all', 'ungrouped']);
  assert.deepEqual(inv.groups.get('all')?.children, ['ungrouped', 'servers']);
  assert.deepEqual(inv.groups.get('all')?.hosts, ['lone', 's2', 's1']);
});

test('a group defined twice is merged: hosts, children and agreeing vars', () => {
  const inv = inventory(
    lines(
      'all:',
      '  children:',
      '    dc:',
      '      vars: { dc: one }',
      '      children:',
      '        servers:',
      '          vars: { role: server }',
      '          hosts: { s1: { address: 10.0.0.1 } }',
      '        servers2:',
      '          children:',
      '            servers:',
      '              vars: { role: server }',
      '              hosts: { s2: { address: 10.0.0.2 } }',
    ),
  );
  assert.equal(inv.hosts.get('s2')?.vars['role'], 'server');
  assert.equal(inv.hosts.get('s2')?.vars['dc'], 'one');
  assert.deepEqual(inv.groups.get('servers')?.hosts, ['s1', 's2']);
  assert.deepEqual(inv.groups.get('dc')?.children, ['servers', 'servers2']);
  // servers is at depth 2 under dc, and depth 3 under servers2: the longest path counts.
  assert.deepEqual(inv.groups.get('servers2')?.hosts, ['s1', 's2']);
});

test('ssh_key and ssh_known_hosts are resolved against the inventory file; ~ is the home directory', () => {
  const inv = inventory(
    lines(
      'all:',
      '  vars:',
      '    ssh_key: ../keys/id',
      '    ssh_known_hosts: ~/.ssh/known_hosts',
      '    other_path: relative/stays',
      '  hosts:',
      '    a: { address: 10.0.0.1 }',
      '    b: { address: 10.0.0.2, ssh_key: /abs/key }',
    ),
  );
  assert.equal(inv.hosts.get('a')?.vars['ssh_key'], '/keys/id');
  assert.equal(inv.hosts.get('a')?.vars['ssh_known_hosts'], '/home/op/.ssh/known_hosts');
  assert.equal(inv.hosts.get('a')?.vars['other_path'], 'relative/stays');
  assert.equal(inv.hosts.get('b')?.vars['ssh_key'], '/abs/key');
});

test('hosts and groups record where they are first listed', () => {
  const inv = inventory(layered);
  assert.deepEqual(inv.hosts.get('s2')?.origin, {
    file: '/inv/prod.yaml',
    line: 20,
    column: 15,
    path: 'all.children.consul.children.servers.hosts.s2',
  });
  assert.equal(inv.groups.get('servers')?.origin?.line, 13);
});
