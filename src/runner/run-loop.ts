import { TaskFailedError } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import type { Loop, Task } from '../playbook/types.js';
import { Secret } from '../shell/secret.js';
import type { PlayVars } from './host-vars.js';
import type { HostTaskResult, TaskRunInput } from './run-task.js';

/**
 * `loop:` as Ansible runs it (playbooks_loops): the task once per item, on one host, the item in
 * `loop_var` (default `item`); `when`, `until`/`retries`, `changed_when` and `failed_when` are
 * judged per item. Every item runs even when one fails; the task then failed. What it registers
 * is Ansible's: `results`, one per item (each with the item under its loop_var and
 * `ansible_loop_var`), `changed` when any item changed, `failed` when any failed, and `msg`.
 */

/** The loop's items for `host`: its list, rendered; an error says what it gave when that is no list. */
export function loopItems(task: Task, vars: PlayVars, host: string): unknown[] {
  const loop = task.loop as Loop;
  const items = vars.render(host, loop.items, `task "${task.name}" loop`);
  if (!Array.isArray(items)) {
    throw new TaskFailedError(`task "${task.name}": loop must be a list, but it is ${kind(items)}`);
  }
  return items;
}

/** The vars of one item: its `loop_var`, and its `index_var` when the loop names one. */
export function itemVars(loop: Loop, item: unknown, index: number): Vars {
  return { [loop.loopVar]: item, ...(loop.indexVar ? { [loop.indexVar]: index } : {}) };
}

/** How an item is shown: `loop_control.label` rendered with the item's vars, else the item itself. */
export function itemLabel(task: Task, vars: PlayVars, host: string, item: unknown): string {
  const label = task.loop?.label;
  if (label !== undefined) return String(vars.render(host, label, `task "${task.name}" loop_control.label`));
  // A Secret (or one inside the item) shows redacted, as everywhere.
  return typeof item === 'string' || item instanceof Secret ? String(item) : JSON.stringify(item);
}

export async function runLoop(
  input: TaskRunInput,
  items: readonly unknown[],
  runItem: (input: TaskRunInput) => Promise<HostTaskResult>,
): Promise<HostTaskResult> {
  const { task, host } = input;
  const loop = task.loop as Loop;
  if (items.length === 0) {
    const msg = 'skipped: the loop has no items';
    return {
      status: 'skipped',
      message: msg,
      registered: {
        changed: false,
        failed: false,
        skipped: true,
        skipped_reason: 'No items in the list',
        msg,
        results: [],
      },
    };
  }
  const results: Record<string, unknown>[] = [];
  const statuses: HostTaskResult['status'][] = [];
  const lines: string[] = [];
  const diffs: string[] = [];
  let gate = false;
  for (const [index, item] of items.entries()) {
    if (input.signal?.aborted) {
      statuses.push('failed');
      lines.push(`interrupted before item ${index + 1} of ${items.length}`);
      break;
    }
    const vars = input.vars.withLoop(itemVars(loop, item, index));
    let label: string;
    let r: HostTaskResult;
    try {
      label = itemLabel(task, vars, host.name, item);
      r = await runItem({ ...input, vars });
    } catch (err) {
      // A label that does not render is the item's failure (runItem itself never throws).
      label = `#${index}`;
      const msg = err instanceof Error ? err.message : String(err);
      r = {
        status: 'failed',
        message: msg,
        registered: { changed: false, failed: true, skipped: false, msg },
      };
    }
    // The connection is gone: no later item can run either.
    if (r.status === 'unreachable') return r;
    statuses.push(r.status);
    if (r.gate) gate = true;
    if (r.diff) diffs.push(r.diff);
    const said = r.message !== undefined && r.status !== 'skipped' ? ` - ${r.message}` : '';
    lines.push(`${r.status} (item=${label})${said}`);
    results.push({
      ...r.registered,
      [loop.loopVar]: item,
      ansible_loop_var: loop.loopVar,
      ...(loop.indexVar ? { [loop.indexVar]: index, ansible_index_var: loop.indexVar } : {}),
    });
  }
  const failed = statuses.includes('failed');
  const changed = statuses.includes('changed');
  const skipped = statuses.every((s) => s === 'skipped');
  const msg = failed ? 'One or more items failed' : skipped ? 'All items skipped' : 'All items completed';
  return {
    status: failed ? 'failed' : changed ? 'changed' : skipped ? 'skipped' : 'ok',
    message: lines.join('\n'),
    ...(diffs.length > 0 ? { diff: diffs.join('\n') } : {}),
    ...(failed && gate ? { gate: true } : {}),
    registered: { changed, failed, skipped, msg, results },
  };
}

function kind(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (typeof v === 'string' || v instanceof Secret) return 'a string';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}
