import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblem } from '../../src/errors.js';
import { checkConsulInventory, serversByDatacenter } from '../../src/inventory/consul-checks.js';
import { inventory, lines } from './helpers.js';

/** Two datacenters: a group per datacenter sets consul_datacenter for the hosts it lists again. */
const TWO_DCS = [
  'all:',
  '  children:',
  '    servers:',
  '      hosts:',
  '        a1: { address: 10.0.1.1 }',
  '        a2: { address: 10.0.1.2 }',
  '        a3: { address: 10.0.1.3 }',
  '        b1: { address: 10.0.2.1 }',
  '        b2: { address: 10.0.2.2 }',
  '        b3: { address: 10.0.2.3 }',
  '    clients:',
  '      hosts:',
  '        ca: { address: 10.0.1.9 }',
  '    east:',
  '      vars: { consul_datacenter: east }',
  '      hosts: { a1: , a2: , a3: , ca: }',
  '    west:',
  '      vars: { consul_datacenter: west }',
  '      hosts: { b1: , b2: , b3: }',
];

const check = (...text: string[]) => {
  const { errors, warnings } = checkConsulInventory(inventory(lines(...text)));
  return { errors: errors.map(formatProblem), warnings: warnings.map(formatProblem) };
};

test('two datacenters of 3 servers each: quorum counted per datacenter, no warning', () => {
  assert.deepEqual(check(...TWO_DCS), { errors: [], warnings: [] });
  const inv = inventory(lines(...TWO_DCS));
  assert.deepEqual(Object.fromEntries(serversByDatacenter(inv, inv.groups.get('servers')!.hosts)), {
    east: ['a1', 'a2', 'a3'],
    west: ['b1', 'b2', 'b3'],
  });
});

test('bootstrap_expect and even server counts are judged per datacenter, and say which', () => {
  const r = check(
    ...TWO_DCS.map((l) =>
      l.replace(
        '        b3: { address: 10.0.2.3 }',
        '        b3: { address: 10.0.2.3 }\n        b4: { address: 10.0.2.4 }',
      ),
    )
      .map((l) => l.replace('hosts: { b1: , b2: , b3: }', 'hosts: { b1: , b2: , b3: , b4: }'))
      .map((l) =>
        l.replace(
          'vars: { consul_datacenter: east }',
          'vars: { consul_datacenter: east, consul_bootstrap_expect: 6 }',
        ),
      ),
  );
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /datacenter "west": 4 servers tolerate no more failures than 3/);
  assert.equal(r.errors.length, 1);
  assert.match(
    r.errors[0]!,
    /consul_bootstrap_expect is 6 for host "a1" but there are 3 servers in datacenter "east"; set it to 3/,
  );
});

test('a client in a datacenter without servers is an error before anything runs', () => {
  const r = check(
    ...TWO_DCS.map((l) =>
      l.replace(
        '        ca: { address: 10.0.1.9 }',
        '        ca: { address: 10.0.1.9, consul_datacenter: lab }',
      ),
    ),
  );
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!, /client "ca" in datacenter "lab", which has no server/);
});
