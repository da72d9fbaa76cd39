import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseYaml, type DocPath } from '../../src/config/yaml-file.js';
import { assignChains, chainResolver } from '../../src/inventory/resolve/chains.js';
import { Findings } from '../../src/inventory/resolve/findings.js';
import { checkGraph, depths, memberships } from '../../src/inventory/resolve/graph.js';
import { readInventory } from '../../src/inventory/resolve/read.js';
import { lines } from './helpers.js';

/** The first stage alone: the document as read, and what it found. */
function read(text: string) {
  const yaml = parseYaml(text, '/inv/prod.yaml');
  const findings = new Findings();
  const ctx = {
    env: {},
    baseDir: '/inv',
    homeDir: '/home/op',
    problem: (path: DocPath, message: string) => findings.problem(yaml, path, message),
  };
  const walk = readInventory(yaml, findings, ctx);
  return { walk, findings };
}

const nested = lines(
  'all:',
  '  children:',
  '    consul:',
  '      vars: { port: 1 }',
  '      children:',
  '        servers:',
  '          hosts:',
  '            s1: { address: 10.0.0.1 }',
  '    rack_a:',
  '      vars: { port: 2 }',
  '      hosts:',
  '        s1:',
  '        c1: { address: 10.0.0.9 }',
);

test('read: groups and hosts in first-mention order, a host gathered over its mentions', () => {
  const { walk, findings } = read(nested);
  assert.deepEqual([...walk.groups.keys()], ['all', 'consul', 'servers', 'rack_a']);
  assert.deepEqual([...walk.hosts.keys()], ['s1', 'c1']);
  assert.deepEqual(walk.groups.get('rack_a')?.directHosts, ['s1', 'c1']);
  assert.deepEqual(findings.problems, []);
});

test('graph: depth is the longest distance from all; members include descendants', () => {
  const { walk, findings } = read(nested);
  assert.equal(checkGraph(walk, findings), true);
  const depthOf = depths(walk.groups);
  assert.deepEqual(['all', 'consul', 'servers', 'rack_a'].map(depthOf), [0, 1, 2, 1]);
  assert.deepEqual([...memberships(walk.groups)('consul')], ['s1']);
});

test('chains: hosts in the same groups share one; same-depth groups override by file order', () => {
  const { walk } = read(nested);
  assignChains(walk, memberships(walk.groups));
  const resolve = chainResolver(depths(walk.groups));
  const s1 = resolve(walk.hosts.get('s1')?.chain ?? assert.fail('no s1'));
  assert.deepEqual(
    s1.byPrecedence.map((g) => g.name),
    ['all', 'consul', 'rack_a', 'servers'],
  );
  assert.equal(s1.vars['port'], 2);
  assert.deepEqual(
    s1.overrides.map((o) => o.id),
    ['consul|rack_a|port'],
  );
  assert.deepEqual(resolve(walk.hosts.get('c1')?.chain ?? assert.fail('no c1')).groupNames, [
    'all',
    'rack_a',
  ]);
});

test('graph: a cycle is reported at the edge that closes it, and the graph is unusable', () => {
  const { walk, findings } = read(
    lines(
      'all:',
      '  hosts: { h1: { address: 10.0.0.1 } }',
      '  children:',
      '    a:',
      '      children:',
      '        b:',
      '    b:',
      '      children:',
      '        a:',
    ),
  );
  assert.equal(checkGraph(walk, findings), false);
  assert.deepEqual(
    findings.problems.map((p) => `${p.line}:${p.column} ${p.message}`),
    ['9:11 group "a" contains itself (a > b > a)'],
  );
});
