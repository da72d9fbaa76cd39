import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { schemaValidator } from '../../src/config/schema.js';
import { LockHeldError } from '../../src/errors.js';
import { createEventsReporter, openEventsFile, type DroverEvent } from '../../src/report/events.js';
import { consulDeploy, playOut, steppingClock } from './fixtures.js';

class Buffer {
  text = '';
  write(s: string) {
    this.text += s;
  }
  get events(): DroverEvent[] {
    return this.text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as DroverEvent);
  }
}

const options = { command: 'drover deploy -i prod.yaml', droverVersion: '0.1.0' };

test('every line is one JSON object valid against schemas/events.schema.json', () => {
  const out = new Buffer();
  const r = createEventsReporter(out, { ...options, now: steppingClock() });
  consulDeploy(r);
  r.note('play "consul servers": every host in the batch failed; stopping the run');
  r.runEnd({});
  r.finish();
  const validate = schemaValidator('events.schema.json');
  const lines = out.text.split('\n');
  assert.equal(lines.at(-1), '', 'the file ends with a newline');
  for (const line of lines.slice(0, -1)) {
    assert.ok(validate(JSON.parse(line)), `${line}\n${JSON.stringify(validate.errors)}`);
  }
  const kinds = out.events.map((e) => e.event);
  assert.equal(kinds[0], 'run_start');
  assert.equal(kinds.at(-1), 'run_end');
  assert.deepEqual(
    [...new Set(kinds)],
    ['run_start', 'play_start', 'batch_start', 'task_start', 'task_end', 'note', 'run_end'],
  );
  assert.deepEqual(
    out.events.map((e) => e.seq),
    out.events.map((_, i) => i + 1),
  );
});

test('run_start says what ran; task_end carries host, play, task, status, message and times', () => {
  const out = new Buffer();
  const r = createEventsReporter(out, { ...options, check: true, now: steppingClock() });
  const [start] = out.events;
  assert.equal(start?.event, 'run_start');
  if (start?.event !== 'run_start') return;
  assert.equal(start.command, 'drover deploy -i prod.yaml');
  assert.equal(start.drover_version, '0.1.0');
  assert.equal(start.check_mode, true);
  assert.equal(start.time, '2025-05-01T12:00:00.000Z');

  playOut(
    r,
    'p',
    ['s2'],
    [{ task: 'pull image', results: { s2: { status: 'failed', message: 'exit 125' } } }],
  );
  const end = out.events.find((e) => e.event === 'task_end');
  assert.ok(end && end.event === 'task_end');
  assert.deepEqual(
    {
      host: end.host,
      play: end.play,
      task: end.task,
      status: end.status,
      message: end.message,
      ms: end.duration_ms,
    },
    { host: 's2', play: 'p', task: 'pull image', status: 'failed', message: 'exit 125', ms: 120 },
  );
  const taskStart = out.events.find((e) => e.event === 'task_start');
  assert.equal(end.started_at, taskStart?.time);
  assert.equal(end.ended_at, end.time);
});

test('run_end carries how the run ended, the recap and exactly the changed hosts', () => {
  const out = new Buffer();
  const r = createEventsReporter(out, { ...options, now: steppingClock() });
  consulDeploy(r);
  r.finish();
  const end = out.events.at(-1);
  assert.ok(end?.event === 'run_end');
  assert.equal(end.status, 'failed');
  assert.equal(end.exit_code, 2);
  assert.deepEqual(end.changed_hosts, ['s1']);
  assert.deepEqual(end.recap['s1'], { ok: 3, changed: 2, failed: 0, skipped: 1, unreachable: 0, ignored: 1 });
  assert.ok(end.duration_ms > 0);
});

test('a held lock ends the stream with lock_held and exit 6; finish writes run_end only once', () => {
  const out = new Buffer();
  const r = createEventsReporter(out, { ...options, now: steppingClock() });
  r.finish({ error: new LockHeldError('deploy lock on s1 is held by alice@ci-7 for 3m12s') });
  r.finish({ status: 'ok' });
  const ends = out.events.filter((e) => e.event === 'run_end');
  assert.equal(ends.length, 1);
  const end = ends[0];
  assert.ok(end?.event === 'run_end');
  assert.equal(end.status, 'lock_held');
  assert.equal(end.exit_code, 6);
  assert.match(end.reason ?? '', /alice@ci-7/);
});

test('secret values never reach the file, whichever field they sneak into', () => {
  const token = 'b3f1c2d4-aaaa-bbbb-cccc-0123456789ab';
  const out = new Buffer();
  const r = createEventsReporter(out, {
    command: `drover deploy --extra-var acl_token=${token}`,
    droverVersion: '0.1.0',
    secrets: [token],
  });
  playOut(
    r,
    'p',
    ['a'],
    [{ task: 't', results: { a: { status: 'changed', message: `set ${token}`, diff: `-x\n+${token}` } } }],
  );
  r.note(`token ${token} rejected`, 'a');
  r.finish({ reason: `gave up on ${token}`, status: 'failed' });
  assert.ok(!out.text.includes(token));
  assert.equal(out.text.match(/<redacted>/g)?.length, 5);
});

test('with openEventsFile each event is in the file as soon as it is reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-events-'));
  const path = join(dir, 'events.ndjson');
  const file = openEventsFile(path);
  const r = createEventsReporter(file, options);
  r.playStart('p', ['a']);
  r.taskStart({ play: 'p', task: 't', host: 'a' });
  r.taskEnd({ play: 'p', task: 't', host: 'a', status: 'ok', durationMs: 3 });
  // No flush, no close: a run killed right now would leave these lines behind.
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as DroverEvent).event),
    ['run_start', 'play_start', 'task_start', 'task_end'],
  );
  file.close();
});

test('on a stream, flush resolves once everything reported is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-events-'));
  const path = join(dir, 'events.ndjson');
  const stream = createWriteStream(path);
  const r = createEventsReporter(stream, options);
  for (let i = 0; i < 200; i++) r.note(`line ${i}`);
  r.finish();
  await r.flush();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  assert.equal(lines.length, 202);
  stream.end();
});
