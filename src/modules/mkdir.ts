import { ensureDir } from '../remote/fs.js';
import { TaskFailedError } from '../errors.js';
import { factStep, reportingWrite } from '../facts/fact.js';
import { attributeDifferences, parsePathState, pathState, type PathState } from '../facts/file-state.js';
import { converging } from '../facts/gather.js';
import type { Change, FileDiff, PlannedModule } from './module.js';
import { absolutePathSchema, groupSchema, modeSchema, ownerSchema } from './schema-parts.js';

export type MkdirArgs = { path: string; mode?: string; owner?: string; group?: string };

/** Ensures a directory exists with the given mode and owner; changed only when something differs. */
export const mkdirModule: PlannedModule<MkdirArgs, MkdirArgs, { dir: PathState }> = {
  kind: 'planned',
  name: 'mkdir',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: { path: absolutePathSchema, mode: modeSchema, owner: ownerSchema, group: groupSchema },
  },
  // Outside check mode `mkdir -p` and the fixes run at once, printing first what they found.
  facts: (args) => ({
    dir: converging(
      factStep(pathState(args.path)),
      reportingWrite(ensureDir(args.path, args), parsePathState),
    ),
  }),
  plan(args: MkdirArgs, { dir: have }, ctx): Change {
    if (have.exists && have.type !== 'directory') {
      throw new TaskFailedError(`${ctx.host}: ${args.path} exists but is a ${have.type}, not a directory`);
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
    return {
      changed: true,
      summary: have.exists
        ? `fix ${differences.join(', ')} of ${args.path}`
        : `create directory ${args.path}${want ? ` (${want})` : ''}`,
      diff,
      data: { ...data, changed: true },
    };
  },
};

function describe(a: MkdirArgs): string {
  return [a.mode && `mode ${a.mode}`, a.owner && `owner ${a.owner}`, a.group && `group ${a.group}`]
    .filter(Boolean)
    .join(', ');
}

const describeHave = (h: PathState & { exists: true }): string =>
  `mode ${h.mode}, owner ${h.owner}, group ${h.group}`;
