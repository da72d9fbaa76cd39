import assert from 'node:assert/strict';
import { test } from 'node:test';
import { and, exec, pipe, quote, render, secretsOf } from '../../src/shell/cmd.js';
import { secret } from '../../src/shell/secret.js';

test('quote: plain words stay bare; anything else is single-quoted, quotes included', () => {
  assert.equal(quote('/var/lib/consul'), '/var/lib/consul');
  assert.equal(quote(''), "''");
  assert.equal(quote('a b'), "'a b'");
  assert.equal(quote("it's"), "'it'\\''s'");
});

test('render: falsy arguments dropped; compound parts in braces, so nesting keeps its meaning', () => {
  const cmd = and(exec('mkdir', '-p', '/d', false && '-v'), pipe(exec('cat', 'a b'), exec('wc', '-l')));
  assert.equal(render(cmd, { redact: true }), "mkdir -p /d && { cat 'a b' | wc -l; }");
});

test('a Secret is redacted for people and quoted clear text on the wire; secretsOf finds it', () => {
  const cmd = pipe(exec('printf', '%s', secret('tok en-1234')), exec('consul', 'kv', 'put', 'k', '-'));
  assert.equal(render(cmd, { redact: true }), 'printf %s <redacted> | consul kv put k -');
  assert.equal(render(cmd, { redact: false }), "printf %s 'tok en-1234' | consul kv put k -");
  assert.deepEqual(secretsOf(cmd), ['tok en-1234']);
});
