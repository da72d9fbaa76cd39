import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, TaskFailedError } from '../errors.js';
import { REDACTED, Secret } from '../shell/secret.js';
import { convergingFile, describeFileWrite, type DesiredFile, type FileFacts } from './file-write.js';
import type { LocalContext, PlannedModule } from './module.js';
import { absolutePathSchema, groupSchema, modeSchema, ownerSchema } from './schema-parts.js';

export type CopyArgs = {
  /** Literal content; a Secret (e.g. a token file) is written in clear and shown as <redacted>. */
  content?: string | Secret;
  /** Local file, relative to the project root, copied byte for byte (no templating). */
  src?: string;
  dest: string;
  mode?: string;
  owner?: string;
  group?: string;
};

/** Puts literal content or a local file on the host, through the same atomic write as template. */
export const copyModule: PlannedModule<CopyArgs, DesiredFile, FileFacts> = {
  kind: 'planned',
  name: 'copy',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['dest'],
    properties: {
      // No `type`: after templating the value may be a Secret object, not a string.
      content: { description: 'Literal file content (string or secret).' },
      src: { type: 'string', minLength: 1, description: 'Local file, relative to the project root.' },
      dest: absolutePathSchema,
      mode: modeSchema,
      owner: ownerSchema,
      group: groupSchema,
    },
  },
  async desired(args: CopyArgs, ctx: LocalContext): Promise<DesiredFile> {
    const { content, shown, extraSecrets } = await source(args, ctx);
    return {
      dest: args.dest,
      content,
      shown,
      extraSecrets,
      ...(args.mode !== undefined && { mode: args.mode }),
      ...(args.owner !== undefined && { owner: args.owner }),
      ...(args.group !== undefined && { group: args.group }),
    };
  },
  facts: (want) => ({ file: convergingFile(want) }),
  plan: (want, facts, ctx) => describeFileWrite(want, facts.file, ctx),
};

async function source(
  args: CopyArgs,
  ctx: LocalContext,
): Promise<{ content: string; shown: string; extraSecrets: string[] }> {
  const host = ctx.host;
  if ((args.content === undefined) === (args.src === undefined)) {
    throw new TaskFailedError(`${host}: copy to ${args.dest} needs exactly one of "content" or "src"`);
  }
  if (args.content instanceof Secret) {
    return { content: args.content.reveal(), shown: REDACTED, extraSecrets: [args.content.reveal()] };
  }
  if (typeof args.content === 'string')
    return { content: args.content, shown: args.content, extraSecrets: [] };
  if (args.content !== undefined) {
    throw new TaskFailedError(`${host}: copy to ${args.dest}: "content" must be a string`);
  }
  const path = resolve(ctx.baseDir, args.src ?? '');
  try {
    const text = await readFile(path, 'utf8');
    return { content: text, shown: text, extraSecrets: [] };
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(err);
    throw new ConfigError([{ file: args.src ?? '', message: `${why} (${path})` }], { cause: err });
  }
}
