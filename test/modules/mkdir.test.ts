import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskFailedError } from '../../src/errors.js';
import { mkdirModule } from '../../src/modules/mkdir.js';
import { moduleContext } from './context.js';
import { FakeFiles } from './fake-files.js';

const PATH = '/opt/consul/data';

const args = { path: PATH, mode: '0750', owner: 'consul', group: 'consul' };

function host(check = false, ownership: Partial<typeof args> = args) {
  const ctx = moduleContext({ check });
  const { path: _path, ...attrs } = ownership;
  const files = new FakeFiles(ctx.transport).serveDir(PATH, attrs);
  return { ctx, files };
}

describe('mkdir module', () => {
  it('creates a missing directory in one command, then reports no change', async () => {
    const { ctx, files } = host();
    const change = await mkdirModule.plan(args, ctx);
    assert.equal(change.changed, true);
    assert.equal(change.summary, `create directory ${PATH} (mode 0750, owner consul, group consul)`);
    assert.deepEqual(change.diff, [
      { path: PATH, before: null, after: 'directory mode 0750, owner consul, group consul' },
    ]);
    assert.equal(change.apply, undefined, 'made while planning');
    assert.equal(ctx.transport.calls.length, 1);
    assert.match(ctx.transport.commands[0]!, /mkdir -p/);
    assert.deepEqual(files.dirs.get(PATH), { mode: '750', owner: 'consul', group: 'consul' });
    const again = await mkdirModule.plan(args, ctx);
    assert.equal(again.changed, false);
    assert.equal(ctx.transport.calls.length, 2);
  });

  it('fixes only what differs on an existing directory', async () => {
    const { ctx, files } = host();
    files.dirs.set(PATH, { mode: '755', owner: 'root', group: 'root' });
    const change = await mkdirModule.plan(args, ctx);
    assert.equal(
      change.summary,
      `fix mode 755 -> 0750, owner root -> consul, group root -> consul of ${PATH}`,
    );
    assert.deepEqual(files.dirs.get(PATH), { mode: '750', owner: 'consul', group: 'consul' });
    assert.equal((await mkdirModule.plan(args, ctx)).changed, false);
  });

  it('accepts a directory whose owner matches by number', async () => {
    const { ctx, files } = host(false, { mode: '750', owner: '100' });
    files.dirs.set(PATH, { mode: '750', owner: '100', group: '100' });
    const change = await mkdirModule.plan({ path: PATH, mode: '750', owner: '100' }, ctx);
    assert.equal(change.changed, false);
  });

  it('is satisfied by any existing directory when no attributes are asked', async () => {
    const { ctx, files } = host(false, {});
    files.dirs.set(PATH, { mode: '700', owner: 'root', group: 'root' });
    assert.equal((await mkdirModule.plan({ path: PATH }, ctx)).changed, false);
    assert.deepEqual(files.dirs.get(PATH), { mode: '700', owner: 'root', group: 'root' });
  });

  it('check mode only reads', async () => {
    const { ctx, files } = host(true);
    const change = await mkdirModule.plan(args, ctx);
    assert.equal(change.changed, true);
    assert.equal(ctx.transport.calls.length, 1);
    assert.match(ctx.transport.commands[0]!, /^sh -c .*stat -c/s);
    assert.doesNotMatch(ctx.transport.commands[0]!, /mkdir/);
    assert.equal(files.dirs.has(PATH), false);
  });

  it('refuses when a file is in the way', async () => {
    const { ctx, files } = host();
    files.files.set(PATH, { content: '', mode: '644', owner: 'root', group: 'root' });
    await assert.rejects(mkdirModule.plan(args, ctx), (err: unknown) => {
      assert.ok(err instanceof TaskFailedError);
      assert.equal(err.message, `s1: ${PATH} exists but is a regular file, not a directory`);
      return true;
    });
    assert.equal(files.files.get(PATH)?.content, '', 'the file is left as it was');
  });
});
