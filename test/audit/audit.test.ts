import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  appendAudit,
  auditEntriesForRun,
  formatAuditEntry,
  readAudit,
  type AuditEntry,
} from '../../src/audit/audit.js';
import { createRecapCollector } from '../../src/report/collector.js';
import { concludeRun } from '../../src/report/conclusion.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { LocalTransport } from '../lock/local-transport.js';
import { consulDeploy, steppingClock } from '../report/fixtures.js';

const entry: AuditEntry = {
  time: '2025-05-01T12:00:00.000Z',
  user: 'alice@ci-7',
  command: 'drover deploy -i prod.yaml',
  changed: ['write config', 'restart consul (handler)'],
  result: 'ok',
  drover_version: '0.1.0',
  ci: { provider: 'github-actions', id: '991' },
};

test('an entry is one JSON line sent on stdin, appended to the log, never put in argv', async () => {
  const t = new RecordingTransport('s1').onExec(/>> "\$1"/);
  await appendAudit(t, { ...entry, command: 'drover deploy\n--limit s1' });
  assert.equal(t.calls.length, 1);
  const call = t.calls[0];
  assert.match(
    call?.command ?? '',
    /^sh -c '.*mkdir -p -- "\$d"; } && IFS= read -r line && .* >> "\$1"' sh \/var\/log\/drover\/audit\.log$/,
  );
  assert.ok(!call?.command.includes('drover deploy'));
  const stdin = call?.stdin ?? '';
  assert.equal(stdin.split('\n').length, 2, 'exactly one line plus its newline');
  assert.deepEqual(JSON.parse(stdin), { ...entry, command: 'drover deploy\n--limit s1' });
});

test('secret values are scrubbed from the line before it leaves', async () => {
  const token = 'b3f1c2d4-aaaa-bbbb-cccc-0123456789ab';
  const t = new RecordingTransport('s1').onExec(/>> "\$1"/);
  await appendAudit(t, { ...entry, command: `drover deploy -e acl_token=${token}` }, { secrets: [token] });
  assert.ok(!t.calls[0]?.stdin?.includes(token));
  assert.match(t.calls[0]?.stdin ?? '', /acl_token=<redacted>/);
});

test('a failed append is an error naming the host and the reason', async () => {
  const t = new RecordingTransport('s1').onExec(/>> "\$1"/, { code: 1, stderr: 'No space left on device' });
  await assert.rejects(
    appendAudit(t, entry, { path: '/srv/audit.log' }),
    /s1: command failed \(exit 1\).*\/srv\/audit\.log[\s\S]*No space left/,
  );
});

test('reading returns the last N entries, oldest first, and counts lines that are not entries', async () => {
  const lines = [
    JSON.stringify({ ...entry, time: '2025-05-01T10:00:00.000Z' }),
    'someone wrote this by hand',
    JSON.stringify({ ...entry, time: '2025-05-01T11:00:00.000Z', result: 'failed', run: 'failed' }),
    '{"time": "truncated',
  ];
  const t = new RecordingTransport('s1').onExec(/tail -n "\$2"/, { stdout: `${lines.join('\n')}\n` });
  const log = await readAudit(t, { lines: 4 });
  assert.match(t.commands[0] ?? '', / sh \/var\/log\/drover\/audit\.log 4$/);
  assert.deepEqual(
    log.entries.map((e) => [e.time, e.result]),
    [
      ['2025-05-01T10:00:00.000Z', 'ok'],
      ['2025-05-01T11:00:00.000Z', 'failed'],
    ],
  );
  assert.equal(log.unreadable, 2);
  assert.deepEqual(log.entries[0], { ...entry, time: '2025-05-01T10:00:00.000Z' });
});

test('a host that never changed has no log: an empty answer, not an error', async () => {
  const t = new RecordingTransport('s1').onExec(/tail/, { stdout: '' });
  assert.deepEqual(await readAudit(t), { entries: [], unreadable: 0 });
  assert.match(t.commands[0] ?? '', / 50$/);
});

test('entries are made for exactly the hosts a run changed, with their changed tasks and result', () => {
  const c = createRecapCollector({ now: steppingClock() });
  consulDeploy(c);
  const run = c.collected();
  const entries = auditEntriesForRun({
    run,
    conclusion: concludeRun(run.outcomes),
    identity: { user: 'alice', host: 'ci-7', ci: { provider: 'gitlab-ci', id: '55' } },
    command: 'drover deploy -i prod.yaml',
    droverVersion: '0.1.0',
    now: () => new Date('2025-05-01T13:00:00Z'),
  });
  assert.deepEqual([...entries.keys()], ['s1']);
  assert.deepEqual(entries.get('s1'), {
    time: '2025-05-01T13:00:00.000Z',
    user: 'alice@ci-7',
    command: 'drover deploy -i prod.yaml',
    changed: ['write config', 'restart consul (handler)'],
    result: 'ok',
    run: 'failed',
    drover_version: '0.1.0',
    ci: { provider: 'gitlab-ci', id: '55' },
  });
  assert.equal(
    formatAuditEntry(entries.get('s1') as AuditEntry),
    '2025-05-01T13:00:00.000Z alice@ci-7 [CI job 55] ok (run failed): drover deploy -i prod.yaml; changed: write config, restart consul (handler)',
  );
});

test('for real: the directory is created, lines accumulate, and the last N come back', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'drover-audit-')), 'log', 'drover', 'audit.log');
  const t = new LocalTransport('s1');
  await appendAudit(t, { ...entry, time: '2025-05-01T10:00:00.000Z' }, { path });
  await appendAudit(
    t,
    { ...entry, time: '2025-05-01T11:00:00.000Z', changed: ['it\'s "quoted"\ttab'] },
    { path },
  );
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 3);
  const last = await readAudit(t, { path, lines: 1 });
  assert.deepEqual(last.entries, [
    { ...entry, time: '2025-05-01T11:00:00.000Z', changed: ['it\'s "quoted"\ttab'] },
  ]);
  assert.equal((await readAudit(t, { path })).entries.length, 2);
  assert.deepEqual(await readAudit(t, { path: `${path}.none` }), { entries: [], unreadable: 0 });
});
