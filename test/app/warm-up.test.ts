import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstHosts } from '../../src/app/warm-up.js';
import { makeInventory, playbook } from '../runner/helpers.js';

const inv = makeInventory({ groups: { servers: ['s1', 's2', 's3'], clients: ['c1', 'c2'] } });

const twoPlays = playbook(`
- hosts: servers
  tasks: []
- hosts: clients
  tasks: []
`);

test('firstHosts: the hosts of the plays in order, at most forks of them', () => {
  assert.deepEqual(firstHosts(twoPlays, inv, undefined, 10), ['s1', 's2', 's3', 'c1', 'c2']);
  assert.deepEqual(firstHosts(twoPlays, inv, undefined, 2), ['s1', 's2']);
});

test('firstHosts: --limit narrows them; a group made during the run is passed over', () => {
  assert.deepEqual(firstHosts(twoPlays, inv, 's2,c2', 10), ['s2', 'c2']);
  const dynamic = playbook(`
- hosts: made_by_group_by
  tasks: []
- hosts: clients
  tasks: []
`);
  assert.deepEqual(firstHosts(dynamic, inv, undefined, 10), ['c1', 'c2']);
});
