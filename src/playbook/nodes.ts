import { ConfigError } from '../errors.js';
import type { Play, Playbook, Task, TaskNode } from './types.js';

/**
 * Walks of a task list's tree (blocks, includes): every task known when the playbook loads, in
 * the order they are written (a block's block, rescue, always; an include of a plain path).
 */
export function* leafTasks(nodes: readonly TaskNode[]): Generator<Task> {
  for (const node of nodes) {
    if (node.kind === 'task') yield node;
    else if (node.kind === 'block') {
      yield* leafTasks(node.block);
      yield* leafTasks(node.rescue);
      yield* leafTasks(node.always);
    } else if (node.static) yield* leafTasks(node.static);
  }
}

/** Whether `task` is in `nodes`, at any depth known when the playbook loads. */
export function containsTask(nodes: readonly TaskNode[], task: Task): boolean {
  for (const t of leafTasks(nodes)) if (t === task) return true;
  return false;
}

/**
 * The task `--start-at-task NAME` starts at: the first, in run order, whose name (or, in a
 * role, `role : name` or the bare name) is NAME; undefined when none is. Tasks of an include
 * whose path is a template are known only during the run, so cannot be started at.
 */
export function findStartTask(playbook: Playbook, name: string): { play: Play; task: Task } | undefined {
  for (const play of playbook.plays) {
    for (const task of leafTasks(play.body)) {
      const prefix = task.role ? `${task.role.name} : ` : undefined;
      const bare = prefix && task.name.startsWith(prefix) ? task.name.slice(prefix.length) : task.name;
      if (task.name === name || bare === name) return { play, task };
    }
  }
  return undefined;
}

/** findStartTask, or a problem naming the playbook (bad input: nothing is connected to). */
export function startTask(playbook: Playbook, name: string): Task {
  const found = findStartTask(playbook, name);
  if (found) return found.task;
  throw new ConfigError([
    {
      file: playbook.file,
      message:
        `--start-at-task "${name}": no task of this playbook has that name ` +
        '(the tasks of an include_tasks whose path is a template are known only during the run)',
    },
  ]);
}
