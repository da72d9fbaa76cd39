import { mkdir, setAttributes } from '../commands/fs.js';
import { TaskFailedError } from '../errors.js';
import { gather } from '../facts/fact.js';
import { normalizeMode, pathState, sameOwner, type PathState } from '../facts/file-state.js';
import type { Change, FileDiff, Module, ModuleContext } from './module.js';
import { runChecked } from './run-checked.js';
import { absolutePathSchema, groupSchema, modeSchema, ownerSchema } from './schema-parts.js';

export type MkdirArgs = { path: string; mode?: string; owner?: string; group?: string };

/** Ensures a directory exists with the given mode and owner; changed only when something differs. */
export const mkdirModule: Module<MkdirArgs> = {
  name: 'mkdir',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: { path: absolutePathSchema, mode: modeSchema, owner: ownerSchema, group: groupSchema },
  },
  async plan(args: MkdirArgs, ctx: ModuleContext): Promise<Change> {
    const have = await gather(ctx.transport, pathState(args.path));
    if (have.exists && have.type !== 'directory') {
      throw new TaskFailedError(
        `${ctx.transport.host}: ${args.path} exists but is a ${have.type}, not a directory`,
      );
    }
    const differences = have.exists ? attributeDifferences(args, have) : [];
    const data = { path: args.path };
    if (have.exists && differences.length === 0) {
      return { changed: false, summary: `directory ${args.path} is up to date`, data };
    }
    const want = describe(args);
    const diff: FileDiff[] = ctx.diff
      ? [
          {
            path: args.path,
            before: have.exists ? `directory ${describeHave(have)}` : null,
            after: `directory ${want}`,
          },
        ]
      : [];
    const ownership = {
      ...(args.mode !== undefined && { mode: args.mode }),
      ...(args.owner !== undefined && { owner: args.owner }),
      ...(args.group !== undefined && { group: args.group }),
    };
    return {
      changed: true,
      summary: have.exists
        ? `fix ${differences.join(', ')} of ${args.path}`
        : `create directory ${args.path}${want ? ` (${want})` : ''}`,
      diff,
      data,
      apply: async () => {
        // An existing directory needs only chmod/chown; a missing one gets mkdir -p as well.
        const cmd = have.exists ? setAttributes(args.path, ownership) : mkdir(args.path, ownership);
        if (cmd) await runChecked(ctx, cmd);
        return { ...data, changed: true };
      },
    };
  },
};

function attributeDifferences(want: MkdirArgs, have: PathState & { exists: true }): string[] {
  const out: string[] = [];
  if (want.mode && normalizeMode(want.mode) !== normalizeMode(have.mode))
    out.push(`mode ${have.mode} -> ${want.mode}`);
  if (want.owner && !sameOwner(want.owner, have.uid, have.owner))
    out.push(`owner ${have.owner} -> ${want.owner}`);
  if (want.group && !sameOwner(want.group, have.gid, have.group))
    out.push(`group ${have.group} -> ${want.group}`);
  return out;
}

function describe(a: MkdirArgs): string {
  return [a.mode && `mode ${a.mode}`, a.owner && `owner ${a.owner}`, a.group && `group ${a.group}`]
    .filter(Boolean)
    .join(', ');
}

const describeHave = (h: PathState & { exists: true }): string =>
  `mode ${h.mode}, owner ${h.owner}, group ${h.group}`;
