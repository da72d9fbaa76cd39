import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickVar, varNames, type VarLayers } from '../../src/runner/host-vars.js';

const layers = (registered?: Map<string, unknown>): VarLayers => ({
  defaults: { level: 'defaults', only_defaults: 1 },
  inventory: { level: 'inventory', only_inventory: 2 },
  play: { level: 'play' },
  registered,
  extra: {},
});

test('pickVar: defaults < inventory < play vars < registered results < extra vars', () => {
  assert.deepEqual(pickVar(layers(), 'only_defaults'), { source: 'defaults', value: 1 });
  assert.deepEqual(pickVar(layers(), 'only_inventory'), { source: 'inventory', value: 2 });
  assert.deepEqual(pickVar(layers(), 'level'), { source: 'play', value: 'play' });
  const registered = new Map([['level', { rc: 0 }]]);
  assert.deepEqual(pickVar(layers(registered), 'level'), { source: 'registered', value: { rc: 0 } });
  const extra = { ...layers(registered), extra: { level: 'extra' } };
  assert.deepEqual(pickVar(extra, 'level'), { source: 'extra', value: 'extra' });
});

test('pickVar: a name no layer sets, or one only Object.prototype has, is not found', () => {
  assert.equal(pickVar(layers(), 'nowhere'), undefined);
  assert.equal(pickVar(layers(), 'toString'), undefined);
});

test('pickVar: a var set to undefined or null still takes its layer', () => {
  const l = { ...layers(), extra: { level: undefined }, play: { level: null } };
  assert.deepEqual(pickVar(l, 'level'), { source: 'extra', value: undefined });
});

test('varNames: every layer, lowest first, each name once', () => {
  const names = varNames({ ...layers(new Map([['result', {}]])), extra: { image: 'x', level: 'e' } });
  assert.deepEqual([...names], ['level', 'only_defaults', 'only_inventory', 'result', 'image']);
});
