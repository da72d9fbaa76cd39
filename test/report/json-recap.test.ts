import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schemaValidator } from '../../src/config/schema.js';
import { ConfigError, GateError, InterruptedError, LockHeldError } from '../../src/errors.js';
import { createRecapCollector } from '../../src/report/collector.js';
import { buildJsonRecap } from '../../src/report/json-recap.js';
import { consulDeploy, playOut, steppingClock } from './fixtures.js';

const validRecap = (value: unknown): void => {
  const validate = schemaValidator('recap.schema.json');
  assert.ok(validate(value), JSON.stringify(validate.errors, null, 2));
};

test('recap counts per host the way Ansible does, and names exactly the hosts that changed', () => {
  const c = createRecapCollector({ now: steppingClock() });
  consulDeploy(c);
  const recap = buildJsonRecap(c.collected(), {
    command: 'drover deploy -i prod.yaml',
    droverVersion: '0.1.0',
  });
  validRecap(recap);
  assert.deepEqual(recap.hosts, {
    s1: { ok: 3, changed: 2, failed: 0, skipped: 1, unreachable: 0, ignored: 1 },
    s2: { ok: 1, changed: 0, failed: 1, skipped: 0, unreachable: 0, ignored: 0 },
    s3: { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 1, ignored: 0 },
  });
  assert.deepEqual(recap.changed_hosts, ['s1']);
  assert.deepEqual(recap.failed_hosts, ['s2']);
  assert.deepEqual(recap.unreachable_hosts, ['s3']);
  assert.equal(recap.status, 'failed');
  assert.equal(recap.exit_code, 2);
  assert.equal(recap.command, 'drover deploy -i prod.yaml');
});

test('each task lists each host status; handlers are marked; ignored failures say so', () => {
  const c = createRecapCollector({ now: steppingClock() });
  consulDeploy(c);
  const { tasks } = buildJsonRecap(c.collected());
  assert.deepEqual(
    tasks.map((t) => [
      t.task,
      t.handler,
      Object.fromEntries(Object.entries(t.hosts).map(([h, r]) => [h, r.status])),
    ]),
    [
      ['write config', false, { s1: 'changed', s2: 'ok', s3: 'unreachable' }],
      ['pull image', false, { s1: 'ok', s2: 'failed' }],
      ['optional probe', false, { s1: 'failed' }],
      ['enable acl', false, { s1: 'skipped' }],
      ['restart consul', true, { s1: 'changed' }],
    ],
  );
  const probe = tasks[2]?.hosts['s1'];
  assert.equal(probe?.ignored_error, true);
  const pull = tasks[1]?.hosts['s2'];
  assert.match(pull?.message ?? '', /exit 125/);
  assert.equal(pull?.duration_ms, 120);
  // The task started when its taskStart came, not before the run began.
  assert.ok(Date.parse(pull?.started_at ?? '') < Date.parse(pull?.ended_at ?? ''));
});

test('a task name used twice in a play gives two entries, never one overwritten result', () => {
  const c = createRecapCollector({ now: steppingClock() });
  playOut(
    c,
    'p',
    ['a', 'b'],
    [
      { task: 'restart', results: { a: { status: 'changed' }, b: { status: 'ok' } } },
      { task: 'restart', results: { a: { status: 'ok' }, b: { status: 'failed', message: 'boom' } } },
    ],
  );
  const recap = buildJsonRecap(c.collected());
  assert.equal(recap.tasks.length, 2);
  assert.deepEqual(
    recap.tasks.map((t) => [t.hosts['a']?.status, t.hosts['b']?.status]),
    [
      ['changed', 'ok'],
      ['ok', 'failed'],
    ],
  );
});

test('serial batches of the same task merge into one entry', () => {
  const c = createRecapCollector({ now: steppingClock() });
  c.playStart('rolling', ['s1', 's2']);
  for (const host of ['s1', 's2']) {
    c.batchStart?.('rolling', [host], host === 's1' ? 1 : 2, 2);
    c.taskStart({ play: 'rolling', task: 'restart', host });
    c.taskEnd({ play: 'rolling', task: 'restart', host, status: 'changed', durationMs: 5 });
  }
  const recap = buildJsonRecap(c.collected());
  assert.deepEqual(Object.keys(recap.tasks[0]?.hosts ?? {}), ['s1', 's2']);
  assert.equal(recap.tasks.length, 1);
  assert.equal(recap.status, 'ok');
  assert.equal(recap.exit_code, 0);
});

test('a host in a play that never ran a task still gets an all-zero line', () => {
  const c = createRecapCollector({ now: steppingClock() });
  playOut(c, 'p', ['a', 'b'], [{ task: 't', results: { a: { status: 'ok' } } }]);
  const recap = buildJsonRecap(c.collected());
  assert.deepEqual(recap.hosts['b'], {
    ok: 0,
    changed: 0,
    failed: 0,
    skipped: 0,
    unreachable: 0,
    ignored: 0,
  });
  assert.deepEqual(recap.changed_hosts, []);
});

test('only unreachable hosts: status unreachable, exit 4, so CI can tell it from a failed task', () => {
  const c = createRecapCollector({ now: steppingClock() });
  playOut(
    c,
    'p',
    ['a', 'b'],
    [
      {
        task: 't',
        results: { a: { status: 'ok' }, b: { status: 'unreachable', message: 'b: unreachable: timeout' } },
      },
    ],
  );
  const recap = buildJsonRecap(c.collected());
  validRecap(recap);
  assert.equal(recap.status, 'unreachable');
  assert.equal(recap.exit_code, 4);
});

test('the error that ended the run decides status and exit code, with its message as reason', () => {
  const run = () => {
    const c = createRecapCollector({ now: steppingClock() });
    playOut(c, 'p', ['a'], [{ task: 't', results: { a: { status: 'changed' } } }]);
    return c.collected();
  };
  const cases: [unknown, string, number][] = [
    [new LockHeldError('deploy lock on s1 is held by alice@ci-7 for 3m12s'), 'lock_held', 6],
    [new GateError('quorum: failure tolerance would drop to 0'), 'aborted', 5],
    [new InterruptedError('interrupted'), 'interrupted', 130],
    [new ConfigError([{ file: 'prod.yaml', line: 3, message: 'unknown key' }]), 'error', 3],
    [new Error('bug'), 'error', 1],
  ];
  for (const [error, status, code] of cases) {
    const recap = buildJsonRecap(run(), { error });
    validRecap(recap);
    assert.equal(recap.status, status);
    assert.equal(recap.exit_code, code);
    assert.equal(recap.reason, (error as Error).message);
  }
  // The runner's own verdict (an interrupt it noticed) is taken as given.
  const interrupted = buildJsonRecap(run(), { status: 'interrupted' });
  assert.deepEqual([interrupted.status, interrupted.exit_code], ['interrupted', 130]);
});

test('secret values are scrubbed from messages, diffs, notes and the reason', () => {
  const key = 'pUGdg4qqTm0rTXzLkL0Ul0c8pGyBdgk+/qK8/XKqXPk=';
  const c = createRecapCollector({ now: steppingClock(), secrets: [key] });
  playOut(
    c,
    'p',
    ['a'],
    [
      {
        task: 't',
        results: { a: { status: 'failed', message: `consul said: bad key ${key}`, diff: `+ ${key}` } },
      },
    ],
  );
  c.note(`retrying with ${key}`, 'a');
  const recap = buildJsonRecap(c.collected(), { reason: `stopped: ${key}`, secrets: [key] });
  const text = JSON.stringify(recap);
  assert.ok(!text.includes(key));
  assert.match(text, /bad key <redacted>/);
  assert.equal(recap.reason, 'stopped: <redacted>');
});

test('check mode and times are reported; a run that never reached runEnd still gets an end time', () => {
  const clock = steppingClock(1000);
  const c = createRecapCollector({ now: clock });
  playOut(c, 'p', ['a'], [{ task: 't', results: { a: { status: 'changed' } } }]);
  const recap = buildJsonRecap(c.collected(), { check: true, now: clock });
  validRecap(recap);
  assert.equal(recap.check_mode, true);
  assert.equal(recap.started_at, '2025-05-01T12:00:00.000Z');
  assert.ok(recap.duration_ms >= 3000, String(recap.duration_ms));
});
