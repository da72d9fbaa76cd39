import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskFailedError } from '../../src/errors.js';
import type { PathState } from '../../src/facts/file-state.js';
import { mkdirModule } from '../../src/modules/mkdir.js';
import { ensureDir, stat } from '../../src/remote/fs.js';
import { render, type Cmd } from '../../src/shell/cmd.js';
import { WriteRefusedError } from '../../src/runner/step-executor.js';
import { moduleContext, perform } from './context.js';
import { FakeFiles } from './fake-files.js';
import { factsAsked, planContext } from './fixture.js';

const PATH = '/opt/consul/data';

const args = { path: PATH, mode: '0750', owner: 'consul', group: 'consul' };

const shownCmd = (cmd: Cmd): string => render(cmd, { redact: true });

const absent: PathState = { exists: false };
const dir = (mode: string, owner: string, group = owner): PathState & { exists: true } => ({
  exists: true,
  type: 'directory',
  mode,
  uid: owner === 'root' ? '0' : '100',
  owner,
  gid: group === 'root' ? '0' : '100',
  group,
});

describe('mkdir plan (facts in, change out)', () => {
  it('asks stat in check mode and converges with one mkdir -p otherwise', () => {
    assert.deepEqual(factsAsked(mkdirModule, args), {
      dir: {
        read: { effect: 'read', sends: shownCmd(stat(PATH)) },
        write: { effect: 'write', sends: shownCmd(ensureDir(PATH, args)) },
      },
    });
    assert.match(shownCmd(ensureDir(PATH, args)), / sh \/opt\/consul\/data 750 consul consul$/);
  });

  it('a missing directory is created, with the same change in check mode and out of it', () => {
    for (const check of [false, true]) {
      const change = mkdirModule.plan(args, { dir: absent }, planContext({ check }));
      assert.deepEqual(change, {
        changed: true,
        summary: `create directory ${PATH} (mode 0750, owner consul, group consul)`,
        diff: [{ path: PATH, before: null, after: 'directory mode 0750, owner consul, group consul' }],
        data: { path: PATH, changed: true },
      });
    }
  });

  it('only what differs is fixed, and a matching directory is up to date', () => {
    const fix = mkdirModule.plan(args, { dir: dir('755', 'root') }, planContext());
    assert.equal(fix.summary, `fix mode 755 -> 0750, owner root -> consul, group root -> consul of ${PATH}`);
    assert.deepEqual(fix.diff, [
      {
        path: PATH,
        before: 'directory mode 755, owner root, group root',
        after: 'directory mode 0750, owner consul, group consul',
      },
    ]);
    assert.deepEqual(mkdirModule.plan(args, { dir: dir('750', 'consul') }, planContext()), {
      changed: false,
      summary: `directory ${PATH} is up to date`,
      data: { path: PATH },
    });
  });

  it('no diff is shown unless asked for', () => {
    assert.deepEqual(mkdirModule.plan(args, { dir: absent }, planContext({ diff: false })).diff, []);
  });

  it('a file in the way is an error', () => {
    const file: PathState = { ...dir('644', 'root'), type: 'regular file' };
    assert.throws(
      () => mkdirModule.plan(args, { dir: file }, planContext()),
      (err: unknown) =>
        err instanceof TaskFailedError &&
        err.message === `s1: ${PATH} exists but is a regular file, not a directory`,
    );
  });
});

function host(check = false, ownership: Partial<typeof args> = args) {
  const ctx = moduleContext({ check });
  const { path: _path, ...attrs } = ownership;
  const files = new FakeFiles(ctx.transport).serveDir(PATH, attrs);
  return { ctx, files };
}

describe('mkdir on a host', () => {
  it('creates a missing directory in one command, then reports no change', async () => {
    const { ctx, files } = host();
    const { outcome } = await perform(mkdirModule, args, ctx);
    assert.equal(outcome.changed, true);
    assert.equal(outcome.summary, `create directory ${PATH} (mode 0750, owner consul, group consul)`);
    assert.equal(ctx.transport.calls.length, 1);
    assert.match(ctx.transport.commands[0]!, /mkdir -p/);
    assert.deepEqual(files.dirs.get(PATH), { mode: '750', owner: 'consul', group: 'consul' });
    const again = await perform(mkdirModule, args, ctx);
    assert.equal(again.outcome.changed, false);
    assert.equal(ctx.transport.calls.length, 2);
  });

  it('fixes only what differs on an existing directory', async () => {
    const { ctx, files } = host();
    files.dirs.set(PATH, { mode: '755', owner: 'root', group: 'root' });
    const { outcome } = await perform(mkdirModule, args, ctx);
    assert.equal(
      outcome.summary,
      `fix mode 755 -> 0750, owner root -> consul, group root -> consul of ${PATH}`,
    );
    assert.deepEqual(files.dirs.get(PATH), { mode: '750', owner: 'consul', group: 'consul' });
    assert.equal((await perform(mkdirModule, args, ctx)).outcome.changed, false);
  });

  it('accepts a directory whose owner matches by number', async () => {
    const { ctx, files } = host(false, { mode: '750', owner: '100' });
    files.dirs.set(PATH, { mode: '750', owner: '100', group: '100' });
    const { outcome } = await perform(mkdirModule, { path: PATH, mode: '750', owner: '100' }, ctx);
    assert.equal(outcome.changed, false);
  });

  it('is satisfied by any existing directory when no attributes are asked', async () => {
    const { ctx, files } = host(false, {});
    files.dirs.set(PATH, { mode: '700', owner: 'root', group: 'root' });
    assert.equal((await perform(mkdirModule, { path: PATH }, ctx)).outcome.changed, false);
    assert.deepEqual(files.dirs.get(PATH), { mode: '700', owner: 'root', group: 'root' });
  });

  it('check mode only reads, and leaves the change pending', async () => {
    const { ctx, files } = host(true);
    const { outcome, pendingWrite } = await perform(mkdirModule, args, ctx);
    assert.equal(outcome.changed, true);
    assert.equal(pendingWrite, true);
    assert.equal(ctx.transport.calls.length, 1);
    assert.match(ctx.transport.commands[0]!, /^sh -c .*stat -c/s);
    assert.doesNotMatch(ctx.transport.commands[0]!, /mkdir/);
    assert.equal(files.dirs.has(PATH), false);
  });

  it('the converging write cannot run in check mode: the executor refuses it', async () => {
    const { ctx, files } = host(true);
    const request = mkdirModule.facts(args, planContext()).dir;
    assert.ok(typeof request === 'object' && request.kind === 'converging');
    await assert.rejects(ctx.steps.run(request.write), WriteRefusedError);
    assert.deepEqual(ctx.transport.calls, []);
    assert.equal(files.dirs.has(PATH), false);
  });

  it('refuses when a file is in the way', async () => {
    const { ctx, files } = host();
    files.files.set(PATH, { content: '', mode: '644', owner: 'root', group: 'root' });
    await assert.rejects(perform(mkdirModule, args, ctx), (err: unknown) => {
      assert.ok(err instanceof TaskFailedError);
      assert.equal(err.message, `s1: ${PATH} exists but is a regular file, not a directory`);
      return true;
    });
    assert.equal(files.files.get(PATH)?.content, '', 'the file is left as it was');
  });
});
