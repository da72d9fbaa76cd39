import { randomBytes } from 'node:crypto';
import {
  STAGE_FAILED_CODES,
  VALIDATE_CONTAINER_PREFIX,
  validateDir,
  validateInScratchDir,
  validateWithImage,
} from '../remote/consul.js';
import {
  classifyConfigChange,
  describeConfigChange,
  type ConfigChange,
} from '../consul/agent/config-change.js';
import { GateError, TaskFailedError } from '../errors.js';
import { factStep } from '../facts/fact.js';
import { execStep, mapStep, type Step } from '../remote/step.js';
import { fileState, type FileState } from '../facts/file-state.js';
import { render } from '../shell/cmd.js';
import { redactText } from '../shell/secret.js';
import { renderTemplate } from '../template/render.js';
import { readTemplateFile } from '../template/template-file.js';
import type { Change, ModuleData, PlannedModule } from './module.js';
import { absolutePathSchema, groupSchema, ownerSchema } from './schema-parts.js';

export interface ConsulConfigCheckArgs {
  /** The agent config template (as the template task that writes it). */
  src: string;
  /** The config file on the host. */
  dest: string;
  /** Proceed with dangerous changes (datacenter, node_name, server, bootstrap_expect, ...). */
  force?: boolean;
  /** Validate the new config with `consul validate` in this image before anything is written. */
  validate_image?: string;
  /**
   * Who the agent reads its config as (the template task's owner and group): `consul validate`
   * runs as this user, so a config the agent could not read fails here, not at its start.
   */
  owner?: string;
  group?: string;
}

/** A dangerous config change without force. Exit 5; nothing was written. */
export class DangerousConfigChangeError extends GateError {}

/** What the task wants: the rendered config, and where a validation of it would be staged. */
interface ConfigCheckWant {
  args: ConsulConfigCheckArgs;
  /** The rendered config, secrets in clear text. Never shown. */
  content: string;
  after: Record<string, unknown>;
  /** A fresh name per run, so no one can prepare the dir or container beforehand. */
  scratch: { dir: string; container: string };
}

interface ConfigCheckFacts {
  current: FileState;
}

/**
 * consul_config_check: renders the agent config the template task is about to write, compares
 * it with the file on the host key by key and classifies the change (src/consul/agent/config-change.ts):
 * registers `class` plus `reload` / `restart` booleans for the handlers, refuses dangerous changes
 * without `force`, and (outside check mode) validates a changed config with `consul validate`
 * inside the target image, from a private temp dir, before the live config is touched.
 */
export const consulConfigCheckModule: PlannedModule<
  ConsulConfigCheckArgs,
  ConfigCheckWant,
  ConfigCheckFacts
> = {
  kind: 'planned',
  name: 'consul_config_check',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['src', 'dest'],
    properties: {
      src: { type: 'string', minLength: 1, description: 'Template path, relative to the project root.' },
      dest: absolutePathSchema,
      force: { type: 'boolean', description: 'Allow dangerous changes.' },
      validate_image: {
        type: 'string',
        description: 'Image whose consul validates the new config; "" skips.',
      },
      owner: { ...ownerSchema, description: 'User (name or uid) consul validate runs as.' },
      group: { ...groupSchema, description: 'Group (name or gid) consul validate runs as.' },
    },
  },
  async desired(args, ctx): Promise<ConfigCheckWant> {
    const source = await readTemplateFile(ctx.baseDir, args.src);
    const content = renderTemplate(source, ctx.vars, { name: args.src, reveal: true });
    const after = parseObject(content, `${ctx.host}: template ${args.src}`);
    const suffix = randomBytes(6).toString('hex');
    return {
      args,
      content,
      after,
      scratch: { dir: validateDir(suffix), container: `${VALIDATE_CONTAINER_PREFIX}${suffix}` },
    };
  },
  facts(want) {
    return { current: factStep(fileState(want.args.dest), { timeoutSeconds: 30 }) };
  },
  plan(want, facts, ctx): Change {
    const { args } = want;
    const { current } = facts;
    // An unparsable file on the host is replaced as a whole: treat it as a restart.
    const before = current.exists ? tryParseObject(current.content) : undefined;
    const change: ConfigChange =
      current.exists && !before
        ? {
            class: 'restart',
            changes: [{ key: '*', class: 'restart', note: 'the file on the host is not a JSON object' }],
          }
        : classifyConfigChange(before, want.after);
    const summary = `config change: ${describeConfigChange(change)}`;
    if (change.class === 'dangerous' && !args.force) {
      const dangerous = change.changes.filter((c) => c.class === 'dangerous');
      throw new DangerousConfigChangeError(
        `${ctx.host}: refusing a dangerous Consul config change (nothing was written; --force applies it):\n` +
          dangerous.map((c) => `  - ${c.key}: ${c.note}`).join('\n'),
      );
    }
    const data: ModuleData = {
      class: change.class,
      changes: change.changes,
      reload: change.class === 'reload',
      // `new`: a running agent without a config file on the host (or a first deploy, where the
      // container is created anyway and the roll's `not consul_container.changed` skips the restart).
      restart: change.class === 'restart' || change.class === 'dangerous' || change.class === 'new',
      // Its validation step registers true once consul validate passed.
      validated: false,
    };
    const image = args.validate_image;
    if (!image || change.class === 'noop' || change.class === 'ignored') {
      return { changed: false, summary, data };
    }
    return {
      // Validating changes nothing: the check only reads the host's config and its scratch
      // copy is gone when the step ends. Its steps write (a temp dir, a throwaway container), so
      // they run outside check mode only.
      changed: false,
      summary: ctx.check ? summary : `${summary}; consul validate passed in ${image}`,
      data,
      steps: validationSteps(want, image, ctx.host),
    };
  },
};

/**
 * Writes the config to a private temp dir on the host, validates it there, removes the dir, in
 * one step (remote/consul.ts validateInScratchDir). The dir and file belong to the agent's user, and consul validate runs as that user with the consul
 * binary as entrypoint: the image's own entrypoint would try to chown the read-only mount and
 * fail (as hashicorp/consul's does), and as root any file would be readable.
 */
function validationSteps(want: ConfigCheckWant, image: string, host: string): Step<ModuleData | void>[] {
  const { owner, group } = want.args;
  const { dir, container } = want.scratch;
  const validate = validateWithImage(image, dir, container, {
    ...(owner !== undefined && { user: group !== undefined ? `${owner}:${group}` : owner }),
  });
  const ownership = {
    ...(owner !== undefined && { owner }),
    ...(group !== undefined && { group }),
  };
  const cmd = validateInScratchDir(validate, dir, ownership);
  return [
    mapStep(execStep('write', cmd, { stdin: want.content, timeoutSeconds: 120 }), (r, site) => {
      if (r.code === 0) return { validated: true };
      const output = redactText(`${r.stdout}${r.stderr}`, site.secrets()).trim();
      if (r.code === STAGE_FAILED_CODES.mkdir || r.code === STAGE_FAILED_CODES.stage) {
        const what = r.code === STAGE_FAILED_CODES.mkdir ? `make the temp dir ${dir}` : 'stage the config';
        throw new TaskFailedError(`${host}: cannot ${what} for consul validate: ${output}`);
      }
      throw new TaskFailedError(
        `${host}: the new config fails \`consul validate\` in ${image} (nothing was written): ` +
          `${render(validate, { redact: true })}\n${output.split('\n').slice(-8).join('\n')}`,
      );
    }),
  ];
}

function tryParseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function parseObject(text: string, what: string): Record<string, unknown> {
  const v = tryParseObject(text);
  if (!v) throw new TaskFailedError(`${what} did not render a JSON object`);
  return v;
}
