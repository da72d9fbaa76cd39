import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskFailedError } from '../../src/errors.js';
import {
  dockerContainerModule,
  REPLACED_IMAGE_LABEL,
  SPEC_HASH_LABEL,
  type DockerContainerArgs,
} from '../../src/modules/docker-container.js';
import type { ContainerInfo, ContainerState } from '../../src/facts/container-state.js';
import type { ImageState } from '../../src/facts/image-present.js';
import { WriteRefusedError } from '../../src/runner/step-executor.js';
import { secret } from '../../src/shell/secret.js';
import { moduleContext, perform, planOn } from './context.js';
import { factsAsked, planContext, shown } from './fixture.js';
import { FakeDocker } from './fake-docker.js';

const IMAGE = 'hashicorp/consul:1.19.2';
const IMAGE_ID = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const TOKEN = 'c0ffee00-1234-5678-9abc-def012345678';

const base = (): DockerContainerArgs => ({
  name: 'consul',
  image: IMAGE,
  volumes: ['/opt/consul/config:/consul/config', '/opt/consul/data:/consul/data'],
  labels: { role: 'server' },
  env: { CONSUL_HTTP_TOKEN: secret(TOKEN) },
  args: ['agent', '-server'],
  config_hash: 'aaaa',
});

function setup(check = false) {
  const ctx = moduleContext({ check });
  const docker = new FakeDocker(ctx.transport);
  docker.images.set(IMAGE, IMAGE_ID);
  return { ctx, docker };
}

async function converge(args: DockerContainerArgs, ctx: ReturnType<typeof setup>['ctx']) {
  const { outcome: change, data } = await perform(dockerContainerModule, args, ctx);
  return { change, data };
}

describe('docker_container module', () => {
  it('creates a missing container with the spec-hash label, then is idempotent', async () => {
    const { ctx, docker } = setup();
    const { change, data } = await converge(base(), ctx);
    assert.equal(change.changed, true);
    assert.equal(change.summary, `create container consul from ${IMAGE}`);
    assert.equal(ctx.transport.commands.length, 2);
    const run = ctx.transport.commands[1]!;
    assert.match(
      run,
      /^docker run -d --name consul --net=host --restart always -v \/opt\/consul\/config:\/consul\/config -v \/opt\/consul\/data:\/consul\/data --label drover\.spec-hash=[0-9a-f]{64} --label role=server -e <redacted> hashicorp\/consul:1\.19\.2 agent -server$/,
    );
    assert.deepEqual(data, { image: IMAGE, recreated: false, id: docker.container!.id });

    ctx.transport.calls.length = 0;
    const again = await planOn(dockerContainerModule, base(), ctx);
    assert.equal(again.changed, false);
    assert.equal(again.summary, 'container consul is up to date (running)');
    assert.deepEqual(ctx.transport.commands, [
      'docker container inspect consul',
      `docker image inspect ${IMAGE}`,
    ]);
  });

  it('recreates (graceful stop, rm -f, run) when the config hash changes', async () => {
    const { ctx, docker } = setup();
    await converge(base(), ctx);
    const oldHash = docker.container!.labels[SPEC_HASH_LABEL];
    ctx.transport.calls.length = 0;
    const { change, data } = await converge({ ...base(), config_hash: 'bbbb', stop_timeout: 30 }, ctx);
    assert.equal(change.summary, 'recreate container consul (spec or config changed)');
    assert.deepEqual(ctx.transport.commands.slice(1, 4), [
      'docker stop -t 30 consul',
      'docker rm -f consul',
      ctx.transport.commands[3],
    ]);
    assert.match(ctx.transport.commands[3]!, /^docker run -d /);
    assert.equal(data?.['recreated'], true);
    assert.notEqual(docker.container!.labels[SPEC_HASH_LABEL], oldHash);
    const diff = change.diff?.[0];
    assert.equal(diff?.path, 'container consul');
    assert.equal(diff?.before, `image: ${IMAGE}\nspec-hash: ${oldHash}\nstate: running`);
    assert.match(
      diff?.after ?? '',
      /^image: hashicorp\/consul:1\.19\.2\nspec-hash: [0-9a-f]{64}\nstate: running$/,
    );
    assert.equal(
      (await planOn(dockerContainerModule, { ...base(), config_hash: 'bbbb' }, ctx)).changed,
      false,
    );
  });

  it('recreates for a new image, a new secret, or a moved tag; not for nothing', async () => {
    const { ctx, docker } = setup();
    await converge(base(), ctx);
    docker.images.set('hashicorp/consul:1.20.1', 'sha256:2222');
    const upgrade = await planOn(dockerContainerModule, { ...base(), image: 'hashicorp/consul:1.20.1' }, ctx);
    assert.equal(upgrade.summary, `recreate container consul (image ${IMAGE} -> hashicorp/consul:1.20.1)`);

    const rotated = await planOn(
      dockerContainerModule,
      { ...base(), env: { CONSUL_HTTP_TOKEN: secret('new-token-0000') } },
      ctx,
    );
    assert.equal(rotated.summary, 'recreate container consul (spec or config changed)');
    assert.ok(!JSON.stringify(rotated).includes('new-token-0000'));

    docker.images.set(IMAGE, 'sha256:3333333333');
    const moved = await planOn(dockerContainerModule, base(), ctx);
    assert.equal(moved.summary, `recreate container consul (image ${IMAGE} was updated)`);
  });

  it('labels a container recreated on another image with the one it replaced, and keeps that label', async () => {
    const { ctx, docker } = setup();
    await converge(base(), ctx);
    assert.equal(
      docker.container!.labels[REPLACED_IMAGE_LABEL],
      undefined,
      'a first container replaced nothing',
    );
    docker.images.set('hashicorp/consul:1.20.1', 'sha256:2222');
    await converge({ ...base(), image: 'hashicorp/consul:1.20.1' }, ctx);
    assert.equal(docker.container!.labels[REPLACED_IMAGE_LABEL], IMAGE);
    // Recreated for another reason on the same image: what the last change of image replaced stays.
    await converge({ ...base(), image: 'hashicorp/consul:1.20.1', config_hash: 'bbbb' }, ctx);
    assert.equal(docker.container!.labels[REPLACED_IMAGE_LABEL], IMAGE);
    // And a label that is not part of the spec never makes it outdated.
    const again = await planOn(
      dockerContainerModule,
      { ...base(), image: 'hashicorp/consul:1.20.1', config_hash: 'bbbb' },
      ctx,
    );
    assert.equal(again.changed, false);
  });

  it('adopts nothing: a container not created by drover is recreated', async () => {
    const { ctx, docker } = setup();
    docker.container = {
      id: 'x',
      image: IMAGE,
      imageId: IMAGE_ID,
      running: true,
      status: 'running',
      labels: {},
    };
    const change = await planOn(dockerContainerModule, base(), ctx);
    assert.equal(change.summary, 'recreate container consul (not created by drover)');
  });

  it('starts a stopped container that matches, without recreating it', async () => {
    const { ctx, docker } = setup();
    await converge(base(), ctx);
    docker.container!.running = false;
    docker.container!.status = 'exited';
    const id = docker.container!.id;
    ctx.transport.calls.length = 0;
    const { change, data } = await converge(base(), ctx);
    assert.equal(change.summary, 'start container consul (was exited)');
    assert.equal(ctx.transport.commands[2], 'docker start consul');
    assert.deepEqual(data, { id, image: IMAGE, recreated: false });
  });

  it('restarted always restarts; stopped stops; absent removes', async () => {
    const { ctx, docker } = setup();
    await converge(base(), ctx);
    ctx.transport.calls.length = 0;
    const restarted = await converge({ ...base(), state: 'restarted' }, ctx);
    assert.equal(restarted.change.changed, true);
    assert.equal(ctx.transport.commands.at(-1), 'docker restart -t 10 consul');

    const stopped = await converge({ ...base(), state: 'stopped' }, ctx);
    assert.equal(stopped.change.summary, 'stop container consul');
    assert.equal(docker.container!.running, false);
    assert.equal((await planOn(dockerContainerModule, { ...base(), state: 'stopped' }, ctx)).changed, false);

    const absent = await converge({ name: 'consul', state: 'absent' }, ctx);
    assert.equal(absent.change.summary, 'remove container consul');
    assert.equal(ctx.transport.commands.at(-1), 'docker rm -f consul');
    assert.equal(docker.container, undefined);
    assert.equal(
      (await planOn(dockerContainerModule, { name: 'consul', state: 'absent' }, ctx)).changed,
      false,
    );
  });

  it('state stopped on a fresh host creates without starting', async () => {
    const { ctx, docker } = setup();
    await converge({ ...base(), state: 'stopped' }, ctx);
    assert.match(ctx.transport.commands[1]!, /^docker create --name consul /);
    assert.equal(docker.container?.status, 'created');
    assert.equal((await planOn(dockerContainerModule, { ...base(), state: 'stopped' }, ctx)).changed, false);
  });

  it('check mode only inspects', async () => {
    const { ctx } = setup(true);
    const change = await planOn(dockerContainerModule, base(), ctx);
    assert.equal(change.changed, true);
    assert.deepEqual(ctx.transport.commands, ['docker container inspect consul']);
  });

  it('never shows the secret env value in summary, diff, data or commands', async () => {
    const { ctx } = setup();
    const { change, data } = await converge(base(), ctx);
    const everything = JSON.stringify({ change, data, commands: ctx.transport.commands });
    assert.ok(!everything.includes(TOKEN));
  });

  it('needs an image unless the container should be absent', async () => {
    const { ctx } = setup();
    await assert.rejects(planOn(dockerContainerModule, { name: 'consul' }, ctx), (err: unknown) => {
      assert.ok(err instanceof TaskFailedError);
      assert.match(err.message, /needs "image" unless state is absent/);
      return true;
    });
  });
});

describe('docker_container plan (facts in, steps out)', () => {
  const ctx = planContext();
  const wanted = (args: DockerContainerArgs) => dockerContainerModule.desired!(args, ctx);
  const running = async (
    args: DockerContainerArgs,
    more: Partial<ContainerInfo> = {},
  ): Promise<ContainerInfo> => {
    const w = await wanted(args);
    assert.ok(w.state !== 'absent');
    return {
      exists: true,
      id: 'c0ffee',
      image: IMAGE,
      imageId: IMAGE_ID,
      running: true,
      status: 'running',
      labels: { role: 'server', [SPEC_HASH_LABEL]: w.hash },
      ...more,
    };
  };
  const localImage: ImageState = { present: true, id: IMAGE_ID, repoTags: [IMAGE] };

  it('asks for the container, and for the local image only when the container runs the wanted spec', async () => {
    const w = await wanted(base());
    const inspect = { read: { effect: 'read', sends: 'docker container inspect consul' } };
    const image = { read: { effect: 'read', sends: `docker image inspect ${IMAGE}` } };
    const other = await running(base(), { labels: {} });
    assert.deepEqual(factsAsked(dockerContainerModule, w, { container: { exists: false } }), {
      container: inspect,
      localImage: undefined,
    });
    assert.deepEqual(factsAsked(dockerContainerModule, w, { container: other }), {
      container: inspect,
      localImage: undefined,
    });
    assert.deepEqual(factsAsked(dockerContainerModule, w, { container: await running(base()) }), {
      container: inspect,
      localImage: image,
    });
  });

  it('a missing container is run with its spec-hash label; the run answers its id', async () => {
    const change = dockerContainerModule.plan(
      await wanted(base()),
      { container: { exists: false }, localImage: undefined },
      ctx,
    );
    assert.equal(change.summary, `create container consul from ${IMAGE}`);
    assert.deepEqual(change.data, { image: IMAGE, recreated: false });
    const steps = change.steps!.map(shown);
    assert.equal(steps.length, 1);
    assert.equal(steps[0]?.effect, 'write');
    assert.equal(steps[0]?.timeoutSeconds, 300);
    assert.match(
      steps[0]!.sends,
      /^docker run -d --name consul .*--label drover\.spec-hash=[0-9a-f]{64} .*-e <redacted> /,
    );
    const run = change.steps![0]!;
    assert.ok(run.kind === 'exec');
    assert.deepEqual(
      run.read({ code: 0, stdout: 'abc123\n', stderr: '' }, { host: 's1', secrets: () => [] }),
      {
        id: 'abc123',
      },
    );
  });

  it('a changed spec recreates: graceful stop, rm -f, run', async () => {
    const have = await running(base());
    const change = dockerContainerModule.plan(
      await wanted({ ...base(), config_hash: 'bbbb', stop_timeout: 30 }),
      { container: have, localImage: undefined },
      ctx,
    );
    assert.equal(change.summary, 'recreate container consul (spec or config changed)');
    assert.deepEqual(
      change.steps!.map((s) => shown(s).sends.split(' --name ')[0]),
      ['docker stop -t 30 consul', 'docker rm -f consul', 'docker run -d'],
    );
  });

  it('a re-pulled tag recreates; the same image id is up to date', async () => {
    const w = await wanted(base());
    const have = await running(base());
    const moved = dockerContainerModule.plan(
      w,
      { container: have, localImage: { ...localImage, id: 'sha256:2' } },
      ctx,
    );
    assert.equal(moved.summary, `recreate container consul (image ${IMAGE} was updated)`);
    assert.deepEqual(dockerContainerModule.plan(w, { container: have, localImage }, ctx), {
      changed: false,
      summary: 'container consul is up to date (running)',
      data: { id: 'c0ffee', image: IMAGE, recreated: false },
    });
  });

  it('started starts, restarted restarts, stopped stops, absent removes', async () => {
    const exited = await running(base(), { running: false, status: 'exited' });
    const on = await running(base());
    const steps = async (args: DockerContainerArgs, container: ContainerState) =>
      dockerContainerModule
        .plan(await wanted(args), { container, localImage }, ctx)
        .steps?.map((s) => shown(s).sends);
    assert.deepEqual(await steps(base(), exited), ['docker start consul']);
    assert.deepEqual(await steps({ ...base(), state: 'restarted' }, on), ['docker restart -t 10 consul']);
    assert.deepEqual(await steps({ ...base(), state: 'stopped' }, on), ['docker stop -t 10 consul']);
    assert.deepEqual(await steps({ name: 'consul', state: 'absent' }, on), ['docker rm -f consul']);
    assert.equal(await steps({ name: 'consul', state: 'absent' }, { exists: false }), undefined);
  });

  it('the plan is the same in check mode, where its write steps are never run', async () => {
    const w = await wanted(base());
    const facts = { container: { exists: false } as const, localImage: undefined };
    const inCheck = dockerContainerModule.plan(w, facts, planContext({ check: true }));
    const applied = dockerContainerModule.plan(w, facts, ctx);
    assert.deepEqual(
      { summary: inCheck.summary, diff: inCheck.diff, data: inCheck.data },
      { summary: applied.summary, diff: applied.diff, data: applied.data },
    );
    const { ctx: host } = setup(true);
    await assert.rejects(host.steps.run(inCheck.steps![0]!), WriteRefusedError);
    const { pendingWrite } = await perform(dockerContainerModule, base(), host);
    assert.equal(pendingWrite, true);
    assert.deepEqual(host.transport.commands, ['docker container inspect consul']);
  });
});
