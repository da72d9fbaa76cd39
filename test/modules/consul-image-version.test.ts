/** consul_image_version with a recording transport: what it reads, what it refuses, what it lets through. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moduleContext } from './context.js';
import { consulImageVersionModule, DowngradeRefusedError } from '../../src/modules/consul-image-version.js';
import { ExitCode } from '../../src/errors.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';

/** A host whose probe prints these lines. */
function host(stdout: string) {
  const t = new RecordingTransport('s1');
  t.onExec(/docker/, { stdout });
  return moduleContext({ transport: t, check: true });
}

const run = (stdout: string, image: string, allow = false) =>
  consulImageVersionModule.run({ image, ...(allow && { allow_downgrade: true }) }, host(stdout));

test('an image older than the running agent is refused (exit 5), in check mode too, naming both versions', async () => {
  await assert.rejects(run('running:Consul v1.20.2\nlabel:1.20.1\n', 'reg/consul:1.20.1'), (err: unknown) => {
    assert.ok(err instanceof DowngradeRefusedError);
    assert.equal(err.exitCode, ExitCode.gateAborted);
    assert.match(
      err.message,
      /^s1: reg\/consul:1\.20\.1 is Consul 1\.20\.1, older than the 1\.20\.2 this agent runs/,
    );
    assert.match(err.message, /Nothing was touched; --force goes back in place anyway$/);
    return true;
  });
});

test('the label decides over the tag: a retagged image is judged by what it holds', async () => {
  await assert.rejects(
    run('running:Consul v1.20.2\nlabel:1.20.1\n', 'reg/consul:1.20.9'),
    DowngradeRefusedError,
  );
  const out = await run('running:Consul v1.20.1\nlabel:1.20.2\n', 'reg/consul:stable');
  assert.deepEqual([out.changed, out.summary], [false, 'Consul 1.20.1 -> 1.20.2']);
});

test('lets through the same or a newer release, a forced downgrade, and says what it could not compare', async () => {
  assert.equal(
    (await run('running:Consul v1.20.1\nlabel:\n', 'reg/consul:1.20.1')).summary,
    'Consul 1.20.1, as running',
  );
  assert.match(
    (await run('running:Consul v1.20.2\nlabel:1.20.1\n', 'reg/consul:1.20.1', true)).summary,
    /^forced: s1: reg\/consul:1\.20\.1 is Consul 1\.20\.1, older than the 1\.20\.2/,
  );
  assert.equal((await run('label:1.20.1\n', 'reg/consul:1.20.1')).summary, 'no running agent');
  assert.equal(
    (await run('running:Consul v1.20.2\nlabel:\n', 'hashicorp/consul:latest')).summary,
    'cannot compare versions: hashicorp/consul:latest names no version',
  );
  assert.equal(
    (await run('running:\nlabel:1.20.1\n', 'reg/consul:1.20.1')).summary,
    'cannot compare versions: the running agent did not say its version',
  );
});

test('reads with one command whose image and container are arguments, never spliced into the script', async () => {
  const ctx = host('running:Consul v1.20.1\nlabel:1.20.1\n');
  await consulImageVersionModule.run({ image: 'reg/consul:1.20.1', container: 'my-consul' }, ctx);
  assert.equal(ctx.transport.calls.length, 1);
  assert.match(ctx.transport.commands[0] ?? '', /' sh my-consul reg\/consul:1\.20\.1$/);
});
