import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { inventoryGraph, inventoryList } from '../../src/inventory/show.js';
import { inventory, lines } from './helpers.js';

const inv = inventory(
  lines(
    'all:',
    '  vars: { consul_datacenter: dc1, consul_encrypt: { env: KEY } }',
    '  hosts:',
    '    bastion: { address: 10.0.0.1 }',
    '  children:',
    '    consul:',
    '      children:',
    '        servers:',
    '          hosts:',
    '            s1: { address: 10.0.1.1 }',
    '            s2: { address: 10.0.1.2 }',
    '        clients:',
    '          hosts:',
    '            c1: { address: 10.0.2.1, consul_datacenter: dc2 }',
  ),
  { KEY: 'gossip-key-value' },
);

test('--list has the shape of ansible-inventory --list, secrets redacted', () => {
  assert.deepEqual(inventoryList(inv), {
    _meta: {
      hostvars: {
        bastion: {
          address: '10.0.0.1',
          bind_addr: '10.0.0.1',
          consul_datacenter: 'dc1',
          consul_encrypt: '<redacted>',
          inventory_hostname: 'bastion',
        },
        s1: {
          address: '10.0.1.1',
          bind_addr: '10.0.1.1',
          consul_datacenter: 'dc1',
          consul_encrypt: '<redacted>',
          inventory_hostname: 's1',
        },
        s2: {
          address: '10.0.1.2',
          bind_addr: '10.0.1.2',
          consul_datacenter: 'dc1',
          consul_encrypt: '<redacted>',
          inventory_hostname: 's2',
        },
        c1: {
          address: '10.0.2.1',
          bind_addr: '10.0.2.1',
          consul_datacenter: 'dc2',
          consul_encrypt: '<redacted>',
          inventory_hostname: 'c1',
        },
      },
    },
    all: { children: ['ungrouped', 'consul'] },
    ungrouped: { hosts: ['bastion'] },
    consul: { children: ['servers', 'clients'] },
    servers: { hosts: ['s1', 's2'] },
    clients: { hosts: ['c1'] },
  });
});

test('--graph draws the tree like ansible-inventory --graph', () => {
  assert.equal(
    inventoryGraph(inv),
    [
      '@all:',
      '  |--@ungrouped:',
      '  |  |--bastion',
      '  |--@consul:',
      '  |  |--@servers:',
      '  |  |  |--s1',
      '  |  |  |--s2',
      '  |  |--@clients:',
      '  |  |  |--c1',
    ].join('\n'),
  );
  assert.equal(inventoryGraph(inv, 'servers'), ['@servers:', '  |--s1', '  |--s2'].join('\n'));
  assert.throws(() => inventoryGraph(inv, 'nope'), UsageError);
});
