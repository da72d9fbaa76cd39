import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CommandFailedError } from '../../src/errors.js';
import { dockerImageModule } from '../../src/modules/docker-image.js';
import { moduleContext } from './context.js';

const IMAGE = 'hashicorp/consul:1.19.2';
const inspect = readFileSync(new URL('../facts/fixtures/image-inspect.json', import.meta.url), 'utf8');
const ID = 'sha256:5e2f8b1a0c9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';
const missing = { code: 1, stdout: '[]', stderr: `Error response from daemon: No such image: ${IMAGE}` };

function host(present: boolean, pullOk = true) {
  const ctx = moduleContext();
  const state = { present };
  ctx.transport.onExec(`docker image inspect ${IMAGE}`, () =>
    state.present ? { stdout: inspect } : missing,
  );
  ctx.transport.onExec(`docker pull ${IMAGE}`, () => {
    if (!pullOk)
      return {
        code: 1,
        stderr: 'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: i/o timeout',
      };
    state.present = true;
    return {
      stdout: `1.19.2: Pulling from hashicorp/consul\nStatus: Downloaded newer image for ${IMAGE}\n`,
      stderr: 'progress...',
    };
  });
  return ctx;
}

describe('docker_image module', () => {
  it('does nothing when the image is present', async () => {
    const ctx = host(true);
    const change = await dockerImageModule.plan({ name: IMAGE }, ctx);
    assert.equal(change.changed, false);
    assert.deepEqual(change.data, { image: IMAGE, id: ID });
    assert.deepEqual(ctx.transport.commands, [`docker image inspect ${IMAGE}`]);
  });

  it('pulls a missing image (stderr progress is not a failure), then is idempotent', async () => {
    const ctx = host(false);
    const change = await dockerImageModule.plan({ name: IMAGE }, ctx);
    assert.equal(change.changed, true);
    assert.equal(change.summary, `pull ${IMAGE}`);
    const data = await change.apply!();
    assert.deepEqual(data, { image: IMAGE, pulled: true, id: ID });
    assert.deepEqual(ctx.transport.commands, [
      `docker image inspect ${IMAGE}`,
      `docker pull ${IMAGE}`,
      `docker image inspect ${IMAGE}`,
    ]);
    assert.equal((await dockerImageModule.plan({ name: IMAGE }, ctx)).changed, false);
  });

  it('force_pull pulls a present image and says whether it changed', async () => {
    const ctx = host(true);
    const change = await dockerImageModule.plan({ name: IMAGE, force_pull: true }, ctx);
    assert.equal(change.changed, true);
    assert.equal(change.summary, `pull ${IMAGE} (force_pull)`);
    assert.deepEqual(await change.apply!(), { image: IMAGE, pulled: true, id: ID, updated: false });
  });

  it('check mode does not pull', async () => {
    const ctx = host(false);
    const change = await dockerImageModule.plan({ name: IMAGE }, { ...ctx, check: true });
    assert.equal(change.changed, true);
    assert.deepEqual(ctx.transport.commands, [`docker image inspect ${IMAGE}`]);
  });

  it("a failed pull fails the task with docker's message", async () => {
    const ctx = host(false, false);
    const change = await dockerImageModule.plan({ name: IMAGE }, ctx);
    await assert.rejects(change.apply!(), (err: unknown) => {
      assert.ok(err instanceof CommandFailedError);
      assert.match(err.message, /docker pull hashicorp\/consul:1\.19\.2.*\n.*i\/o timeout/s);
      return true;
    });
  });
});
