import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblem } from '../../src/errors.js';
import { checkConsulInventory } from '../../src/inventory/consul-checks.js';
import { inventory, lines } from './helpers.js';

/** An inventory with `servers` hosts s1..sN (and optional extra lines), checked. */
function check(servers: number, ...extra: string[]) {
  const hostLines = Array.from(
    { length: servers },
    (_, i) => `        s${i + 1}: { address: 10.0.1.${i + 1} }`,
  );
  const inv = inventory(
    lines(
      'all:',
      '  children:',
      '    servers:',
      '      hosts:',
      ...(servers ? hostLines : ['        {}']),
      ...extra,
    ),
  );
  const { errors, warnings } = checkConsulInventory(inv);
  return { errors: errors.map(formatProblem), warnings: warnings.map(formatProblem) };
}
const clients = ['    clients:', '      hosts:', '        c1: { address: 10.0.2.1 }'];

test('3 and 5 servers with clients pass', () => {
  assert.deepEqual(check(3, ...clients), { errors: [], warnings: [] });
  assert.deepEqual(check(5), { errors: [], warnings: [] });
});

test('no servers group, or an empty one, is an error', () => {
  const noServers = inventory(lines('all:', '  children:', ...clients));
  assert.deepEqual(checkConsulInventory(noServers).errors.map(formatProblem), [
    '/inv/prod.yaml: no "servers" group: a Consul cluster needs servers (3 or 5)',
  ]);
  assert.deepEqual(check(0, ...clients).errors, [
    '/inv/prod.yaml:4:7 all.children.servers: the "servers" group has no hosts: a Consul cluster needs servers (3 or 5)',
  ]);
});

test('an even number of servers is a warning', () => {
  assert.deepEqual(check(4), {
    errors: [],
    warnings: [
      '/inv/prod.yaml:4:7 all.children.servers: 4 servers tolerate no more failures than 3; use 3 or 5 servers',
    ],
  });
  assert.deepEqual(check(2).warnings, [
    '/inv/prod.yaml:4:7 all.children.servers: 2 servers tolerate no more failures than 1; use 1 or 3 servers',
  ]);
  assert.deepEqual(check(1).warnings, [
    '/inv/prod.yaml:4:7 all.children.servers: 1 server tolerates no failure; use 3 or 5 servers for anything that matters',
  ]);
});

test('a host in both servers and clients is an error', () => {
  assert.deepEqual(
    check(3, '    clients:', '      hosts:', '        s2:', '        c1: { address: 10.0.2.1 }').errors,
    [
      '/inv/prod.yaml:6:13 all.children.servers.hosts.s2: host "s2" is in both "servers" and "clients": a Consul agent ' +
        'is either a server or a client',
    ],
  );
});

test('consul_bootstrap_expect must match the number of servers', () => {
  assert.deepEqual(check(3, '  vars:', '    consul_bootstrap_expect: 3').errors, []);
  assert.deepEqual(check(3, '  vars:', '    consul_bootstrap_expect: 5').errors, [
    '/inv/prod.yaml:4:7 all.children.servers: consul_bootstrap_expect is 5 for host "s1" but there are 3 servers; ' +
      'set it to 3 or remove it',
  ]);
  // Only servers matter: a client's value is never used.
  assert.deepEqual(
    check(3, '    clients:', '      hosts:', '        c1: { address: 10.0.2.1, consul_bootstrap_expect: 1 }')
      .errors,
    [],
  );
});
