import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureDir } from '../../src/remote/fs.js';
import { checkedStep, effectOnly, execStep, httpStep } from '../../src/remote/step.js';
import { StepExecutor, WriteRefusedError } from '../../src/runner/step-executor.js';
import { exec } from '../../src/shell/cmd.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';

const noSecrets = () => [];

test('in check mode the executor runs read steps and refuses write steps before sending anything', async () => {
  const t = new RecordingTransport('s1').onExec(/.*/, { stdout: 'absent\n' });
  const steps = new StepExecutor(t, true, noSecrets);
  assert.equal((await steps.run(execStep('read', exec('stat', '/x')))).stdout, 'absent\n');
  await assert.rejects(steps.run(checkedStep('write', ensureDir('/x', {}))), WriteRefusedError);
  await assert.rejects(
    steps.channel.http({ method: 'PUT', host: '127.0.0.1', port: 8500, path: '/v1/x' }),
    WriteRefusedError,
  );
  assert.deepEqual(t.commands, ['stat /x']);
  assert.deepEqual(t.httpCalls, []);
});

test('outside check mode write steps run, and an HTTP GET is a read', async () => {
  const t = new RecordingTransport('s1').onExec(/.*/, {}).onHttp(/.*/, { status: 200 });
  const steps = new StepExecutor(t, false, noSecrets);
  await steps.run(checkedStep('write', exec('touch', '/x')));
  assert.equal(httpStep({ host: '127.0.0.1', port: 8500, path: '/v1/status/leader' }).effect, 'read');
  assert.equal(
    (await steps.channel.http({ method: 'PUT', host: '127.0.0.1', port: 8500, path: '/v1/x' })).status,
    200,
  );
  assert.deepEqual(t.commands, ['touch /x']);
});

test('a step run for its effect still judges the answer, then drops it', async () => {
  const t = new RecordingTransport('s1').onExec('touch /x', { stdout: 'noise' }).onExec('false', { code: 1 });
  const steps = new StepExecutor(t, false, noSecrets);
  assert.equal(await steps.run(effectOnly(checkedStep('write', exec('touch', '/x')))), undefined);
  await assert.rejects(steps.run(effectOnly(checkedStep('write', exec('false')))), /false/);
  const refusing = new StepExecutor(t, true, noSecrets);
  await assert.rejects(
    refusing.run(effectOnly(checkedStep('write', exec('touch', '/x')))),
    WriteRefusedError,
  );
  assert.deepEqual(t.commands, ['touch /x', 'false']);
});
