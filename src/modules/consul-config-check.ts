import { randomBytes } from 'node:crypto';
import { removeStaleValidations, VALIDATE_CONTAINER_PREFIX, validateWithImage } from '../remote/consul.js';
import { setAttributes, writeFileAtomic } from '../remote/fs.js';
import {
  classifyConfigChange,
  describeConfigChange,
  type ConfigChange,
} from '../consul/agent/config-change.js';
import { GateError, TaskFailedError } from '../errors.js';
import { factStep } from '../facts/fact.js';
import { execStep } from '../remote/step.js';
import { fileState } from '../facts/file-state.js';
import { and, exec, render, type Cmd } from '../shell/cmd.js';
import type { ExecOptions } from '../ssh/transport.js';
import { redactText } from '../shell/secret.js';
import { renderTemplate } from '../template/render.js';
import { readTemplateFile } from '../template/template-file.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';
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

/**
 * consul_config_check: renders the agent config the template task is about to write, compares
 * it with the file on the host key by key and classifies the change (src/consul/agent/config-change.ts):
 * registers `class` plus `reload` / `restart` booleans for the handlers, refuses dangerous changes
 * without `force`, and (outside check mode) validates a changed config with `consul validate`
 * inside the target image, from a private temp dir, before the live config is touched.
 */
export const consulConfigCheckModule: ConversationModule<ConsulConfigCheckArgs> = {
  kind: 'conversation',
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
  async run(args: ConsulConfigCheckArgs, ctx: ConversationContext): Promise<Outcome> {
    const host = ctx.steps.host;
    const source = await readTemplateFile(ctx.baseDir, args.src);
    const content = renderTemplate(source, ctx.vars, { name: args.src, reveal: true });
    const after = parseObject(content, `${host}: template ${args.src}`);
    const current = await ctx.steps.run(factStep(fileState(args.dest), { timeoutSeconds: 30 }));
    // An unparsable file on the host is replaced as a whole: treat it as a restart.
    const before = current.exists ? tryParseObject(current.content) : undefined;
    const change: ConfigChange =
      current.exists && !before
        ? {
            class: 'restart',
            changes: [{ key: '*', class: 'restart', note: 'the file on the host is not a JSON object' }],
          }
        : classifyConfigChange(before, after);
    const summary = `config change: ${describeConfigChange(change)}`;
    if (change.class === 'dangerous' && !args.force) {
      const dangerous = change.changes.filter((c) => c.class === 'dangerous');
      throw new DangerousConfigChangeError(
        `${host}: refusing a dangerous Consul config change (nothing was written; --force applies it):\n` +
          dangerous.map((c) => `  - ${c.key}: ${c.note}`).join('\n'),
      );
    }
    let validated = false;
    if (!ctx.check && args.validate_image && change.class !== 'noop' && change.class !== 'ignored') {
      await validateInImage(ctx, args, args.validate_image, content);
      validated = true;
    }
    return {
      changed: false,
      summary: validated ? `${summary}; consul validate passed in ${args.validate_image}` : summary,
      data: {
        class: change.class,
        changes: change.changes,
        reload: change.class === 'reload',
        // `new`: a running agent without a config file on the host (or a first deploy, where the
        // container is created anyway and the roll's `not consul_container.changed` skips the restart).
        restart: change.class === 'restart' || change.class === 'dangerous' || change.class === 'new',
        validated,
      },
    };
  },
};

/**
 * Writes the config to a private temp dir on the host, validates it there, removes the dir. The
 * dir and file belong to the agent's user, and consul validate runs as that user with the consul
 * binary as entrypoint: the image's own entrypoint would try to chown the read-only mount and
 * fail (as hashicorp/consul's does), and as root any file would be readable.
 */
async function validateInImage(
  ctx: ConversationContext,
  who: Pick<ConsulConfigCheckArgs, 'owner' | 'group'>,
  image: string,
  content: string,
): Promise<void> {
  const host = ctx.steps.host;
  // Best effort: a leftover never blocks this validation, which has a name of its own.
  // Every step writes (a temp dir, a throwaway container), so validation runs outside check mode only.
  const run = (cmd: Cmd, options: ExecOptions) => ctx.steps.run(execStep('write', cmd, options));
  await run(removeStaleValidations(), { timeoutSeconds: 30 }).catch(() => undefined);
  const mk = await run(exec('mktemp', '-d', '/tmp/drover-validate.XXXXXX'), { timeoutSeconds: 30 });
  const dir = mk.stdout.trim();
  if (mk.code !== 0 || !dir.startsWith('/tmp/drover-validate.')) {
    throw new TaskFailedError(`${host}: cannot make a temp dir for consul validate: ${mk.stderr.trim()}`);
  }
  try {
    const ownership = {
      ...(who.owner !== undefined && { owner: who.owner }),
      ...(who.group !== undefined && { group: who.group }),
    };
    const write = writeFileAtomic(`${dir}/consul.json`, { mode: '0600', ...ownership });
    const chownDir = setAttributes(dir, ownership);
    const stage = await run(chownDir ? and(chownDir, write) : write, {
      stdin: content,
      timeoutSeconds: 30,
    });
    if (stage.code !== 0)
      throw new TaskFailedError(
        `${host}: cannot stage the config for consul validate: ${stage.stderr.trim()}`,
      );
    const cmd = validateWithImage(
      image,
      dir,
      `${VALIDATE_CONTAINER_PREFIX}${randomBytes(6).toString('hex')}`,
      {
        ...(who.owner !== undefined && {
          user: who.group !== undefined ? `${who.owner}:${who.group}` : who.owner,
        }),
      },
    );
    const r = await run(cmd, { timeoutSeconds: 120 });
    if (r.code !== 0) {
      const secrets = ctx.secrets();
      throw new TaskFailedError(
        `${host}: the new config fails \`consul validate\` in ${image} (nothing was written): ` +
          `${render(cmd, { redact: true })}\n${redactText(`${r.stdout}${r.stderr}`, secrets).trim().split('\n').slice(-8).join('\n')}`,
      );
    }
  } finally {
    await run(exec('rm', '-rf', '--', dir), { timeoutSeconds: 30 }).catch(() => undefined);
  }
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
