import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapLimit, Semaphore } from '../../src/util/limit.js';

/** A call that finishes only when the test says so, to look at what is in flight meanwhile. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('Semaphore: at most size calls in flight; the waiting ones start in call order', async () => {
  const slots = new Semaphore(2);
  const gates = [gate(), gate(), gate(), gate()];
  const started: number[] = [];
  const done = gates.map((g, i) =>
    slots.run(async () => {
      started.push(i);
      await g.opened;
      return i;
    }),
  );
  await turn();
  assert.deepEqual(started, [0, 1]);
  gates[1]!.open();
  await turn();
  assert.deepEqual(started, [0, 1, 2]);
  gates[0]!.open();
  await turn();
  assert.deepEqual(started, [0, 1, 2, 3]);
  gates[2]!.open();
  gates[3]!.open();
  assert.deepEqual(await Promise.all(done), [0, 1, 2, 3]);
});

test('Semaphore: a call that throws gives its slot back', async () => {
  const slots = new Semaphore(1);
  await assert.rejects(
    slots.run(async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await slots.run(async () => 'next'), 'next');
});

test('mapLimit keeps input order whatever order the calls finish in, and never exceeds the limit', async () => {
  let inFlight = 0;
  let most = 0;
  const delays = [30, 5, 20, 1, 10, 2];
  const out = await mapLimit(delays, 3, async (ms) => {
    most = Math.max(most, ++inFlight);
    await new Promise((resolve) => setTimeout(resolve, ms));
    inFlight--;
    return ms * 2;
  });
  assert.deepEqual(out, [60, 10, 40, 2, 20, 4]);
  assert.equal(most, 3);
});
