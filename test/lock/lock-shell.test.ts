/** The lock scripts run for real with the local shell against a temporary directory. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLockDetails } from '../../src/lock/details.js';
import { acquireLock, DeployLockHeldError, lockStatus, releaseLock } from '../../src/lock/lock.js';
import { LocalTransport } from './local-transport.js';

const details = (user: string) =>
  createLockDetails({
    command: `drover deploy (${user})`,
    droverVersion: '0.1.0',
    identity: { user, host: 'ci-7' },
  });

test('take, see it held by us, refuse a second taker, release, take again', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'drover-lock-')), 'missing-parent', 'lock');
  const t = new LocalTransport('s1');
  const alice = details('alice');
  const handle = await acquireLock(t, alice, { dir });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'details'), 'utf8')), alice);

  const status = await lockStatus(t, { dir });
  assert.ok(status.held);
  assert.equal(status.details?.token, alice.token);
  assert.ok((status.ageSeconds ?? 99) <= 2, String(status.ageSeconds));
  assert.match(status.description, /^held by alice@ci-7 for \ds: drover deploy \(alice\)$/);

  await assert.rejects(acquireLock(t, details('bob'), { dir }), (e: unknown) => {
    assert.ok(e instanceof DeployLockHeldError);
    assert.match(e.message, /held by alice@ci-7/);
    return true;
  });
  // bob's failed attempt left alice's lock exactly as it was.
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'details'), 'utf8')), alice);

  // Refused, with the holder's state as read then (its age may have ticked over a second since).
  const refused = await releaseLock(t, 'not-alices-token', { dir });
  const now = await lockStatus(t, { dir });
  const withoutAge = (s: unknown) => {
    const { ageSeconds: _a, description: _d, ...rest } = s as Record<string, unknown>;
    return rest;
  };
  assert.ok(!refused.released && refused.reason === 'held_by_other', JSON.stringify(refused));
  assert.deepEqual(withoutAge(refused.state), withoutAge(now));
  assert.deepEqual(await releaseLock(t, handle.token, { dir }), { released: true });
  assert.equal(existsSync(dir), false);
  await acquireLock(t, details('bob'), { dir });
});

test('of many runs racing for a free lock, exactly one wins', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'drover-lock-')), 'lock');
  const t = new LocalTransport('s1');
  const runs = Array.from({ length: 8 }, (_, i) => details(`run${i}`));
  const results = await Promise.allSettled(runs.map((d) => acquireLock(t, d, { dir })));
  const winners = results.filter((r) => r.status === 'fulfilled');
  assert.equal(winners.length, 1);
  assert.ok(
    results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof DeployLockHeldError),
  );
  const holder = JSON.parse(readFileSync(join(dir, 'details'), 'utf8')) as { token: string };
  assert.equal(winners[0]?.status === 'fulfilled' && winners[0].value.token, holder.token);
});
