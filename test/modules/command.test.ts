import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandFailedError, TaskFailedError } from '../../src/errors.js';
import { commandModule } from '../../src/modules/command.js';
import { secret } from '../../src/shell/secret.js';
import { moduleContext } from './context.js';

const TOKEN = '6a1f0c2e-9b8d-4e7f-a6b5-c4d3e2f1a0b9';

describe('command module', () => {
  it('runs argv without a shell and registers rc, stdout, stderr', async () => {
    const ctx = moduleContext();
    ctx.transport.onExec('docker exec consul consul members', {
      stdout: 'Node  Address\ns1    10.213.0.11:8301\n',
    });
    const change = await commandModule.plan({ argv: ['docker', 'exec', 'consul', 'consul', 'members'] }, ctx);
    assert.equal(change.changed, true);
    assert.equal(change.summary, 'run docker exec consul consul members');
    assert.deepEqual(ctx.transport.calls, [], 'planning runs nothing');
    const data = await change.apply!();
    assert.deepEqual(data, {
      cmd: 'docker exec consul consul members',
      rc: 0,
      stdout: 'Node  Address\ns1    10.213.0.11:8301',
      stderr: '',
    });
  });

  it('runs cmd through sh -c, quoted as one word', async () => {
    const ctx = moduleContext();
    ctx.transport.onExec(`sh -c 'docker ps | grep -c consul'`, { stdout: '1\n' });
    const data = await (await commandModule.plan({ cmd: 'docker ps | grep -c consul' }, ctx)).apply!();
    assert.equal(data['stdout'], '1');
  });

  it('fails on a non-zero exit with the redacted command and scrubbed output', async () => {
    const ctx = moduleContext({ vars: { acl_token: secret(TOKEN) } });
    ctx.transport.onExec(/consul acl/, { code: 1, stderr: `Failed to use token ${TOKEN}: ACL not found\n` });
    const change = await commandModule.plan(
      { argv: ['consul', 'acl', 'token', 'read', '-id', secret(TOKEN)] },
      ctx,
    );
    assert.equal(change.summary, 'run consul acl token read -id <redacted>');
    await assert.rejects(change.apply!(), (err: unknown) => {
      assert.ok(err instanceof CommandFailedError);
      assert.equal(err.code, 1);
      assert.equal(err.command, 'consul acl token read -id <redacted>');
      assert.ok(!err.message.includes(TOKEN) && !err.stderr.includes(TOKEN), err.message);
      assert.match(err.message, /ACL not found/);
      return true;
    });
  });

  it('is not run in check mode unless read_only', async () => {
    const ctx = moduleContext({ check: true });
    const change = await commandModule.plan({ cmd: 'rm -rf /opt/consul/data' }, ctx);
    assert.equal(change.changed, true);
    assert.equal(change.readOnly, undefined);
    assert.match(change.summary, /not run in check mode/);
    assert.deepEqual(ctx.transport.calls, []);
  });

  it('read_only commands never count as a change and run in check mode too', async () => {
    const ctx = moduleContext({ check: true });
    ctx.transport.onExec('docker exec consul consul info', { stdout: 'raft:\n\tstate = Leader\n' });
    const change = await commandModule.plan(
      { argv: ['docker', 'exec', 'consul', 'consul', 'info'], read_only: true },
      ctx,
    );
    assert.equal(change.changed, false);
    assert.equal(change.readOnly, true);
    const data = await change.apply!();
    assert.equal(data['rc'], 0);
  });

  it('skips when `creates` exists, and runs when it does not', async () => {
    const ctx = moduleContext();
    ctx.transport.onExec('test -e /opt/consul/.bootstrapped', { code: 0 });
    const skipped = await commandModule.plan(
      { cmd: 'bootstrap-acl', creates: '/opt/consul/.bootstrapped' },
      ctx,
    );
    assert.equal(skipped.changed, false);
    assert.equal(skipped.summary, 'skipped, /opt/consul/.bootstrapped exists');
    assert.deepEqual(ctx.transport.commands, ['test -e /opt/consul/.bootstrapped']);

    const fresh = moduleContext();
    fresh.transport.onExec('test -e /opt/consul/.bootstrapped', { code: 1 });
    const run = await commandModule.plan(
      { cmd: 'bootstrap-acl', creates: '/opt/consul/.bootstrapped' },
      fresh,
    );
    assert.equal(run.changed, true);
  });

  it('wants exactly one of argv and cmd', async () => {
    await assert.rejects(commandModule.plan({}, moduleContext()), TaskFailedError);
    await assert.rejects(commandModule.plan({ argv: ['a'], cmd: 'b' }, moduleContext()), /exactly one of/);
    await assert.rejects(
      commandModule.plan({ argv: ['a', 3 as unknown as string] }, moduleContext()),
      /list of strings/,
    );
  });
});
