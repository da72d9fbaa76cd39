import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { lines, problems } from './helpers.js';

test('bad YAML is reported with its position', () => {
  assert.deepEqual(problems(lines('all:', '  hosts:', '    s1: { address: 10.0.0.1', '')), [
    '/inv/prod.yaml:5:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
  ]);
});

test('wrong types name file, line:col, path and the expected type; all of them at once', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  vars:',
        '    ssh_port: "22"',
        '  children:',
        '    servers:',
        '      hosts:',
        '        s1:',
        '          address: 10',
        '        s2: 10.0.0.2',
        '    clients: []',
      ),
    ),
    [
      '/inv/prod.yaml:3:15 all.vars.ssh_port: must be an integer',
      '/inv/prod.yaml:8:20 all.children.servers.hosts.s1.address: must be a string',
      '/inv/prod.yaml:9:13 all.children.servers.hosts.s2: must be a mapping or null',
      '/inv/prod.yaml:10:14 all.children.clients: must be a mapping or null',
    ],
  );
});

test('unknown keys in groups and at the top are rejected (a typo must not be ignored)', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  children:',
        '    servers:',
        '      host:',
        '        s1: { address: 10.0.0.1 }',
        'servers: {}',
      ),
    ),
    ['/inv/prod.yaml:5:9 all.children.servers.host: unknown key', '/inv/prod.yaml:6:10 servers: unknown key'],
  );
});

test('a host without an address anywhere is an error at its first mention', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  children:',
        '    servers:',
        '      hosts:',
        '        s1: { ssh_port: 2222 }',
        '    consul:',
        '      hosts:',
        '        s1:',
        '        s2: { address: 10.0.0.2 }',
      ),
    ),
    ['/inv/prod.yaml:5:13 all.children.servers.hosts.s1: missing required key "address"'],
  );
});

test('a child group that is never defined is an unknown group', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  children:',
        '    consul:',
        '      children:',
        '        server: {}',
        '        clients:',
        '    servers:',
        '      hosts: { s1: { address: 10.0.0.1 } }',
        '    clients:',
        '      hosts: {}',
      ),
    ),
    [
      '/inv/prod.yaml:5:17 all.children.consul.children.server: unknown group "server": it is listed as a child ' +
        'but never defined (give it hosts, vars or children somewhere; write "hosts: {}" for a group that is ' +
        'empty on purpose)',
    ],
  );
});

test('duplicate addresses, conflicting host vars and conflicting group definitions, all reported together', () => {
  const text = lines(
    'all:',
    '  children:',
    '    servers:',
    '      vars: { consul_datacenter: dc1 }',
    '      hosts:',
    '        s1: { address: 10.0.0.1, ssh_port: 22 }',
    '        s2: { address: 10.0.0.1 }',
    '    consul:',
    '      children:',
    '        servers:',
    '          vars: { consul_datacenter: dc2 }',
    '          hosts:',
    '            s1: { ssh_port: 2222, consul_token: b }',
  );
  assert.deepEqual(problems(text), [
    '/inv/prod.yaml:7:24 all.children.servers.hosts.s2.address: address 10.0.0.1 is also the address of host "s1"',
    '/inv/prod.yaml:11:38 all.children.consul.children.servers.vars.consul_datacenter: group "servers" is ' +
      'defined again with a different consul_datacenter (first at line 4:34)',
    '/inv/prod.yaml:13:29 all.children.consul.children.servers.hosts.s1.ssh_port: host "s1" already has a ' +
      "different ssh_port at line 6:44; a host's vars must agree",
  ]);
});

test('groups that contain themselves are rejected with the loop spelled out', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  children:',
        '    a:',
        '      children: { b: }',
        '    b:',
        '      hosts: { h: { address: 10.0.0.1 } }',
        '      children: { a: }',
      ),
    ),
    ['/inv/prod.yaml:7:22 all.children.b.children.a: group "a" contains itself (a > b > a)'],
  );
});

test('bad names, reserved groups and inventory_hostname, all in one run', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  vars:',
        '    bad-var: 1',
        '  children:',
        '    ungrouped: {}',
        '    "web servers":',
        '      hosts:',
        '        "s 1": { address: 10.0.0.1, inventory_hostname: x }',
      ),
    ),
    [
      '/inv/prod.yaml:3:14 all.vars.bad-var: "bad-var" is not a valid variable name (letters, digits and "_", ' +
        'not starting with a digit)',
      '/inv/prod.yaml:5:16 all.children.ungrouped: "ungrouped" is a group drover defines itself; use another name',
      '/inv/prod.yaml:7:7 all.children.web servers: "web servers" is not a valid group name (letters, digits, ' +
        '"_", "." and "-")',
      '/inv/prod.yaml:8:16 all.children.web servers.hosts.s 1: "s 1" is not a valid host name (letters, digits, ' +
        '"_", "." and "-")',
      '/inv/prod.yaml:8:57 all.children.web servers.hosts.s 1.inventory_hostname: is set by drover to the host ' +
        'name; remove it',
    ],
  );
});

test('an inventory without hosts is rejected', () => {
  assert.deepEqual(problems(lines('all:', '  vars:', '    x: 1')), [
    '/inv/prod.yaml:2:3 all: the inventory has no hosts',
  ]);
});

test('loadInventory names a missing file', async () => {
  await assert.rejects(loadInventory('/nonexistent/prod.yaml'), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, '/nonexistent/prod.yaml: file not found');
    return true;
  });
});
