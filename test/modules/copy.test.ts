import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, TaskFailedError } from '../../src/errors.js';
import { copyModule } from '../../src/modules/copy.js';
import { secret } from '../../src/shell/secret.js';
import { changeOn, moduleContext } from './context.js';
import { FakeFiles } from './fake-files.js';

let baseDir: string;
before(async () => {
  baseDir = await mkdtemp(join(tmpdir(), 'drover-copy-'));
  await writeFile(join(baseDir, 'motd'), 'managed by drover {{not a template}}\n');
});
after(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

describe('copy module', () => {
  it('copies a local file byte for byte, without templating', async () => {
    const ctx = moduleContext({ baseDir });
    const files = new FakeFiles(ctx.transport).serve('/etc/motd', { mode: '0644' });
    const change = await changeOn(copyModule, { src: 'motd', dest: '/etc/motd', mode: '0644' }, ctx);
    assert.equal(change.summary, 'create /etc/motd (mode 0644)');
    assert.equal(ctx.transport.calls.length, 1, 'compared and written by one command');
    assert.equal(files.files.get('/etc/motd')?.content, 'managed by drover {{not a template}}\n');
    assert.equal(
      (await changeOn(copyModule, { src: 'motd', dest: '/etc/motd', mode: '0644' }, ctx)).changed,
      false,
    );
  });

  it('writes secret content but shows only <redacted>, before and after', async () => {
    const token = 'e95b599e-166e-7d80-08ad-aee76e7ddf19';
    const ctx = moduleContext({ baseDir });
    const files = new FakeFiles(ctx.transport).serve('/opt/consul/token', { mode: '0600' });
    files.files.set('/opt/consul/token', {
      content: 'old-token-value-123\n',
      mode: '600',
      owner: 'root',
      group: 'root',
    });
    const change = await changeOn(
      copyModule,
      { content: secret(`${token}\n`), dest: '/opt/consul/token', mode: '0600' },
      ctx,
    );
    assert.deepEqual(change.diff, [
      { path: '/opt/consul/token', before: '<redacted>\n', after: '<redacted>' },
    ]);
    const shown = JSON.stringify(change);
    assert.ok(!shown.includes(token) && !shown.includes('old-token'), shown);
    assert.equal(files.files.get('/opt/consul/token')?.content, `${token}\n`);
    assert.ok(!ctx.transport.commands.join('\n').includes(token));
  });

  it('wants exactly one of content and src', async () => {
    const ctx = moduleContext({ baseDir });
    await assert.rejects(changeOn(copyModule, { dest: '/x' }, ctx), TaskFailedError);
    await assert.rejects(
      changeOn(copyModule, { dest: '/x', content: 'a', src: 'motd' }, ctx),
      /exactly one of/,
    );
    await assert.rejects(changeOn(copyModule, { dest: '/x', src: 'missing.txt' }, ctx), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^missing\.txt: file not found/);
      return true;
    });
  });
});
