import type { ConfigProblem } from '../../errors.js';
import { formatPath, type DocPath, type YamlFile } from '../../config/yaml-file.js';

/** What the stages of resolving find wrong (problems) or doubtful (warnings), located in the file. */
export class Findings {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];
  readonly #yaml: YamlFile;

  constructor(yaml: YamlFile) {
    this.#yaml = yaml;
  }

  problem(path: DocPath, message: string): void {
    this.problems.push(this.#yaml.problem(path, message));
  }

  warn(path: DocPath, message: string): void {
    this.warnings.push(this.#yaml.problem(path, message));
  }

  /** `line L:C` of another place, for a message that points back at it. */
  at(path: DocPath): string {
    const loc = this.#yaml.locate(path);
    return loc ? `line ${loc.line}:${loc.column}` : formatPath(path);
  }
}

/** File order, as compilers report: easier to work through than discovery order. */
export function byPosition(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
