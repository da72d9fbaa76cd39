import { createHash } from 'node:crypto';
import { setAttributes, writeFileAtomic, writeFileIfChanged, type Ownership } from '../remote/fs.js';
import { factStep, reportingWrite } from '../facts/fact.js';
import {
  attributeDifferences,
  fileState,
  parseWrittenFileState,
  type FileState,
} from '../facts/file-state.js';
import { converging, type Converging } from '../facts/gather.js';
import { checkedStep, effectOnly, type Step } from '../remote/step.js';
import { redactText } from '../shell/secret.js';
import type { Change, FileDiff, ModuleData, PlanContext } from './module.js';
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

/** The facts of a module that puts one file on its host. */
export interface FileFacts {
  file: FileState;
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The one-step write, for a module that writes one file: outside check mode a single command
 * compares and writes on the host (writeFileIfChanged: an atomic write with a backup, only when
 * the bytes differ) and prints what was there before; check mode reads the file instead.
 */
export function convergingFile(want: DesiredFile): Converging<FileState> {
  return converging(
    factStep(fileState(want.dest)),
    reportingWrite(
      writeFileIfChanged(want.dest, sha256(want.content), want),
      (stdout) => parseWrittenFileState(want.dest, stdout, want.content),
      { stdin: want.content },
    ),
  );
}

/**
 * The two-step write, for a module that plans several files before writing any: the steps that
 * put `want` over `have`, an atomic write with a backup when the content differs; a change of
 * mode or owner alone is a chmod/chown, not a rewrite.
 */
export function fileWriteSteps(want: DesiredFile, have: FileState): Step<void>[] {
  if (!have.exists || have.content !== want.content) {
    return [effectOnly(checkedStep('write', writeFileAtomic(want.dest, want), { stdin: want.content }))];
  }
  const fix = setAttributes(want.dest, want);
  return fix ? [effectOnly(checkedStep('write', fix))] : [];
}

/** What writing `want` over `have` changes: the summary, the redacted diff, the registered data. */
export function describeFileWrite(
  want: DesiredFile,
  have: FileState,
  ctx: Pick<PlanContext, 'secrets' | 'diff'>,
): Change {
  const contentChanged = !have.exists || have.content !== want.content;
  const attrs = have.exists ? attributeDifferences(want, have) : [];
  const changed = contentChanged || attrs.length > 0;
  const data: ModuleData = { path: want.dest, changed, checksum: sha256(want.content) };
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
