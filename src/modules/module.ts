import type { Host, Vars } from '../inventory/types.js';
import type { Transport } from '../ssh/transport.js';

/**
 * The module contract (after Ansible's and pyinfra's): a module reads facts from the host,
 * decides what would change, and hands back a closure that makes the change. The runner calls
 * `plan` in every mode and `apply` only outside check mode, so `drover plan` and `--check`
 * show exactly what `deploy` would do. Modules whose check can run on the host may instead
 * change in `plan` outside check mode and report what they found and did (see Change.apply).
 */
export interface ModuleContext {
  readonly host: Host;
  readonly transport: Transport;
  /** Variables visible to this task: inventory vars, play vars, registered results. */
  readonly vars: Vars;
  /**
   * Clear text of every secret `vars` reaches (every host's, through hostvars), to scrub what
   * comes back from a host. A function because it resolves every var of every host: only the
   * paths that show host output ask for it, and the runner computes it once per play (until a
   * result is registered), not once per host and task.
   */
  readonly secrets: () => readonly string[];
  /** True in check mode (`drover plan`, `--check`): plan() may read, never write. */
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
   * write in one command (mkdir, template, copy), one round trip instead of two.
   */
  apply?: () => Promise<ModuleData>;
  /**
   * When true the module only reads (command with a read-only intent, wait_for, consul_verify)
   * and the runner still runs apply() in check mode.
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
