/**
 * The deploy lock with several datacenters in one inventory: one lock per datacenter on its
 * first server, taken in the datacenters' inventory order (so two runs cannot deadlock), all
 * before anything changes, all released at the end; one datacenter keeps its single lock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostConnections } from '../../src/app/connection-pool.js';
import { DeployLock } from '../../src/app/deploy-lock.js';
import { ExitCode, LockHeldError } from '../../src/errors.js';
import { releaseOurLock, takeLock } from '../../src/lock/commands.js';
import { lockHostName, lockSites } from '../../src/lock/lock.js';
import { render } from '../../src/shell/cmd.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { makeInventory } from '../runner/helpers.js';

const DIR = '/var/lib/drover/lock';
const TAKE = render(takeLock(DIR), { redact: true });
/** The release names the run's random token last; answered when it is the token taken with. */
const RELEASE = new RegExp(
  `^${render(releaseOurLock(DIR, 'TOKEN'), { redact: true })
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/TOKEN$/, '[0-9a-f]{32}')}$`,
);

const twoDcs = (servers: string[]) =>
  makeInventory({
    groups: {
      servers,
      clients: ['ec1', 'wc1'],
      dc_east: ['e1', 'e2', 'e3', 'ec1'],
      dc_west: ['w1', 'w2', 'w3', 'wc1'],
    },
    groupVars: { dc_east: { consul_datacenter: 'east' }, dc_west: { consul_datacenter: 'west' } },
  });

test('one lock per datacenter, on its first server, in the order the datacenters first appear', () => {
  assert.deepEqual(lockSites(twoDcs(['e1', 'e2', 'e3', 'w1', 'w2', 'w3'])), [
    { host: 'e1', datacenter: 'east' },
    { host: 'w1', datacenter: 'west' },
  ]);
  assert.deepEqual(lockSites(twoDcs(['w2', 'e3', 'w1', 'e1', 'e2', 'w3'])), [
    { host: 'w2', datacenter: 'west' },
    { host: 'e3', datacenter: 'east' },
  ]);
  // One datacenter, named or not: one lock on the first server, as before.
  const one = makeInventory({
    groups: { clients: ['c1'], servers: ['s1', 's2', 's3'] },
    groupVars: { servers: { consul_datacenter: 'dc1' } },
  });
  assert.deepEqual(lockSites(one), [{ host: 's1' }]);
  assert.deepEqual(lockSites(makeInventory({ groups: { servers: ['s1', 's2'] } })), [{ host: 's1' }]);
  assert.deepEqual(lockSites(makeInventory({ groups: { web: ['a', 'b'] } })), [{ host: 'a' }]);
  assert.equal(lockHostName(twoDcs(['w1', 'e1'])), 'w1');
});

/** A HostConnections stand-in that hands out one RecordingTransport per host and records the order. */
function connections(script: (t: RecordingTransport) => void) {
  const ts = new Map<string, RecordingTransport>();
  const order: string[] = [];
  const pool = {
    async get(host: string) {
      order.push(host);
      let t = ts.get(host);
      if (!t) {
        t = new RecordingTransport(host);
        script(t);
        ts.set(host, t);
      }
      return t;
    },
  } as unknown as HostConnections;
  return { pool, ts, order };
}

const acquireOptions = (onWait: (m: string) => void = () => undefined) => ({
  command: 'drover restart -i two-dcs.yaml',
  waitSeconds: 0,
  secrets: [],
  signal: new AbortController().signal,
  onWait,
});

/** A lock host whose lock is free, then ours: the release finds our token in the details. */
function freeLockHost(t: RecordingTransport): void {
  let details = '';
  t.onExec(TAKE, (_cmd, stdin) => {
    details = stdin ?? '';
    return { code: 0 };
  });
  t.onExec(RELEASE, (command) => {
    const token = command.split(' ').pop() ?? '';
    if (!details.includes(token)) return { stdout: `held\n1700000010\n1700000000\n${details}` };
    details = '';
    return { stdout: 'released\n' };
  });
}

test('a run takes every datacenter lock in order before anything changes, and releases them all', async () => {
  const { pool, ts } = connections(freeLockHost);
  const lock = new DeployLock(twoDcs(['e1', 'e2', 'e3', 'w1', 'w2', 'w3']), pool);
  await lock.acquire(acquireOptions());
  assert.deepEqual([...ts.keys()], ['e1', 'w1']);
  for (const t of ts.values()) assert.deepEqual(t.commands, [TAKE]);
  // The same details (one token) in both: one run holds both.
  const tokens = [...ts.values()].map(
    (t) => (JSON.parse(t.calls[0]?.stdin ?? '{}') as { token: string }).token,
  );
  assert.equal(tokens[0], tokens[1]);
  await lock.release();
  for (const t of ts.values()) {
    assert.equal(t.commands.length, 2);
    assert.match(t.commands[1]!, RELEASE);
  }
  // Released already: a second release does nothing.
  await lock.release();
  for (const t of ts.values()) assert.equal(t.commands.length, 2);
});

test("west's lock held by another run: east's lock is given back and the run stops with exit 6", async () => {
  const alice = { token: 'a'.repeat(32), user: 'alice', host: 'ci-7', command: 'drover deploy', pid: 1 };
  const { pool, ts } = connections((t) => {
    if (t.host === 'w1')
      t.onExec(TAKE, { code: 1, stdout: `held\n1700000192\n1700000000\n${JSON.stringify(alice)}\n` });
    else freeLockHost(t);
  });
  const lock = new DeployLock(twoDcs(['e1', 'e2', 'e3', 'w1', 'w2', 'w3']), pool);
  let caught: unknown;
  await lock.acquire(acquireOptions()).catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof LockHeldError);
  assert.equal(caught.exitCode, ExitCode.lockHeld);
  assert.match(
    caught.message,
    /^deploy lock on w1 \(\/var\/lib\/drover\/lock\) is held by alice@ci-7 for 3m12s: drover deploy/,
  );
  // East's lock was taken and given back; west's was never touched beyond the attempt.
  assert.equal(ts.get('e1')?.commands[0], TAKE);
  assert.match(ts.get('e1')?.commands[1] ?? '', RELEASE);
  assert.equal(ts.get('e1')?.commands.length, 2);
  assert.deepEqual(ts.get('w1')?.commands, [TAKE]);
  await lock.release();
  assert.equal(ts.get('e1')?.commands.length, 2, 'given back already: nothing more to release');
});

test('one datacenter: one lock on the first server, exactly as before', async () => {
  const { pool, ts } = connections(freeLockHost);
  const lock = new DeployLock(
    makeInventory({ groups: { servers: ['s1', 's2', 's3'], clients: ['c1'] } }),
    pool,
  );
  await lock.acquire(acquireOptions());
  assert.deepEqual([...ts.keys()], ['s1']);
  await lock.release();
  assert.equal(ts.get('s1')?.commands[0], TAKE);
  assert.match(ts.get('s1')?.commands[1] ?? '', RELEASE);
  assert.equal(ts.get('s1')?.commands.length, 2);
});
