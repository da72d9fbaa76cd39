import { TaskFailedError } from '../errors.js';
import type { AnyModule } from '../modules/module.js';
import { conditionsHold, ExpressionError } from '../playbook/expression.js';
import { compileIncludedFile } from '../playbook/task-list.js';
import type { IncludeTasks, TaskNode } from '../playbook/types.js';
import { isTemplated } from '../template/render.js';
import type { PlayVars } from './host-vars.js';

/**
 * What an include_tasks does on one host: whether its condition holds, and if so the file it
 * names (rendered for the host) and that file's tasks. `vars` are the include's own (its
 * scopes: PlayVars.forScopes). Throws what is wrong, naming the include.
 */
export function includeTarget(
  inc: IncludeTasks,
  vars: PlayVars,
  host: string,
  known: ReadonlyMap<string, AnyModule>,
): { skip: string } | { file: string; nodes: readonly TaskNode[] } {
  const view = vars.view(host);
  try {
    const unmet = inc.when.find((c) => !conditionsHold([c], view));
    if (unmet) return { skip: `skipped: condition "${unmet.source}" is false` };
  } catch (err) {
    if (err instanceof ExpressionError) throw new TaskFailedError(`${inc.name}: ${err.message}`);
    throw err;
  }
  const file = includeFile(inc, vars, host);
  return { file, nodes: inc.static ?? compileIncludedFile(inc, file, known) };
}

/** The file an include names for `host`: its path, rendered when it is a template. */
export function includeFile(inc: IncludeTasks, vars: PlayVars, host: string): string {
  if (!isTemplated(inc.file)) return inc.file;
  const file = vars.render(host, inc.file, `${inc.name} path`);
  if (typeof file !== 'string' || file.trim() === '') {
    throw new TaskFailedError(`${inc.name}: the path "${inc.file}" must render to a file name`);
  }
  return file;
}
