import { createHash } from 'node:crypto';
import { setAttributes, writeFileAtomic, type Ownership } from '../commands/fs.js';
import { fileState, normalizeMode, sameOwner, type FileState } from '../facts/file-state.js';
import { gather } from '../facts/fact.js';
import { redactText } from '../shell/secret.js';
import type { Change, FileDiff, ModuleContext, ModuleData } from './module.js';
import { redactBefore } from './redact-diff.js';
import { runChecked } from './run-checked.js';
import { secretsIn } from './secrets-in.js';

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
 * The shared write path: compare with the file on the host (content, mode, owner), show a
 * redacted diff, and write atomically with a backup only when the content differs. A change of
 * mode or owner alone is a chmod/chown, not a rewrite.
 */
export async function planFileWrite(want: DesiredFile, ctx: ModuleContext): Promise<Change> {
  const have = await gather(ctx.transport, fileState(want.dest));
  const contentChanged = !have.exists || have.content !== want.content;
  const attrs = attributeChanges(want, have);
  const changed = contentChanged || attrs.length > 0;
  const checksum = sha256(want.content);
  const data: ModuleData = { path: want.dest, changed, checksum };
  if (!changed) return { changed: false, summary: `${want.dest} is up to date`, data };

  const secrets = [...secretsIn(ctx.vars), ...(want.extraSecrets ?? [])];
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
  return {
    changed: true,
    summary: extras && contentChanged ? `${what} (${extras})` : what,
    diff,
    data,
    apply: async () => {
      if (contentChanged) {
        await runChecked(ctx, writeFileAtomic(want.dest, want), { stdin: want.content });
      } else {
        const fix = setAttributes(want.dest, want);
        if (fix) await runChecked(ctx, fix);
      }
      return { ...data, changed: true };
    },
  };
}

function attributeChanges(want: Ownership, have: FileState): string[] {
  if (!have.exists) return [];
  const out: string[] = [];
  if (want.mode && normalizeMode(want.mode) !== normalizeMode(have.mode))
    out.push(`mode ${have.mode} -> ${want.mode}`);
  if (want.owner && !sameOwner(want.owner, have.uid, have.owner))
    out.push(`owner ${have.owner} -> ${want.owner}`);
  if (want.group && !sameOwner(want.group, have.gid, have.group))
    out.push(`group ${have.group} -> ${want.group}`);
  return out;
}

function ownerText(o: Ownership): string {
  if (o.owner && o.group) return `owner ${o.owner}:${o.group}`;
  if (o.owner) return `owner ${o.owner}`;
  if (o.group) return `group ${o.group}`;
  return '';
}
