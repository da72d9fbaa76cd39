import { createHash } from 'node:crypto';
import {
  createContainer,
  removeContainer,
  restartContainer,
  runContainer,
  startContainer,
  stopContainer,
  type ContainerSpec,
} from '../remote/docker.js';
import { TaskFailedError } from '../errors.js';
import { containerState, type ContainerInfo, type ContainerState } from '../facts/container-state.js';
import { factStep } from '../facts/fact.js';
import { imagePresent, type ImageState } from '../facts/image-present.js';
import { checkedStep, effectOnly, mapStep } from '../remote/step.js';
import type { Cmd, Arg } from '../shell/cmd.js';
import { Secret } from '../shell/secret.js';
import type { Change, FileDiff, LocalContext, ModuleData, PlanContext, PlannedModule } from './module.js';

export type ContainerDesiredState = 'started' | 'stopped' | 'absent' | 'restarted';

export type DockerContainerArgs = {
  name: string;
  image?: string;
  volumes?: string[];
  network?: string;
  restart?: ContainerSpec['restart'];
  labels?: Record<string, string>;
  env?: Record<string, Arg>;
  args?: Arg[];
  /** Checksum of the rendered config; a new config recreates the container. */
  config_hash?: string;
  state?: ContainerDesiredState;
  /** Seconds `docker stop`/`restart` wait for a graceful exit before SIGKILL. */
  stop_timeout?: number;
};

/** The label that carries the hash of everything the container was created from. */
export const SPEC_HASH_LABEL = 'drover.spec-hash';
/**
 * The label that says which image the container replaced, when it was recreated on another
 * one (an upgrade), carried over while the image stays: `drover rollback` reads it on the hosts.
 */
export const REPLACED_IMAGE_LABEL = 'drover.replaced-image';

/**
 * Idempotency by facts: the container carries a hash of its spec (plus the config checksum) as
 * a label, and `docker inspect` reads it back. Equal hash and image: nothing to do. A different
 * one: stop, remove and run again. Never "always restart".
 */
export const dockerContainerModule: PlannedModule<DockerContainerArgs, WantedContainer, ContainerFacts> = {
  kind: 'planned',
  name: 'docker_container',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'Container name.' },
      image: {
        type: 'string',
        minLength: 1,
        description: 'Image reference; required unless state is absent.',
      },
      volumes: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        description: 'host:container[:ro] mounts.',
      },
      network: { type: 'string', minLength: 1, description: 'Docker network; default host.' },
      restart: {
        enum: ['no', 'always', 'unless-stopped', 'on-failure'],
        description: 'Restart policy; default always.',
      },
      labels: { type: 'object', additionalProperties: { type: 'string' }, description: 'Container labels.' },
      // Values untyped: after templating a value may be a Secret object.
      env: { type: 'object', description: 'Environment variables; secret values stay redacted in logs.' },
      args: { type: 'array', description: 'Arguments after the image, e.g. [agent].' },
      config_hash: { type: 'string', description: 'Checksum of the rendered config; changing it recreates.' },
      state: { enum: ['started', 'stopped', 'absent', 'restarted'], description: 'Default started.' },
      stop_timeout: {
        type: 'integer',
        minimum: 0,
        description: 'Seconds to wait for a graceful stop; default 10.',
      },
    },
  },
  async desired(args: DockerContainerArgs, ctx: LocalContext): Promise<WantedContainer> {
    const state = args.state ?? 'started';
    if (state === 'absent') return { args, state };
    const spec = desiredSpec(args, ctx.host);
    return { args, state, spec, hash: specHash(spec, args.config_hash) };
  },
  facts: (want) => ({
    container: factStep(containerState(want.args.name)),
    // The same tag may point at a newly pulled image (a moving tag after docker_image force_pull):
    // asked only of a container that otherwise runs what is wanted.
    localImage: ({ container }) =>
      want.state !== 'absent' && container?.exists && runsSpec(container, want.spec.image, want.hash)
        ? factStep(imagePresent(want.spec.image))
        : undefined,
  }),
  plan(want: WantedContainer, { container: have, localImage }, ctx): Change {
    const { args } = want;
    if (want.state === 'absent') return planAbsent(args, have, ctx);
    const { state, spec, hash } = want;
    const replaced = have.exists
      ? have.image !== spec.image
        ? have.image
        : have.labels[REPLACED_IMAGE_LABEL]
      : undefined;
    const labelled: ContainerSpec = {
      ...spec,
      labels: {
        ...spec.labels,
        [SPEC_HASH_LABEL]: hash,
        ...(replaced !== undefined && { [REPLACED_IMAGE_LABEL]: replaced }),
      },
    };
    const stopTimeout = args.stop_timeout ?? 10;
    const runDesired = (): DockerCall => ({
      cmd: state === 'stopped' ? createContainer(labelled) : runContainer(labelled),
      printsId: true,
    });
    const after = { image: spec.image, hash, running: state !== 'stopped' };
    const diff = (): FileDiff[] =>
      ctx.diff
        ? [{ path: `container ${args.name}`, before: describeHave(have), after: describeWant(after) }]
        : [];

    if (!have.exists) {
      return change(
        `create container ${args.name} from ${spec.image}${state === 'stopped' ? ' (stopped)' : ''}`,
        diff(),
        { image: spec.image, recreated: false, calls: [runDesired()] },
      );
    }

    const outdated = whyOutdated(have, spec.image, hash, localImage);
    if (outdated) {
      const calls: DockerCall[] = [
        ...(have.running ? [{ cmd: stopContainer(args.name, stopTimeout) }] : []),
        { cmd: removeContainer(args.name) },
        runDesired(),
      ];
      return change(`recreate container ${args.name} (${outdated})`, diff(), {
        image: spec.image,
        recreated: true,
        calls,
      });
    }

    const current = { id: have.id, image: spec.image, recreated: false };
    if (state === 'restarted') {
      const call: DockerCall = {
        cmd: have.running ? restartContainer(args.name, stopTimeout) : startContainer(args.name),
      };
      return change(`restart container ${args.name}`, diff(), { ...current, calls: [call] });
    }
    if (state === 'started' && !have.running) {
      return change(`start container ${args.name} (was ${have.status})`, diff(), {
        ...current,
        calls: [{ cmd: startContainer(args.name) }],
      });
    }
    if (state === 'stopped' && have.running) {
      return change(`stop container ${args.name}`, diff(), {
        ...current,
        calls: [{ cmd: stopContainer(args.name, stopTimeout) }],
      });
    }
    return {
      changed: false,
      summary: `container ${args.name} is up to date (${have.status})`,
      data: current,
    };
  },
};

/** What the task wants: a container to remove, or one to run from this spec and its hash. */
type WantedContainer =
  | { args: DockerContainerArgs; state: 'absent' }
  | {
      args: DockerContainerArgs;
      state: Exclude<ContainerDesiredState, 'absent'>;
      spec: ContainerSpec;
      hash: string;
    };

interface ContainerFacts {
  container: ContainerState;
  /** Read only when the container otherwise runs what is wanted. */
  localImage: ImageState | undefined;
}

function planAbsent(args: DockerContainerArgs, have: ContainerState, ctx: PlanContext): Change {
  if (!have.exists)
    return { changed: false, summary: `container ${args.name} is absent`, data: { recreated: false } };
  const diff: FileDiff[] = ctx.diff
    ? [{ path: `container ${args.name}`, before: describeHave(have), after: 'absent' }]
    : [];
  return change(`remove container ${args.name}`, diff, {
    id: have.id,
    image: have.image,
    recreated: false,
    calls: [{ cmd: removeContainer(args.name) }],
  });
}

interface DockerCall {
  cmd: Cmd;
  /** `docker run -d` and `docker create` print the new container's id. */
  printsId?: boolean;
}

interface Plan {
  id?: string;
  image: string;
  recreated: boolean;
  calls: DockerCall[];
}

function change(summary: string, diff: FileDiff[], p: Plan): Change {
  const data: ModuleData = {
    image: p.image,
    recreated: p.recreated,
    ...(p.id !== undefined && { id: p.id }),
  };
  return {
    changed: true,
    summary,
    diff,
    data,
    steps: p.calls.map((call) => {
      // Bounded, but generous: `docker run` of a missing image pulls it first.
      const step = checkedStep('write', call.cmd, { timeoutSeconds: 300 });
      return call.printsId
        ? mapStep(step, (result) => ({ id: result.stdout.trim().split('\n').pop() }))
        : effectOnly(step);
    }),
  };
}

/** True when the container was made from this image and spec, as far as its labels say. */
function runsSpec(have: ContainerInfo, image: string, hash: string): boolean {
  return have.image === image && have.labels[SPEC_HASH_LABEL] === hash;
}

/** Why the container no longer matches its spec, or undefined when it does. */
function whyOutdated(
  have: ContainerInfo,
  image: string,
  hash: string,
  local: ImageState | undefined,
): string | undefined {
  if (have.image !== image) return `image ${have.image} -> ${image}`;
  const label = have.labels[SPEC_HASH_LABEL];
  if (label !== hash) return label === undefined ? 'not created by drover' : 'spec or config changed';
  if (local?.present && local.id !== have.imageId) return `image ${image} was updated`;
  return undefined;
}

function desiredSpec(args: DockerContainerArgs, host: string): ContainerSpec {
  if (!args.image)
    throw new TaskFailedError(`${host}: docker_container ${args.name} needs "image" unless state is absent`);
  const env = args.env ?? {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v !== 'string' && !(v instanceof Secret)) {
      throw new TaskFailedError(`${host}: docker_container ${args.name}: env.${k} must be a string`);
    }
  }
  for (const [i, a] of (args.args ?? []).entries()) {
    if (typeof a !== 'string' && !(a instanceof Secret)) {
      throw new TaskFailedError(`${host}: docker_container ${args.name}: args[${i}] must be a string`);
    }
  }
  return {
    name: args.name,
    image: args.image,
    network: args.network ?? 'host',
    restart: args.restart ?? 'always',
    volumes: args.volumes ?? [],
    labels: args.labels ?? {},
    env,
    args: args.args ?? [],
  };
}

/**
 * sha256 over a canonical JSON of the spec (sorted keys, secrets in clear so a new token also
 * recreates) and the config checksum. Only the hash is stored, never the values.
 */
export function specHash(spec: ContainerSpec, configHash?: string): string {
  return createHash('sha256')
    .update(canonical({ spec, configHash: configHash ?? null }))
    .digest('hex');
}

function canonical(value: unknown): string {
  if (value instanceof Secret) return JSON.stringify(value.reveal());
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function describeHave(have: ContainerState): string | null {
  if (!have.exists) return null;
  return `image: ${have.image}\nspec-hash: ${have.labels[SPEC_HASH_LABEL] ?? '(none)'}\nstate: ${have.status}`;
}

const describeWant = (w: { image: string; hash: string; running: boolean }): string =>
  `image: ${w.image}\nspec-hash: ${w.hash}\nstate: ${w.running ? 'running' : 'created'}`;
