import assert from 'node:assert/strict';
import { test } from 'node:test';
import { table } from '../../src/report/table.js';

test('columns padded to the widest cell, two spaces apart, the last one not padded', () => {
  assert.deepEqual(
    table([
      ['NODE', 'STATUS', 'NOTE'],
      ['server-1', 'alive', ''],
      ['c', 'failed', 'left 3m ago'],
    ]),
    ['NODE      STATUS  NOTE', 'server-1  alive', 'c         failed  left 3m ago'],
  );
});

test('a short row is padded only as far as it goes; no line ends in spaces', () => {
  assert.deepEqual(table([['a', 'bb', 'c'], ['long'], ['x', '']]), ['a     bb  c', 'long', 'x']);
});

test('no rows, no lines', () => {
  assert.deepEqual(table([]), []);
});
