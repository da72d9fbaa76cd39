import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitBatches } from '../../src/playbook/serial.js';
import { tagsSelect } from '../../src/playbook/tags.js';

const hosts = ['h1', 'h2', 'h3', 'h4', 'h5'];

test('serial: counts, percentages and lists, the last step repeating', () => {
  assert.deepEqual(splitBatches(hosts, []), [hosts]);
  assert.deepEqual(splitBatches(hosts, [2]), [['h1', 'h2'], ['h3', 'h4'], ['h5']]);
  assert.deepEqual(splitBatches(hosts, [1, 2]), [['h1'], ['h2', 'h3'], ['h4', 'h5']]);
  // 50% of 5 is 2 (rounded down), as Ansible does.
  assert.deepEqual(splitBatches(hosts, [{ percent: 50 }]), [['h1', 'h2'], ['h3', 'h4'], ['h5']]);
  // A percentage never makes an empty batch.
  assert.deepEqual(splitBatches(['a', 'b'], [{ percent: 10 }]), [['a'], ['b']]);
  assert.deepEqual(splitBatches(hosts, [1, { percent: 100 }]), [['h1'], ['h2', 'h3', 'h4', 'h5']]);
  assert.deepEqual(splitBatches([], [1]), []);
});

test('tags: selection, skipping, and the always/never/tagged/untagged specials', () => {
  assert.equal(tagsSelect([], {}), true);
  assert.equal(tagsSelect(['config'], { tags: ['config'] }), true);
  assert.equal(tagsSelect([], { tags: ['config'] }), false);
  assert.equal(tagsSelect(['always'], { tags: ['config'] }), true);
  assert.equal(tagsSelect(['always'], { skipTags: ['always'] }), false);
  assert.equal(tagsSelect(['never', 'debug'], {}), false);
  assert.equal(tagsSelect(['never', 'debug'], { tags: ['debug'] }), true);
  assert.equal(tagsSelect(['config'], { skipTags: ['config'] }), false);
  assert.equal(tagsSelect(['config'], { tags: ['config'], skipTags: ['config'] }), false);
  assert.equal(tagsSelect([], { tags: ['untagged'] }), true);
  assert.equal(tagsSelect(['x'], { tags: ['tagged'] }), true);
});
