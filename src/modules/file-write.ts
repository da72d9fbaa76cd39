import { createHash } from 'node:crypto';
import { setAttributes, writeFileAtomic, writeFileIfChanged, type Ownership } from '../remote/fs.js';
import { factStep, reportingWrite } from '../facts/fact.js';
import {
  attributeDifferences,
  fileState,
  parseWrittenFileState,
  type FileState,
} from '../facts/file-state.js';
import { checkedStep } from '../remote/step.js';
import { redactText } from '../shell/secret.js';
import type { Change, FileDiff, ModuleContext, ModuleData } from './module.js';
import { redactBefore } from './redact-diff.js';

/** One file the template and copy modules want on the host. */
export interface DesiredFile extends Ownership {
  dest: string;
  /** The exact bytes to write, secrets in clear text. Never shown. */
  content: string;
  /** The same content with secrets as <redacted>: what diffs show. */
  shown: string;
  /** Secrets that may appear in either version of the file, beyond the task's vars. */
  extraSecrets?: readonly string[];
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The two-step write path, for modules that plan several files before writing any: compare with
 * the file on the host (content, mode, owner), show a redacted diff, and hand back an apply()
 * that writes atomically with a backup only when the content differs. A change of mode or owner
 * alone is a chmod/chown, not a rewrite.
 */
export async function planFileWrite(want: DesiredFile, ctx: ModuleContext): Promise<Change> {
  const have = await ctx.steps.run(factStep(fileState(want.dest)));
  const change = describeFileWrite(want, sha256(want.content), have, ctx);
  if (!change.changed) return change;
  const contentChanged = !have.exists || have.content !== want.content;
  return {
    ...change,
    apply: async () => {
      if (contentChanged) {
        await ctx.steps.run(checkedStep('write', writeFileAtomic(want.dest, want), { stdin: want.content }));
      } else {
        const fix = setAttributes(want.dest, want);
        if (fix) await ctx.steps.run(checkedStep('write', fix));
      }
      return { ...change.data, changed: true };
    },
  };
}

/**
 * The one-step write path, for a module that writes one file: outside check mode a single
 * command compares and writes on the host (writeFileIfChanged, the same atomic write and
 * backup) and prints what was there before, from which the change is reported. Check mode
 * only reads.
 */
export async function writeFile(want: DesiredFile, ctx: ModuleContext): Promise<Change> {
  const checksum = sha256(want.content);
  const before = await ctx.steps.run(
    ctx.check
      ? factStep(fileState(want.dest))
      : reportingWrite(
          writeFileIfChanged(want.dest, checksum, want),
          (stdout) => parseWrittenFileState(want.dest, stdout, want.content),
          { stdin: want.content },
        ),
  );
  return describeFileWrite(want, checksum, before, ctx);
}

/**
 * What writing `want` (whose content has the sha256 `checksum`) over `have` changes: the summary,
 * the redacted diff, the registered data.
 */
function describeFileWrite(want: DesiredFile, checksum: string, have: FileState, ctx: ModuleContext): Change {
  const contentChanged = !have.exists || have.content !== want.content;
  const attrs = have.exists ? attributeDifferences(want, have) : [];
  const changed = contentChanged || attrs.length > 0;
  const data: ModuleData = { path: want.dest, changed, checksum };
  if (!changed) return { changed: false, summary: `${want.dest} is up to date`, data };

  const secrets = [...ctx.secrets(), ...(want.extraSecrets ?? [])];
  const diff: FileDiff[] = [];
  if (ctx.diff && contentChanged) {
    diff.push({
      path: want.dest,
      before: have.exists ? redactBefore(have.content, want.shown, secrets) : null,
      after: redactText(want.shown, secrets),
    });
  }
  const what = contentChanged
    ? `${have.exists ? 'update' : 'create'} ${want.dest}`
    : `fix ${attrs.join(', ')} of ${want.dest}`;
  const extras = [want.mode && `mode ${want.mode}`, ownerText(want)].filter(Boolean).join(', ');
  return { changed: true, summary: extras && contentChanged ? `${what} (${extras})` : what, diff, data };
}

function ownerText(o: Ownership): string {
  if (o.owner && o.group) return `owner ${o.owner}:${o.group}`;
  if (o.owner) return `owner ${o.owner}`;
  if (o.group) return `group ${o.group}`;
  return '';
}
