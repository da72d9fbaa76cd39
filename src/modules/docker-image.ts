import { pullImage } from '../remote/docker.js';
import { checkedStep, effectOnly, mapStep } from '../remote/step.js';
import { factStep } from '../facts/fact.js';
import { imagePresent, type ImageState } from '../facts/image-present.js';
import type { Change, PlannedModule } from './module.js';
import { secondsSchema } from './schema-parts.js';

export type DockerImageArgs = { name: string; force_pull?: boolean; timeout?: number };

/** Pulls an image when the host does not have it (or always, with force_pull). */
export const dockerImageModule: PlannedModule<DockerImageArgs, DockerImageArgs, { image: ImageState }> = {
  kind: 'planned',
  name: 'docker_image',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1, description: 'Image reference, e.g. hashicorp/consul:1.19.2.' },
      force_pull: { type: 'boolean', description: 'Pull even when present (a moving tag); always a change.' },
      timeout: secondsSchema('Seconds allowed for the pull (default 600).'),
    },
  },
  facts: (args) => ({ image: factStep(imagePresent(args.name)) }),
  plan(args: DockerImageArgs, { image: have }): Change {
    if (have.present && !args.force_pull) {
      return {
        changed: false,
        summary: `image ${args.name} is present`,
        data: { image: args.name, id: have.id },
      };
    }
    return {
      changed: true,
      summary: have.present ? `pull ${args.name} (force_pull)` : `pull ${args.name}`,
      data: { image: args.name, ...(have.present && { id: have.id }) },
      steps: [
        // docker pull writes progress to stderr; only the exit code says whether it worked.
        effectOnly(checkedStep('write', pullImage(args.name), { timeoutSeconds: args.timeout ?? 600 })),
        mapStep(factStep(imagePresent(args.name)), (after) => ({
          image: args.name,
          pulled: true,
          ...(after.present && { id: after.id }),
          ...(have.present && after.present && { updated: have.id !== after.id }),
        })),
      ],
    };
  },
};
