import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  containsSecret,
  REDACTED,
  redactSecrets,
  revealSecrets,
  secret,
  secretTexts,
} from '../../src/shell/secret.js';

const value = () => ({
  plain: 'text',
  token: secret('tok-1234'),
  nested: { list: [1, secret('key-5678'), { deep: secret('tok-1234') }] },
});

test('secretTexts: every clear text once, in the order met', () => {
  assert.deepEqual([...secretTexts(value())], ['tok-1234', 'key-5678']);
  assert.deepEqual([...secretTexts('no secrets'), ...secretTexts(null)], []);
});

test('secretTexts adds to a set it is given', () => {
  const out = new Set(['earlier']);
  secretTexts([secret('later-one')], out);
  assert.deepEqual([...out], ['earlier', 'later-one']);
});

test('containsSecret: at any depth of arrays and plain objects', () => {
  assert.equal(containsSecret(value()), true);
  assert.equal(containsSecret(secret('s')), true);
  assert.equal(containsSecret({ a: [1, 'two', { b: null }] }), false);
});

test('revealSecrets and redactSecrets copy, and leave the original as it was', () => {
  const original = value();
  assert.deepEqual(revealSecrets(original), {
    plain: 'text',
    token: 'tok-1234',
    nested: { list: [1, 'key-5678', { deep: 'tok-1234' }] },
  });
  assert.deepEqual(redactSecrets(original), {
    plain: 'text',
    token: REDACTED,
    nested: { list: [1, REDACTED, { deep: REDACTED }] },
  });
  assert.deepEqual([...secretTexts(original)], ['tok-1234', 'key-5678']);
});

test('only arrays and plain objects are entered: a prototype-less object or a Map is a leaf', () => {
  const bare = Object.create(null) as Record<string, unknown>;
  bare['token'] = secret('hidden-1');
  const map = new Map([['token', secret('hidden-2')]]);
  assert.equal(containsSecret({ bare, map }), false);
  assert.deepEqual([...secretTexts([bare, map])], []);
  const copy = revealSecrets({ bare, map });
  assert.equal(copy.bare, bare);
  assert.equal(copy.map, map);
});
