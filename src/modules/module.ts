import type { Host, Vars } from '../inventory/types.js';
import type { StepRunner } from '../remote/step.js';
import type { Clock } from '../util/clock.js';

/**
 * The module contract (after Ansible's and pyinfra's): a module reads facts from the host,
 * decides what would change, and hands back a closure that makes the change. Every exchange
 * with the host is a step (src/remote/step.ts: a command or request, how to read its answer,
 * whether it reads or writes) run by the runner's one executor, which refuses write steps in
 * check mode. The runner calls `plan` in every mode and `apply` only outside check mode, so
 * `drover plan` and `--check` show exactly what `deploy` would do. Outside check mode a module
 * may instead make its change in `plan` with one write step that reports what it found (see
 * Change.apply).
 */
export interface ModuleContext {
  readonly host: Host;
  /** The host, reached through steps only. */
  readonly steps: StepRunner;
  /** The time and the waits of polls; a fake one in tests. */
  readonly clock: Clock;
  /** Variables visible to this task: inventory vars, play vars, registered results. */
  readonly vars: Vars;
  /**
   * Clear text of every secret `vars` reaches (every host's, through hostvars), to scrub what
   * comes back from a host. A function because it resolves every var of every host: only the
   * paths that show host output ask for it, and the runner computes it once per play (until a
   * result is registered), not once per host and task.
   */
  readonly secrets: () => readonly string[];
  /** True in check mode (`drover plan`, `--check`): only read steps run. */
  readonly check: boolean;
  /** True when diffs are wanted (`--diff`, `drover plan`). */
  readonly diff: boolean;
  /** Directory that relative `src:` paths resolve against (the project root). */
  readonly baseDir: string;
  readonly signal?: AbortSignal;
}

/** Data a task registers (`register: name`), as in Ansible: rc, stdout, stderr, plus module data. */
export type ModuleData = Record<string, unknown>;

export interface FileDiff {
  path: string;
  /** Redacted text before and after; null before means the file does not exist yet. */
  before: string | null;
  after: string;
}

export interface Change {
  changed: boolean;
  /** One line for people, e.g. `write /opt/consul/config/consul.json (mode 0640)`. Redacted. */
  summary: string;
  diff?: readonly FileDiff[];
  /** What the module learned while planning (registered even in check mode). */
  data?: ModuleData;
  /**
   * Makes the change; never called in check mode. Absent when nothing changes, and when the
   * module already made the change while planning: outside check mode a module may read and
   * write in one write step (mkdir, template, copy), one round trip instead of two.
   */
  apply?: () => Promise<ModuleData>;
  /**
   * When true the module only reads (command with a read-only intent, wait_for, consul_verify)
   * and the runner still runs apply() in check mode, where the executor runs its read steps only.
   */
  readOnly?: boolean;
}

export interface Module<A = Record<string, unknown>> {
  /** snake_case, as written in playbooks. */
  readonly name: string;
  /** JSON Schema of the args, after templating; validated by the playbook loader and runner. */
  readonly argsSchema: Readonly<Record<string, unknown>>;
  plan(args: A, ctx: ModuleContext): Promise<Change>;
}

/**
 * A module of any args, as registries and the runner hold them: each module narrows its own
 * args type, and the runner validates args against argsSchema before plan() sees them.
 */
export type AnyModule = Module<any>;
