import type { SourceLocation } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import type { Condition } from './expression.js';

/** One `serial` step: a host count, or a percentage of the play's hosts (`"30%"`). */
export type SerialStep = number | { percent: number };

/** A task or a handler, validated and with its conditions parsed. */
export interface Task {
  /** The task's `name`, or the module name when it has none. */
  readonly name: string;
  readonly module: string;
  /** Module args as written; strings may hold templates, rendered per host at run time. */
  readonly args: Readonly<Record<string, unknown>>;
  readonly when: readonly Condition[];
  readonly register?: string;
  /** Handler names to notify when the task reports changed. */
  readonly notify: readonly string[];
  /** The task's own tags plus its play's. */
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
  /** Where the task is written, for messages. */
  readonly location: SourceLocation;
}

export interface Play {
  readonly name: string;
  /** Host pattern, resolved against the whole inventory. */
  readonly hosts: string;
  /** Lowest precedence: below every inventory var (role-style defaults). */
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
  readonly tasks: readonly Task[];
  /** In definition order, which is the order they run in. */
  readonly handlers: readonly Task[];
  readonly location: SourceLocation;
}

export interface Playbook {
  readonly file: string;
  readonly plays: readonly Play[];
}
