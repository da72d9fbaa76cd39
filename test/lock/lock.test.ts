import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExitCode, LockHeldError } from '../../src/errors.js';
import { checkLockDir, readLock, releaseOurLock, removeLock, takeLock } from '../../src/lock/commands.js';
import { createLockDetails, formatAge, type LockDetails } from '../../src/lock/details.js';
import { ciJobFromEnv } from '../../src/lock/identity.js';
import {
  acquireLock,
  DeployLockHeldError,
  forceReleaseLock,
  lockHostName,
  lockStatus,
  releaseLock,
} from '../../src/lock/lock.js';
import { render } from '../../src/shell/cmd.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { makeInventory } from '../runner/helpers.js';
import { FakeClock } from '../../src/util/fake-clock.js';

const DIR = '/var/lib/drover/lock';
const TAKE = render(takeLock(DIR), { redact: true });
const READ = render(readLock(DIR), { redact: true });
const REMOVE = render(removeLock(DIR), { redact: true });

const alice: LockDetails = {
  token: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1',
  user: 'alice',
  host: 'ci-7',
  command: 'drover deploy',
  drover_version: '0.1.0',
  pid: 4242,
  acquired_at: '2025-05-01T12:00:00.000Z',
  ci: { provider: 'github-actions', id: '991' },
};

const mine = createLockDetails({
  command: 'drover deploy -i prod.yaml',
  droverVersion: '0.1.0',
  identity: { user: 'bob', host: 'laptop' },
});

/** What the host prints for a held lock: `held`, its clock, the dir's mtime, the details. */
const heldBy = (details: object | string, ageSeconds: number) =>
  `held\n${1_700_000_000 + ageSeconds}\n1700000000\n${typeof details === 'string' ? details : JSON.stringify(details)}\n`;

test('a free lock is taken in one mkdir, with the details sent on stdin', async () => {
  const t = new RecordingTransport('s1').onExec(TAKE, { code: 0 });
  const handle = await acquireLock(t, mine);
  assert.equal(handle.host, 's1');
  assert.equal(handle.token, mine.token);
  assert.equal(t.calls.length, 1);
  // mkdir without -p is the test-and-set; the path is an argument, never part of the script.
  assert.match(t.commands[0] ?? '', /if err=\$\(mkdir -- "\$1" 2>&1\)/);
  assert.match(t.commands[0] ?? '', / sh \/var\/lib\/drover\/lock$/);
  const sent = JSON.parse(t.calls[0]?.stdin ?? '') as LockDetails;
  assert.equal(sent.token, mine.token);
  assert.equal(sent.user, 'bob');
  assert.equal(sent.command, 'drover deploy -i prod.yaml');
  assert.match(mine.token, /^[0-9a-f]{32}$/);
});

test('a held lock fails at once with exit 6 and a message naming holder, age, command and CI job', async () => {
  const t = new RecordingTransport('s1').onExec(TAKE, { code: 1, stdout: heldBy(alice, 192) });
  const err = await acquireLock(t, mine).then(
    () => assert.fail('acquired a held lock'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DeployLockHeldError);
  assert.ok(err instanceof LockHeldError);
  assert.equal(err.exitCode, ExitCode.lockHeld);
  assert.match(err.message, /held by alice@ci-7 for 3m12s: drover deploy \(CI job 991\)/);
  assert.match(err.message, /drover lock release/);
  assert.match(err.message, /--lock-wait/);
  assert.equal(err.state.details?.token, alice.token);
  assert.equal(t.calls.length, 1);
});

test('with a wait, polls until the holder is gone, then takes the lock', async () => {
  let attempts = 0;
  const t = new RecordingTransport('s1').onExec(TAKE, () =>
    ++attempts < 3 ? { code: 1, stdout: heldBy(alice, 60 + attempts * 10) } : { code: 0 },
  );
  const clock = new FakeClock(0);
  const waits: string[] = [];
  const handle = await acquireLock(t, mine, {
    waitSeconds: 120,
    pollSeconds: 10,
    clock,
    onWait: (state, waited) => waits.push(`${waited}s ${state.description}`),
  });
  assert.equal(handle.token, mine.token);
  assert.equal(attempts, 3);
  assert.deepEqual(clock.sleeps, [10_000, 10_000]);
  assert.deepEqual(waits, [
    '0s held by alice@ci-7 for 1m10s: drover deploy (CI job 991)',
    '10s held by alice@ci-7 for 1m20s: drover deploy (CI job 991)',
  ]);
});

test('the wait is bounded: when it runs out, the error says how long it waited', async () => {
  const t = new RecordingTransport('s1').onExec(TAKE, { code: 1, stdout: heldBy(alice, 600) });
  const clock = new FakeClock(0);
  await assert.rejects(
    acquireLock(t, mine, { waitSeconds: 25, pollSeconds: 10, clock }),
    (e: unknown) => e instanceof DeployLockHeldError && /still held after waiting 25s/.test(e.message),
  );
  // The last sleep is cut to what is left of the wait.
  assert.deepEqual(clock.sleeps, [10_000, 10_000, 5_000]);
});

test('release removes the lock only when the token in it is ours, in one command', async () => {
  const RELEASE = render(releaseOurLock(DIR, mine.token), { redact: true });
  const other = new RecordingTransport('s1').onExec(RELEASE, { stdout: heldBy(alice, 5) });
  const r = await releaseLock(other, mine.token);
  assert.ok(!r.released && r.reason === 'held_by_other');
  assert.equal(r.state.details?.token, alice.token, 'says whose lock it found');

  const own = new RecordingTransport('s1').onExec(RELEASE, { stdout: 'released\n' });
  assert.deepEqual(await releaseLock(own, mine.token), { released: true });
  assert.deepEqual(own.commands, [RELEASE]);

  const free = new RecordingTransport('s1').onExec(RELEASE, { stdout: 'free\n' });
  assert.deepEqual(await releaseLock(free, mine.token), { released: false, reason: 'free' });
});

test('status of a stale lock shows its age by the host clock; a lock without details says so', async () => {
  const stale = await lockStatus(
    new RecordingTransport('s1').onExec(READ, { stdout: heldBy(alice, 2 * 86400 + 3 * 3600) }),
  );
  assert.ok(stale.held);
  assert.equal(stale.ageSeconds, 2 * 86400 + 3 * 3600);
  assert.equal(stale.description, 'held by alice@ci-7 for 2d3h: drover deploy (CI job 991)');

  const bare = await lockStatus(new RecordingTransport('s1').onExec(READ, { stdout: heldBy('', 4) }));
  assert.ok(bare.held);
  assert.match(bare.description, /^held by an unknown holder for 4s \(no readable details file/);

  const free = await lockStatus(new RecordingTransport('s1').onExec(READ, { stdout: 'free\n' }));
  assert.deepEqual(free, { held: false, host: 's1', dir: DIR });
});

test('force release removes whatever lock is there and reports whose it was', async () => {
  const t = new RecordingTransport('s1').onExec(READ, { stdout: heldBy(alice, 30) }).onExec(REMOVE);
  const was = await forceReleaseLock(t);
  assert.ok(was.held && was.details?.user === 'alice');
  assert.deepEqual(t.commands, [READ, REMOVE]);
  assert.equal(REMOVE, 'rm -rf -- /var/lib/drover/lock');
});

test('a custom lock dir is used everywhere; a dangerous one is refused before any command', async () => {
  const dir = '/srv/drover/locks/consul';
  const t = new RecordingTransport('s1').onExec(render(readLock(dir), { redact: true }), {
    stdout: 'free\n',
  });
  assert.equal((await lockStatus(t, { dir })).held, false);
  for (const bad of ['/', '', 'var/lib/lock', '/var/lib/../..', '/tmp/./x']) {
    assert.throws(() => checkLockDir(bad), /absolute path/, bad);
  }
  await assert.rejects(forceReleaseLock(new RecordingTransport('s1'), { dir: '/' }), /absolute path/);
});

test('a failure other than "held" (permissions) is a command error, not a lock error', async () => {
  const t = new RecordingTransport('s1').onExec(TAKE, {
    code: 3,
    stderr: "mkdir: cannot create directory '/var/lib/drover': Permission denied",
  });
  await assert.rejects(
    acquireLock(t, mine),
    (e: unknown) => !(e instanceof LockHeldError) && /Permission denied/.test(String(e)),
  );
});

test('the lock lives on the first server, whatever order groups are listed in', () => {
  const inv = makeInventory({ groups: { clients: ['c1', 'c2'], servers: ['s1', 's2', 's3'] } });
  assert.equal(lockHostName(inv), 's1');
  assert.equal(lockHostName(makeInventory({ groups: { web: ['w1', 'w2'] } })), 'w1');
});

test("the CI job is found from each CI system's variables", () => {
  assert.deepEqual(
    ciJobFromEnv({
      GITHUB_RUN_ID: '991',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/infra',
      GITHUB_ACTOR: 'alice',
      BUILD_ID: 'not-jenkins',
    }),
    {
      provider: 'github-actions',
      id: '991',
      url: 'https://github.com/acme/infra/actions/runs/991',
      actor: 'alice',
    },
  );
  assert.deepEqual(ciJobFromEnv({ CI_JOB_ID: '55', CI_JOB_URL: 'https://gitlab.example/j/55' }), {
    provider: 'gitlab-ci',
    id: '55',
    url: 'https://gitlab.example/j/55',
  });
  assert.deepEqual(ciJobFromEnv({ BUILD_ID: '7' }), { provider: 'jenkins', id: '7' });
  assert.equal(ciJobFromEnv({ GITHUB_RUN_ID: '' }), undefined);
});

test('ages read the way people say them', () => {
  assert.deepEqual([5, 192, 3600 + 5 * 60, 86400 * 3 + 4 * 3600].map(formatAge), [
    '5s',
    '3m12s',
    '1h05m',
    '3d4h',
  ]);
});

test('a command line in the details is redacted', () => {
  const d = createLockDetails({
    command: 'drover deploy --extra-var consul_encrypt=pUGdg4qqTm0rTXzLkL0Ul0c8pGy=',
    droverVersion: '0.1.0',
    identity: { user: 'bob', host: 'laptop' },
    secrets: ['pUGdg4qqTm0rTXzLkL0Ul0c8pGy='],
  });
  assert.equal(d.command, 'drover deploy --extra-var consul_encrypt=<redacted>');
});
