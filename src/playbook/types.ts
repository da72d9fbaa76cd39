import type { SourceLocation } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import type { Condition } from './expression.js';

/** One `serial` step: a host count, or a percentage of the play's hosts (`"30%"`). */
export type SerialStep = number | { percent: number };

/**
 * The `vars:` of a block, an import or include, a role entry or a task itself: seen by the
 * tasks inside it, above play vars and below registered results. Where it is written is kept
 * by source.ts (placeOf), for messages.
 */
export interface VarScope {
  readonly vars: Vars;
}

/** A task's `loop:` with its `loop_control`. */
export interface Loop {
  /** As written: a YAML list (whose strings may be templates) or a template that renders to a list. */
  readonly items: unknown;
  /** The var that holds the current item (`loop_control.loop_var`, default `item`). */
  readonly loopVar: string;
  /** The var that holds the current item's index, from 0 (`loop_control.index_var`). */
  readonly indexVar?: string;
  /** How an item is shown in output (`loop_control.label`, a template); default the item itself. */
  readonly label?: string;
}

/** The role a task or handler comes from. */
export interface RoleRef {
  readonly name: string;
  /** The role's folder (`roles/NAME`): relative template and copy sources are looked up in it first. */
  readonly dir: string;
}

/**
 * What the tasks inside a block, an import, an include or a role get from around them: the
 * conditions (all must hold, outermost first), the tags, the var scopes, and the keys a block
 * gives its tasks unless they set their own.
 */
export interface Inherited {
  readonly when: readonly Condition[];
  readonly tags: readonly string[];
  readonly scopes: readonly VarScope[];
  readonly ignoreErrors?: boolean;
  readonly checkMode?: boolean;
  readonly role?: RoleRef;
}

/** A task or a handler, validated and with its conditions parsed. */
export interface Task {
  readonly kind: 'task';
  /** The task's `name` (`role : name` in a role), or the module name when it has none. */
  readonly name: string;
  readonly module: string;
  /** Module args as written; strings may hold templates, rendered per host at run time. */
  readonly args: Readonly<Record<string, unknown>>;
  /** Its own conditions after those of the blocks, imports and role around it: all must hold. */
  readonly when: readonly Condition[];
  readonly register?: string;
  /** Handler names to notify when the task reports changed. */
  readonly notify: readonly string[];
  /** The task's own tags plus those around it (play, blocks, imports, role). */
  readonly tags: readonly string[];
  /** Attempts after the first while `until` does not hold (Ansible's default: 3). */
  readonly retries: number;
  /** Seconds between attempts (Ansible's default: 5). */
  readonly delay: number;
  readonly until?: readonly Condition[];
  readonly ignoreErrors: boolean;
  readonly changedWhen?: readonly Condition[];
  readonly failedWhen?: readonly Condition[];
  /** `check_mode: false`: the task really runs even in check mode. */
  readonly runInCheckMode: boolean;
  /**
   * `check_mode: true`: the task only plans, even in a real run; its registered `changed` says
   * whether it would change something (e.g. "would this container be recreated?").
   */
  readonly alwaysCheckMode?: boolean;
  readonly runOnce: boolean;
  /** `loop:`: the task runs once per item, and registers `results`, one per item. */
  readonly loop?: Loop;
  /** The var scopes around the task and its own `vars:`, outermost first (inner ones win). */
  readonly scopes: readonly VarScope[];
  readonly role?: RoleRef;
  /** Where the task is written, for messages. */
  readonly location: SourceLocation;
}

/**
 * `block:` with its `rescue:` and `always:`. Its `when`, `tags`, `vars`, `ignore_errors` and
 * `check_mode` are compiled into the tasks inside it; at run time the block only decides which
 * section runs on which host (see runner/run-block.ts).
 */
export interface Block {
  readonly kind: 'block';
  readonly name: string;
  readonly block: readonly TaskNode[];
  readonly rescue: readonly TaskNode[];
  readonly always: readonly TaskNode[];
  readonly location: SourceLocation;
}

/**
 * `include_tasks: FILE`: a task list read when the run reaches it, per host (the path may be a
 * template). Its own `when` and `tags` decide whether it runs; the tasks of the file get what is
 * around the include (`inherit`), its `vars:` and the tags of its `apply:`.
 */
export interface IncludeTasks {
  readonly kind: 'include';
  readonly name: string;
  /** The file as written, relative to the file the include is written in; may be a template. */
  readonly file: string;
  /** The folder of the file the include is written in. */
  readonly dir: string;
  /** Its own conditions after those around it. */
  readonly when: readonly Condition[];
  readonly tags: readonly string[];
  /** The scopes around it and its own `vars:`: its condition and path see them, and so do the included tasks. */
  readonly scopes: readonly VarScope[];
  /** What the tasks of the file get from around the include. */
  readonly inherit: Inherited;
  /** The play's handler names, which the included tasks may notify. */
  readonly handlers: readonly string[];
  /** The files the include is written inside of, outermost first (resolved): one of them again is a cycle. */
  readonly chain: readonly string[];
  /** The file's tasks, compiled when the playbook loads, when `file` is not a template. */
  readonly static?: readonly TaskNode[];
  readonly location: SourceLocation;
}

/** What a task list holds. */
export type TaskNode = Task | Block | IncludeTasks;

export interface Play {
  readonly name: string;
  /** Host pattern, resolved against the whole inventory. */
  readonly hosts: string;
  /** The play's own `tags` (already added to each of its tasks); shown by --list-tasks. */
  readonly tags: readonly string[];
  /** The play's `roles`, by name, in order. */
  readonly roles: readonly string[];
  /**
   * Lowest precedence: below every inventory var (role-style defaults). The `defaults` of the
   * play's roles are under the play's own.
   */
  readonly defaults: Vars;
  /** Above inventory vars, below registered results. */
  readonly vars: Vars;
  /** Batch sizes; empty means the whole play in one batch. The last step repeats. */
  readonly serial: readonly SerialStep[];
  /**
   * `serial` written as a template (`"{{ consul_roll_serial }}"`): rendered when the play starts,
   * with the vars of its first host; `serial` is then empty.
   */
  readonly serialTemplate?: string;
  /**
   * `order`: how the hosts not yet run are ordered before each batch: `inventory` (default),
   * `reverse_inventory`, `sorted`, `reverse_sorted`, or the name of an orderer given to the runner
   * (e.g. `consul_leader_last`).
   */
  readonly order?: string;
  /** Abort when more than this percentage of a batch fails (exceeded, not equalled). */
  readonly maxFailPercentage?: number;
  readonly anyErrorsFatal: boolean;
  /** What the play runs, in order: its roles' tasks, then its own; blocks and includes as written. */
  readonly body: readonly TaskNode[];
  /**
   * Every task of `body` known when the playbook loads, in order, as one list: those of blocks
   * (block, rescue, always), imports, roles and includes of a plain path. For readers that look
   * a task up (checks, summaries); the runner runs `body`.
   */
  readonly tasks: readonly Task[];
  /** The roles' handlers, then the play's, in definition order, which is the order they run in. */
  readonly handlers: readonly Task[];
  readonly location: SourceLocation;
}

export interface Playbook {
  readonly file: string;
  /** Every play, those of `import_playbook` in their place. */
  readonly plays: readonly Play[];
}
