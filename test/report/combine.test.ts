import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineReporters } from '../../src/report/combine.js';
import { createRecapCollector } from '../../src/report/collector.js';
import type { Reporter } from '../../src/runner/reporter.js';
import { playOut, steppingClock } from './fixtures.js';

test('every reporter gets every event, in order', () => {
  const a = createRecapCollector({ now: steppingClock() });
  const b = createRecapCollector({ now: steppingClock() });
  const both = combineReporters(a, b);
  playOut(
    both,
    'p',
    ['h1', 'h2'],
    [{ task: 't', results: { h1: { status: 'changed' }, h2: { status: 'ok' } } }],
  );
  both.note?.('hello', 'h1');
  both.runEnd?.({});
  assert.deepEqual(a.collected(), b.collected());
  assert.deepEqual(
    a.collected().outcomes.map((o) => `${o.host}:${o.status}`),
    ['h1:changed', 'h2:ok'],
  );
  assert.equal(a.collected().notes[0]?.message, 'hello');
});

test('one reporter throwing does not starve the others; the error still surfaces', async () => {
  const broken: Reporter = {
    playStart() {
      throw new Error('disk full');
    },
    taskStart() {},
    taskEnd() {},
    flush: async () => {
      throw new Error('flush failed');
    },
  };
  const c = createRecapCollector();
  const both = combineReporters(broken, c);
  assert.throws(() => both.playStart('p', ['h']), /disk full/);
  assert.deepEqual(c.collected().plays, [{ name: 'p', hosts: ['h'] }]);
  // Reporters without the optional methods are simply skipped.
  both.batchStart?.('p', ['h'], 1, 1);
  await assert.rejects(both.flush?.() ?? Promise.resolve(), /flush failed/);
});
