import type { AnyModule, PlannedModule } from '../modules/module.js';
import { moduleLookup, type ModuleMap } from './module-map.js';
import type { Playbook, Task } from './types.js';

export type GroupByArgs = { key: string };

/** Name of the built-in `group_by` module, which the runner itself interprets. */
export const GROUP_BY = 'group_by';

/**
 * group_by (as in Ansible): puts the host into a group made during the run, so a later play can
 * select exactly the hosts an earlier task picked out, e.g. `hosts: servers:&consul_restart_pending`.
 * The module only names the group; the runner adds the host when the task succeeds. Groups named
 * by a literal `key` anywhere in the playbook exist (empty) from the start of the run, so a play
 * can name one that ends up with no host. Dynamic groups are seen by play patterns and by
 * `groups`; a host's own `group_names` stays what the inventory says.
 */
export const groupByModule: PlannedModule<GroupByArgs> = {
  kind: 'planned',
  name: GROUP_BY,
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['key'],
    properties: {
      key: {
        type: 'string',
        pattern: '^[A-Za-z_][A-Za-z0-9_-]*$',
        description: 'Group to add the host to; made when first used.',
      },
    },
  },
  facts: () => ({}),
  plan: (args) => ({ changed: false, summary: `in group ${args.key}`, data: { group: args.key } }),
};

/** The modules a playbook may use: the given ones plus group_by, which every run knows. */
export function withGroupBy(modules: ModuleMap): ReadonlyMap<string, AnyModule> {
  return new Map([[GROUP_BY, groupByModule as AnyModule], ...moduleLookup(modules)]);
}

/**
 * Every group_by task of the playbook, with the play it is in and the group it names: `key`
 * undefined when templated (the group's name is known only during the run).
 */
export function* groupByTasks(
  playbook: Playbook,
): Generator<{ play: Playbook['plays'][number]; task: Task; key?: string }> {
  for (const play of playbook.plays) {
    for (const task of [...play.tasks, ...play.handlers]) {
      if (task.module !== GROUP_BY) continue;
      const key = task.args['key'];
      yield typeof key === 'string' && !key.includes('{{') ? { play, task, key } : { play, task };
    }
  }
}
