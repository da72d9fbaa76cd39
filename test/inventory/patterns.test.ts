import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { selectHosts } from '../../src/inventory/patterns.js';
import { inventory, lines } from './helpers.js';

const inv = inventory(
  lines(
    'all:',
    '  hosts:',
    '    bastion: { address: 10.0.0.1 }',
    '  children:',
    '    servers:',
    '      hosts:',
    '        s1: { address: 10.0.1.1 }',
    '        s2: { address: 10.0.1.2 }',
    '        s3: { address: 10.0.1.3 }',
    '    clients:',
    '      hosts:',
    '        web1: { address: 10.0.2.1 }',
    '        web2: { address: 10.0.2.2 }',
    '        db1: { address: 10.0.2.3 }',
    '    canary:',
    '      hosts:',
    '        s2:',
    '        web2:',
    '    empty:',
    '      hosts: {}',
  ),
);
const select = (pattern: string) => selectHosts(inv, pattern);
const everyone = ['bastion', 's1', 's2', 's3', 'web1', 'web2', 'db1'];

test('all and * select every host in inventory order', () => {
  assert.deepEqual(select('all'), everyone);
  assert.deepEqual(select('*'), everyone);
});

test('host names and group names, including the implicit ungrouped', () => {
  assert.deepEqual(select('s3'), ['s3']);
  assert.deepEqual(select('servers'), ['s1', 's2', 's3']);
  assert.deepEqual(select('ungrouped'), ['bastion']);
});

test('globs match host and group names', () => {
  assert.deepEqual(select('web*'), ['web1', 'web2']);
  assert.deepEqual(select('s?'), ['s1', 's2', 's3']);
  assert.deepEqual(select('*ts'), ['web1', 'web2', 'db1']); // the group clients
  assert.deepEqual(select('w?b1'), ['web1']);
});

test('union with : and , returns inventory order, not pattern order', () => {
  assert.deepEqual(select('db1:s1'), ['s1', 'db1']);
  assert.deepEqual(select('db1,s1'), ['s1', 'db1']);
  assert.deepEqual(select('clients, bastion'), ['bastion', 'web1', 'web2', 'db1']);
});

test('exclusion and intersection', () => {
  assert.deepEqual(select('all:!servers'), ['bastion', 'web1', 'web2', 'db1']);
  assert.deepEqual(select('servers:&canary'), ['s2']);
  assert.deepEqual(select('!clients'), ['bastion', 's1', 's2', 's3']);
  assert.deepEqual(select('&canary'), ['s2', 'web2']);
});

test('unions first, then intersections, then exclusions, whatever the order written', () => {
  assert.deepEqual(select('!s2:servers:clients:&canary'), ['web2']);
  assert.deepEqual(select('servers:!s1,clients:&canary'), ['s2', 'web2']);
});

test('an empty group matches (no error) and selects nothing', () => {
  assert.deepEqual(select('empty'), []);
  assert.deepEqual(select('servers:&clients'), []);
});

test('a term that matches nothing is a usage error naming it', () => {
  const fails = (pattern: string, message: string) =>
    assert.throws(
      () => select(pattern),
      (err: unknown) => err instanceof UsageError && err.message === message,
    );
  fails('servers:!s9', 'host pattern "s9" matches no host or group in /inv/prod.yaml');
  fails('server', 'host pattern "server" matches no host or group in /inv/prod.yaml');
  fails('x*', 'host pattern "x*" matches no host or group in /inv/prod.yaml');
  fails('servers:!', 'host pattern has "!" or "&" with no name after it');
  fails(' , ', 'empty host pattern " , "');
});

test('glob characters other than * and ? are literal', () => {
  assert.throws(() => select('s.*'), UsageError);
  assert.throws(() => select('s[12]'), UsageError);
});

test('a name that is both a host and a group selects both, and loading warns about it', () => {
  const both = inventory(
    lines(
      'all:',
      '  hosts:',
      '    db: { address: 10.0.0.1 }',
      '  children:',
      '    db:',
      '      hosts:',
      '        db2: { address: 10.0.0.2 }',
    ),
  );
  assert.deepEqual(selectHosts(both, 'db'), ['db', 'db2']);
  assert.deepEqual(
    both.warnings.map((w) => `${w.line}:${w.column} ${w.message}`),
    ['3:9 "db" is both a host and a group; patterns select both'],
  );
});
