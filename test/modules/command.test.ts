import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandFailedError, TaskFailedError } from '../../src/errors.js';
import { commandModule, type CommandArgs } from '../../src/modules/command.js';
import { WriteRefusedError } from '../../src/runner/step-executor.js';
import { secret } from '../../src/shell/secret.js';
import { moduleContext, perform, planOn } from './context.js';
import { factsAsked, planContext, shown } from './fixture.js';

const TOKEN = '6a1f0c2e-9b8d-4e7f-a6b5-c4d3e2f1a0b9';

describe('command module', () => {
  it('runs argv without a shell and registers rc, stdout, stderr', async () => {
    const ctx = moduleContext();
    ctx.transport.onExec('docker exec consul consul members', {
      stdout: 'Node  Address\ns1    10.213.0.11:8301\n',
    });
    const argv = ['docker', 'exec', 'consul', 'consul', 'members'];
    const change = await planOn(commandModule, { argv }, ctx);
    assert.equal(change.changed, true);
    assert.equal(change.summary, 'run docker exec consul consul members');
    assert.deepEqual(ctx.transport.calls, [], 'planning runs nothing');
    const { data } = await perform(commandModule, { argv }, ctx);
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
    const { data } = await perform(commandModule, { cmd: 'docker ps | grep -c consul' }, ctx);
    assert.equal(data['stdout'], '1');
  });

  it('fails on a non-zero exit with the redacted command and scrubbed output', async () => {
    const ctx = moduleContext({ vars: { acl_token: secret(TOKEN) } });
    ctx.transport.onExec(/consul acl/, { code: 1, stderr: `Failed to use token ${TOKEN}: ACL not found\n` });
    const args = { argv: ['consul', 'acl', 'token', 'read', '-id', secret(TOKEN)] };
    const change = await planOn(commandModule, args, ctx);
    assert.equal(change.summary, 'run consul acl token read -id <redacted>');
    await assert.rejects(perform(commandModule, args, ctx), (err: unknown) => {
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
    const { outcome, pendingWrite } = await perform(commandModule, { cmd: 'rm -rf /opt/consul/data' }, ctx);
    assert.equal(outcome.changed, true);
    assert.equal(pendingWrite, true);
    assert.match(outcome.summary, /not run in check mode/);
    assert.deepEqual(ctx.transport.calls, []);
  });

  it('read_only commands never count as a change and run in check mode too', async () => {
    const ctx = moduleContext({ check: true });
    ctx.transport.onExec('docker exec consul consul info', { stdout: 'raft:\n\tstate = Leader\n' });
    const { outcome, data, pendingWrite } = await perform(
      commandModule,
      { argv: ['docker', 'exec', 'consul', 'consul', 'info'], read_only: true },
      ctx,
    );
    assert.equal(outcome.changed, false);
    assert.equal(pendingWrite, false);
    assert.equal(data['rc'], 0);
  });

  it('skips when `creates` exists, and runs when it does not', async () => {
    const ctx = moduleContext();
    ctx.transport.onExec('test -e /opt/consul/.bootstrapped', { code: 0 });
    const skipped = await planOn(
      commandModule,
      { cmd: 'bootstrap-acl', creates: '/opt/consul/.bootstrapped' },
      ctx,
    );
    assert.equal(skipped.changed, false);
    assert.equal(skipped.summary, 'skipped, /opt/consul/.bootstrapped exists');
    assert.deepEqual(ctx.transport.commands, ['test -e /opt/consul/.bootstrapped']);

    const fresh = moduleContext();
    fresh.transport.onExec('test -e /opt/consul/.bootstrapped', { code: 1 });
    const run = await planOn(
      commandModule,
      { cmd: 'bootstrap-acl', creates: '/opt/consul/.bootstrapped' },
      fresh,
    );
    assert.equal(run.changed, true);
  });

  it('wants exactly one of argv and cmd', async () => {
    await assert.rejects(planOn(commandModule, {}, moduleContext()), TaskFailedError);
    await assert.rejects(planOn(commandModule, { argv: ['a'], cmd: 'b' }, moduleContext()), /exactly one of/);
    await assert.rejects(
      planOn(commandModule, { argv: ['a', 3 as unknown as string] }, moduleContext()),
      /list of strings/,
    );
  });
});

describe('command plan (facts in, steps out)', () => {
  const ctx = planContext();
  const wanted = (args: CommandArgs) => commandModule.desired!(args, ctx);

  it('asks whether `creates` exists, and nothing without it', async () => {
    assert.deepEqual(factsAsked(commandModule, await wanted({ cmd: 'x', creates: '/opt/done' })), {
      creates: { read: { effect: 'read', sends: 'test -e /opt/done' } },
    });
    assert.deepEqual(factsAsked(commandModule, await wanted({ cmd: 'x' })), { creates: undefined });
  });

  it('plans one write step, whose answer is registered redacted', async () => {
    const change = commandModule.plan(
      await wanted({ argv: ['consul', 'acl', '-id', secret(TOKEN)], timeout: 9 }),
      { creates: undefined },
      ctx,
    );
    assert.equal(change.summary, 'run consul acl -id <redacted>');
    assert.deepEqual(change.steps?.map(shown), [
      { effect: 'write', sends: 'consul acl -id <redacted>', timeoutSeconds: 9 },
    ]);
    const step = change.steps![0]!;
    assert.ok(step.kind === 'exec');
    assert.deepEqual(
      step.read({ code: 0, stdout: `id ${TOKEN}\n`, stderr: '' }, { host: 's1', secrets: () => [] }),
      {
        cmd: 'consul acl -id <redacted>',
        rc: 0,
        stdout: 'id <redacted>',
        stderr: '',
      },
    );
  });

  it('a read_only command plans a read step and no change; `creates` found plans nothing', async () => {
    const change = commandModule.plan(
      await wanted({ argv: ['consul', 'info'], read_only: true }),
      { creates: undefined },
      ctx,
    );
    assert.equal(change.changed, false);
    assert.deepEqual(change.steps?.map(shown), [{ effect: 'read', sends: 'consul info' }]);
    const done = commandModule.plan(
      await wanted({ cmd: 'x', creates: '/opt/done' }),
      { creates: { code: 0, stdout: '', stderr: '' } },
      ctx,
    );
    assert.deepEqual(done, {
      changed: false,
      summary: 'skipped, /opt/done exists',
      data: { cmd: 'sh -c x', skipped: true },
    });
  });

  it('in check mode the same step is planned, said not to run, and refused by the executor', async () => {
    const change = commandModule.plan(
      await wanted({ cmd: 'rm -rf /x' }),
      { creates: undefined },
      planContext({ check: true }),
    );
    assert.equal(change.summary, "would run sh -c 'rm -rf /x' (not run in check mode)");
    const host = moduleContext({ check: true });
    await assert.rejects(host.steps.run(change.steps![0]!), WriteRefusedError);
    assert.deepEqual(host.transport.calls, []);
  });
});
