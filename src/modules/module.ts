import type { Host, Vars } from '../inventory/types.js';
import type { FactRequests } from '../facts/gather.js';
import type { Step, StepRunner } from '../remote/step.js';
import type { Clock } from '../util/clock.js';

/**
 * The module contract (after pyinfra's operations). A module is one of two kinds, and says which
 * in `kind`:
 *
 * - planned: the module names the facts it needs as read steps (`facts`, a function of its args
 *   and host), and `plan` is a pure function of the args and those facts that returns the Change,
 *   the steps that make it included, as data. The runner gathers the facts through its one
 *   executor, calls plan, and outside check mode runs the Change's steps. Check mode runs the
 *   read steps only, by construction, so `drover plan` and `--check` show exactly what `deploy`
 *   would do. A file module may name a converging fact instead (facts/gather.ts): one write step
 *   that makes the change and reports what it found, one round trip instead of two.
 *
 * - conversation: `run` talks with the host step by step, each step chosen by the answers
 *   before it: a poll until a deadline (wait_for, consul_gate, consul_member alive), a read of
 *   the cluster through each server's API in turn, each answer deciding what is asked next
 *   (consul_preflight, consul_verify, consul_member reset_safe), a write sent to one server after
 *   the other until one takes it (consul_member's force-leave), and a clock read timed against
 *   this machine's (consul_host_preflight). None has a fixed set of facts to gather before
 *   planning, so none can be a one-shot pure plan. A conversation reaches the host through
 *   `ctx.steps` only, and in check mode that executor refuses every write step: it may ask,
 *   never change.
 *
 * AnyModule is a module of any args, as registries and the runner hold them: each module
 * narrows its own args type, and the runner validates args against argsSchema first.
 */
export type AnyModule = PlannedModule<any, any, any> | ConversationModule<any>;

interface ModuleBase {
  /** snake_case, as written in playbooks. */
  readonly name: string;
  /** JSON Schema of the args, after templating; validated by the playbook loader and runner. */
  readonly argsSchema: Readonly<Record<string, unknown>>;
}

/**
 * A module whose work is a plan: `want` is what the task asks for (its args, or what `desired`
 * made of them), `F` the facts plan reads.
 */
export interface PlannedModule<
  A = Record<string, unknown>,
  W = A,
  F = Record<string, unknown>,
> extends ModuleBase {
  readonly kind: 'planned';
  /**
   * What the task wants, from its args and the project's files (a template rendered, a local
   * file read, a rendered config checked against its schema). Absent when the args say it all.
   * It reads this machine only, never the host.
   */
  desired?(args: A, ctx: LocalContext): Promise<W>;
  /** The facts plan needs, in the order they are gathered. */
  facts(want: W, ctx: PlanContext): FactRequests<F>;
  /** Pure: the same want and facts give the same Change, in check mode and out of it. */
  plan(want: W, facts: F, ctx: PlanContext): Change;
}

/** A module that talks with its host step by step; see AnyModule for which modules are and why. */
export interface ConversationModule<A = Record<string, unknown>> extends ModuleBase {
  readonly kind: 'conversation';
  /** Asks (and, outside check mode, changes) through ctx.steps; reports what it did. */
  run(args: A, ctx: ConversationContext): Promise<Outcome>;
}

/** What plan sees: no host, no clock, no file system. */
export interface PlanContext {
  /** The inventory host, for messages. */
  readonly host: string;
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
}

/** What `desired` sees: the plan's view plus the project, to read templates and files from. */
export interface LocalContext extends PlanContext {
  /** Directory that relative `src:` paths resolve against (the project root). */
  readonly baseDir: string;
}

/** What a conversation sees: the host through steps, the clock of its polls. */
export interface ConversationContext extends Omit<LocalContext, 'host'> {
  readonly host: Host;
  /** The host, reached through steps only. */
  readonly steps: StepRunner;
  /** The time and the waits of polls; a fake one in tests. */
  readonly clock: Clock;
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

/** What a module reports: what changed (or would), for people and for `register`. */
export interface Outcome {
  changed: boolean;
  /** One line for people, e.g. `write /opt/consul/config/consul.json (mode 0640)`. Redacted. */
  summary: string;
  diff?: readonly FileDiff[];
  /** What the module learned (registered even in check mode). */
  data?: ModuleData;
}

/** A planned module's outcome and the steps that make it. */
export interface Change extends Outcome {
  /**
   * Run in order after plan, outside check mode (in check mode too when every one only reads: a
   * read-only command); what each answers joins the registered data. Absent when there is
   * nothing to do, and when a converging fact already made the change. Steps that change
   * nothing lasting may come with `changed: false` (consul_config_check's validation in a
   * scratch dir).
   */
  steps?: readonly Step<ModuleData | void>[];
}
