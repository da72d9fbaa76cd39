import type { ConfigProblem } from '../../errors.js';
import { formatPath, type DocPath } from '../../config/yaml-file.js';
import type { Source } from './model.js';

/**
 * What the stages of resolving find wrong (problems) or doubtful (warnings), each located in the
 * file it is about: an inventory has several (more than one `-i`, group_vars/ and host_vars/).
 */
export class Findings {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];

  problem(src: Source, path: DocPath, message: string): void {
    this.problems.push(src.problem(path, message));
  }

  warn(src: Source, path: DocPath, message: string): void {
    this.warnings.push(src.problem(path, message));
  }

  /** A problem with a whole file or folder (a group_vars file named after no group). */
  fileProblem(file: string, message: string): void {
    this.problems.push({ file, message });
  }

  /** `line L:C` of another place in the same file, for a message that points back at it. */
  at(src: Source, path: DocPath): string {
    const loc = src.locate(path);
    return loc ? `line ${loc.line}:${loc.column}` : (src.pathText ?? formatPath)(path);
  }
}

/**
 * File order, as compilers report: easier to work through than discovery order. Files keep the
 * order they are read in (`files`: the inventories, then their vars files); within a file, by
 * position.
 */
export function byPosition(
  problems: readonly ConfigProblem[],
  files: readonly string[] = [],
): ConfigProblem[] {
  const rank = (p: ConfigProblem) => {
    const i = files.indexOf(p.file);
    return i < 0 ? files.length : i;
  };
  return [...problems].sort(
    (a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
}
