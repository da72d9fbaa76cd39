import { tagsSelect, type TagFilter } from './tags.js';
import type { Play, Playbook, TaskNode } from './types.js';

export interface ListOptions extends TagFilter {
  /** --list-tasks: each play's tasks that --tags / --skip-tags select. */
  tasks: boolean;
  /** --list-hosts: each play's pattern and hosts. */
  hosts: boolean;
  /** A play's hosts (its pattern, narrowed by --limit), or why they are known only during the run. */
  hostsOf: (play: Play) => readonly string[] | { unknown: string };
}

/**
 * What `--list-tasks` and `--list-hosts` print, in ansible-playbook's layout: per play, its
 * pattern and hosts, and its tasks with their tags (a role's as `role : task`, a block's from
 * every section, an include_tasks as itself: its tasks are read only when a host reaches it).
 * Nothing is connected to.
 */
export function listPlaybook(playbook: Playbook, o: ListOptions): string {
  const lines = ['', `playbook: ${playbook.file}`];
  playbook.plays.forEach((play, i) => {
    lines.push('', `  play #${i + 1} (${play.hosts}): ${play.name}\tTAGS: [${play.tags.join(', ')}]`);
    if (o.hosts) {
      lines.push(`    pattern: ['${play.hosts}']`);
      const hosts = o.hostsOf(play);
      if ('unknown' in hosts) lines.push(`    hosts: ${hosts.unknown}`);
      else lines.push(`    hosts (${hosts.length}):`, ...hosts.map((h) => `      ${h}`));
    }
    if (o.tasks) lines.push('    tasks:', ...taskLines(play.body, o).map((l) => `      ${l}`));
  });
  return `${lines.join('\n')}\n`;
}

function taskLines(nodes: readonly TaskNode[], filter: TagFilter): string[] {
  return nodes.flatMap((node) => {
    if (node.kind === 'block')
      return [node.block, node.rescue, node.always].flatMap((n) => taskLines(n, filter));
    if (!tagsSelect(node.tags, filter)) return [];
    return [`${node.name}\tTAGS: [${node.tags.join(', ')}]`];
  });
}
