import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration } from '../../src/consul/parse/go-duration.js';
import { ConsulOutputError } from '../../src/consul/api/output-error.js';

test('parses the durations Consul prints in consul info and autopilot health', () => {
  assert.equal(parseGoDuration('53.901869ms'), 53.901869);
  assert.equal(parseGoDuration('3m5.77s'), 185_770);
  assert.equal(parseGoDuration('27.291304ms'), 27.291304);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('0s'), 0);
  assert.equal(parseGoDuration('1h2m'), 3_720_000);
  assert.equal(parseGoDuration('-1.5s'), -1500);
});

test('accepts both micro signs Go accepts, and nanoseconds', () => {
  assert.equal(parseGoDuration('250µs'), 0.25);
  assert.equal(parseGoDuration('250μs'), 0.25);
  assert.equal(parseGoDuration('250us'), 0.25);
  assert.equal(parseGoDuration('1500000ns'), 1.5);
});

test('rejects what is not a Go duration, naming the source', () => {
  for (const bad of ['', '5', 'ms', '5 s', '5sec', '1.5.2s', 'never']) {
    assert.throws(
      () => parseGoDuration(bad, 'raft.last_contact'),
      (err: unknown) => err instanceof ConsulOutputError && err.message.startsWith('raft.last_contact:'),
      `"${bad}" should be rejected`,
    );
  }
});
