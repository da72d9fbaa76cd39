/**
 * The session's guarantees, without the CLI: a change is locked and audited by construction,
 * also when it fails; the connections are one per host and closed at the end.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { Output } from '../../src/app/output.js';
import { Session, type SessionOptions } from '../../src/app/session.js';
import { TaskFailedError } from '../../src/errors.js';
import { checkedStep } from '../../src/remote/step.js';
import { WriteRefusedError } from '../../src/runner/step-executor.js';
import { exec } from '../../src/shell/cmd.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { CLUSTER, scratch } from '../cli/argv/harness.js';
import { auditLines, freeLock, RELEASE, TAKE } from '../cli/argv/lock-host.js';

const files = scratch({ 'cluster.yaml': CLUSTER });
after(files.remove);

function options(transports: Map<string, RecordingTransport>, warnings: string[] = []): SessionOptions {
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const output: Output = {
    progress: sink,
    progressIsTty: false,
    ci: true,
    result: sink,
    warn: (l) => warnings.push(l),
  };
  return {
    inventoryFile: files.path('cluster.yaml'),
    output,
    command: 'drover members --prune (test)',
    open: async (host) => {
      const t = new RecordingTransport(host.name);
      freeLock(t);
      t.onExec(/audit\.log$/, { code: 0 });
      transports.set(host.name, t);
      return t;
    },
  };
}

describe('Session.mutate', () => {
  it('takes the lock first, releases it after, and audits what changed', async () => {
    const ts = new Map<string, RecordingTransport>();
    await Session.with(options(ts), async (s) => {
      await s.load({ consul: true });
      await s.mutate(async (m) => m.changed('s2', 'force-leave -prune ghost'));
    });
    assert.equal(ts.get('s1')?.commands[0], TAKE);
    assert.match(ts.get('s1')?.commands.at(-1) ?? '', RELEASE);
    const [entry] = auditLines(ts.get('s2'));
    assert.deepEqual(entry?.['changed'], ['force-leave -prune ghost']);
    assert.equal(entry?.['result'], 'ok');
    assert.deepEqual(auditLines(ts.get('s1')), [], 'the lock host changed nothing');
    for (const t of ts.values()) assert.ok(t.closed, `${t.host} closed`);
  });

  it('a change that fails halfway is still audited, as failed, and the lock given back', async () => {
    const ts = new Map<string, RecordingTransport>();
    await assert.rejects(
      Session.with(options(ts), async (s) => {
        await s.load({ consul: true });
        await s.mutate(async (m) => {
          m.changed('s1', 'first half');
          throw new TaskFailedError('second half failed');
        });
      }),
      /second half failed/,
    );
    const [entry] = auditLines(ts.get('s1'));
    assert.deepEqual(entry?.['changed'], ['first half']);
    assert.equal(entry?.['run'], 'failed');
    assert.match(ts.get('s1')?.commands.at(-1) ?? '', RELEASE);
  });

  it('nothing is audited or locked before the inventory is loaded', async () => {
    const ts = new Map<string, RecordingTransport>();
    await assert.rejects(
      Session.with(options(ts), (s) => s.mutate(async () => undefined)),
      /load\(\) it first/,
    );
    assert.equal(ts.size, 0);
  });
});

describe("Session.reader and a mutation's steps", () => {
  it("drover's own reads (verify, members) cannot change a host; a mutation's steps can", async () => {
    const ts = new Map<string, RecordingTransport>();
    await Session.with(options(ts), async (s) => {
      await s.load({ consul: true });
      const reader = await s.reader('s2');
      ts.get('s2')?.onExec('touch /tmp/x', {});
      await assert.rejects(reader.run(checkedStep('write', exec('touch', '/tmp/x'))), WriteRefusedError);
      assert.ok(!ts.get('s2')?.commands.includes('touch /tmp/x'), 'refused before anything was sent');
      await s.mutate(async (m) => {
        await (await m.steps('s2')).run(checkedStep('write', exec('touch', '/tmp/x')));
        m.changed('s2', 'touched');
      });
      assert.ok(ts.get('s2')?.commands.includes('touch /tmp/x'));
    });
  });
});
