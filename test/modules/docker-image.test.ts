import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CommandFailedError } from '../../src/errors.js';
import type { ImageState } from '../../src/facts/image-present.js';
import { dockerImageModule } from '../../src/modules/docker-image.js';
import { WriteRefusedError } from '../../src/runner/step-executor.js';
import { moduleContext, perform, planOn } from './context.js';
import { factsAsked, planContext, shown } from './fixture.js';

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
    const { outcome, data } = await perform(dockerImageModule, { name: IMAGE }, ctx);
    assert.equal(outcome.changed, false);
    assert.deepEqual(data, { image: IMAGE, id: ID });
    assert.deepEqual(ctx.transport.commands, [`docker image inspect ${IMAGE}`]);
  });

  it('pulls a missing image (stderr progress is not a failure), then is idempotent', async () => {
    const ctx = host(false);
    const { outcome, data } = await perform(dockerImageModule, { name: IMAGE }, ctx);
    assert.equal(outcome.changed, true);
    assert.equal(outcome.summary, `pull ${IMAGE}`);
    assert.deepEqual(data, { image: IMAGE, pulled: true, id: ID });
    assert.deepEqual(ctx.transport.commands, [
      `docker image inspect ${IMAGE}`,
      `docker pull ${IMAGE}`,
      `docker image inspect ${IMAGE}`,
    ]);
    assert.equal((await planOn(dockerImageModule, { name: IMAGE }, ctx)).changed, false);
  });

  it('force_pull pulls a present image and says whether it changed', async () => {
    const ctx = host(true);
    const { outcome, data } = await perform(dockerImageModule, { name: IMAGE, force_pull: true }, ctx);
    assert.equal(outcome.changed, true);
    assert.equal(outcome.summary, `pull ${IMAGE} (force_pull)`);
    assert.deepEqual(data, { image: IMAGE, pulled: true, id: ID, updated: false });
  });

  it('check mode does not pull', async () => {
    const ctx = host(false);
    const { outcome, pendingWrite } = await perform(
      dockerImageModule,
      { name: IMAGE },
      { ...ctx, check: true },
    );
    assert.equal(outcome.changed, true);
    assert.equal(pendingWrite, true);
    assert.deepEqual(ctx.transport.commands, [`docker image inspect ${IMAGE}`]);
  });

  it("a failed pull fails the task with docker's message", async () => {
    const ctx = host(false, false);
    await assert.rejects(perform(dockerImageModule, { name: IMAGE }, ctx), (err: unknown) => {
      assert.ok(err instanceof CommandFailedError);
      assert.match(err.message, /docker pull hashicorp\/consul:1\.19\.2.*\n.*i\/o timeout/s);
      return true;
    });
  });
});

describe('docker_image plan (facts in, steps out)', () => {
  const ctx = planContext();
  const present: ImageState = { present: true, id: ID, repoTags: [IMAGE] };

  it('asks docker image inspect', () => {
    assert.deepEqual(factsAsked(dockerImageModule, { name: IMAGE }), {
      image: { read: { effect: 'read', sends: `docker image inspect ${IMAGE}` } },
    });
  });

  it('a present image is left alone', () => {
    assert.deepEqual(dockerImageModule.plan({ name: IMAGE }, { image: present }, ctx), {
      changed: false,
      summary: `image ${IMAGE} is present`,
      data: { image: IMAGE, id: ID },
    });
  });

  it('a missing image is pulled, then inspected again for its id', async () => {
    const change = dockerImageModule.plan({ name: IMAGE, timeout: 60 }, { image: { present: false } }, ctx);
    assert.equal(change.summary, `pull ${IMAGE}`);
    assert.deepEqual(change.data, { image: IMAGE });
    assert.deepEqual(change.steps?.map(shown), [
      { effect: 'write', sends: `docker pull ${IMAGE}`, timeoutSeconds: 60 },
      { effect: 'read', sends: `docker image inspect ${IMAGE}` },
    ]);
    const site = { host: 's1', secrets: () => [] };
    const after = change.steps?.[1];
    assert.ok(after?.kind === 'exec');
    assert.deepEqual(after.read({ code: 0, stdout: inspect, stderr: '' }, site), {
      image: IMAGE,
      pulled: true,
      id: ID,
    });
  });

  it('force_pull pulls a present image and the same plan comes out in check mode', () => {
    const args = { name: IMAGE, force_pull: true };
    const change = dockerImageModule.plan(args, { image: present }, ctx);
    assert.equal(change.summary, `pull ${IMAGE} (force_pull)`);
    assert.deepEqual(
      JSON.stringify(dockerImageModule.plan(args, { image: present }, planContext({ check: true }))),
      JSON.stringify(change),
    );
  });

  it('in check mode the pull is never run: the executor refuses it', async () => {
    const ctx = host(false);
    const check = moduleContext({ check: true, transport: ctx.transport });
    const change = dockerImageModule.plan({ name: IMAGE }, { image: { present: false } }, planContext());
    await assert.rejects(check.steps.run(change.steps![0]!), WriteRefusedError);
    const { pendingWrite } = await perform(dockerImageModule, { name: IMAGE }, check);
    assert.equal(pendingWrite, true);
    assert.deepEqual(ctx.transport.commands, [`docker image inspect ${IMAGE}`]);
  });
});
