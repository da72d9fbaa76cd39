import { describeAjvErrors, objectValidator } from '../config/schema.js';
import { CommandFailedError, DroverError, GateError, TaskFailedError, UnreachableError } from '../errors.js';
import type { Host } from '../inventory/types.js';
import { gatherFacts } from '../facts/gather.js';
import type {
  AnyModule,
  Change,
  ConversationContext,
  FileDiff,
  ModuleData,
  Outcome,
  PlanContext,
  PlannedModule,
} from '../modules/module.js';
import { conditionsHold, ExpressionError, type Condition } from '../playbook/expression.js';
import { withRoleFiles } from '../playbook/roles.js';
import type { Task } from '../playbook/types.js';
import { redactText } from '../shell/secret.js';
import type { Transport } from '../ssh/transport.js';
import { revealSecrets, secretTexts } from '../shell/secret.js';
import type { Clock } from '../util/clock.js';
import { coerceTemplatedArgs } from './coerce-args.js';
import { unifiedDiffs } from './diff.js';
import type { PlayVars } from './host-vars.js';
import type { TaskStatus } from './reporter.js';
import { loopItems, runLoop } from './run-loop.js';
import { StepExecutor } from './step-executor.js';

/** What one task did on one host. */
export interface HostTaskResult {
  status: TaskStatus;
  message?: string;
  diff?: string;
  /** Failed, but `ignore_errors` let the host go on. */
  ignoredError?: boolean;
  /** Failed because a safety gate (GateError: pre-flight, health gate) refused: the run must stop. */
  gate?: boolean;
  /** What `register` stores: changed, failed, skipped, msg, rc/stdout/stderr and module data. */
  registered: Record<string, unknown>;
}

export interface TaskRunInput {
  task: Task;
  host: Host;
  /** The task's vars (its scopes included: PlayVars.forScopes). */
  vars: PlayVars;
  module: AnyModule | undefined;
  transport: () => Promise<Transport>;
  check: boolean;
  diff: boolean;
  baseDir: string;
  signal?: AbortSignal;
  clock: Clock;
  note: (message: string, host?: string) => void;
}

/** One attempt's outcome before the task-level rules (until, ignore_errors) apply. */
interface Attempt {
  result: Record<string, unknown>;
  failed: boolean;
  changed: boolean;
  /** Check mode planned a write and did not make it: conditions on the result cannot be judged. */
  pendingWrite: boolean;
  diffs: readonly FileDiff[];
  /** The module threw a GateError. */
  gate?: boolean;
}

/**
 * Runs one task on one host: `when`, templated args, args validation, the module (performModule;
 * in check mode only its reads, unless the task says `check_mode: false`), `changed_when`,
 * `failed_when`, `until`/`retries`/`delay`; with a `loop`, all of that once per item
 * (run-loop.ts), then `ignore_errors`. Never throws: every problem is a result.
 */
export async function runTaskOnHost(input: TaskRunInput): Promise<HostTaskResult> {
  if (!input.task.loop) return finish(input, await runOnce(input));
  let items: unknown[];
  try {
    items = loopItems(input.task, input.vars, input.host.name);
  } catch (err) {
    return finish(input, failedResult(err, input.task, secretTexts(input.host.vars)));
  }
  return finish(input, await runLoop(input, items, runOnce));
}

function failedResult(err: unknown, task: Task, secrets: Set<string>): HostTaskResult {
  const msg = redactText(describeError(err, task), secrets);
  return {
    status: 'failed',
    message: msg,
    registered: { changed: false, failed: true, skipped: false, msg },
  };
}

/** The task once (one item of a loop): everything but `ignore_errors`. */
async function runOnce(input: TaskRunInput): Promise<HostTaskResult> {
  const { task, host, vars } = input;
  // Secrets we know of, to scrub messages that did not come from drover's own (redacted) errors.
  const secrets = secretTexts(host.vars);
  const failed = (err: unknown): HostTaskResult => failedResult(err, task, secrets);

  try {
    if (!conditionsHold(task.when, vars.view(host.name))) {
      const msg = `skipped: condition "${firstFalse(task.when, vars.view(host.name))}" is false`;
      return {
        status: 'skipped',
        message: msg,
        registered: { changed: false, failed: false, skipped: true, msg },
      };
    }
  } catch (err) {
    return failed(err);
  }
  if (!input.module) return failed(new TaskFailedError(`unknown module "${task.module}"`));
  const module = input.module;

  let args: Record<string, unknown>;
  try {
    const rendered = vars.render(host.name, task.args, `task "${task.name}" args`) as Record<string, unknown>;
    args = withRoleFiles(task, coerceTemplatedArgs(task.args, rendered, module.argsSchema));
    for (const s of secretTexts(args)) secrets.add(s);
    // Validate the clear values (patterns on keys must see the real text); messages never quote values.
    const validate = objectValidator(module.argsSchema);
    if (!validate(revealSecrets(args))) {
      const why = describeAjvErrors(validate.errors ?? []).map(
        (e) => `${e.path.join('.') || 'args'}: ${e.message}`,
      );
      throw new TaskFailedError(`invalid args for module "${module.name}": ${why.join('; ')}`);
    }
  } catch (err) {
    return failed(err);
  }

  let transport: Transport;
  try {
    transport = await input.transport();
  } catch (err) {
    return unreachable(input, err, secrets);
  }

  const check = task.alwaysCheckMode === true || (input.check && !task.runInCheckMode);
  const taskSecrets = () => vars.secretTexts();
  const ctx: ConversationContext = {
    host,
    steps: new StepExecutor(transport, check, taskSecrets),
    clock: input.clock,
    vars: vars.view(host.name),
    secrets: taskSecrets,
    check,
    diff: input.diff,
    baseDir: input.baseDir,
    ...(input.signal ? { signal: input.signal } : {}),
  };

  const attempts = task.until ? task.retries + 1 : 1;
  let attempt: Attempt | undefined;
  for (let n = 1; n <= attempts; n++) {
    try {
      attempt = await attemptOnce(module, args, ctx);
    } catch (err) {
      if (err instanceof UnreachableError) return unreachable(input, err, secrets);
      attempt = failedAttempt(err, task, secrets);
    }
    try {
      if (attempt.pendingWrite) break;
      applyOverrides(input, attempt);
      if (!task.until) break;
      attempt.result['attempts'] = n;
      if (conditionsHold(task.until, withResult(input, attempt.result))) break;
      if (n === attempts) {
        attempt.failed = true;
        attempt.result['failed'] = true;
        // The last attempt's own words say why (which check, which node); the count says how long.
        const why = typeof attempt.result['msg'] === 'string' ? attempt.result['msg'].trim() : '';
        const until = `until "${task.until.map((c) => c.source).join(' and ')}" still false after ${attempts} attempts`;
        attempt.result['msg'] = why ? `${why}\n(${until})` : until;
        break;
      }
      input.note(
        `retrying "${task.name}" (attempt ${n + 1} of ${attempts}, next in ${task.delay}s)`,
        host.name,
      );
      // An interruption ends the wait early; the check below turns it into the task's failure.
      await input.clock.sleep(task.delay * 1000, input.signal).catch(() => undefined);
      if (input.signal?.aborted) return failed(new TaskFailedError('interrupted while waiting to retry'));
    } catch (err) {
      return failed(err);
    }
  }
  const a = attempt as Attempt;
  const msg = typeof a.result['msg'] === 'string' ? redactText(a.result['msg'], secrets) : undefined;
  const shownDiff = input.diff && a.diffs.length > 0 ? unifiedDiffs(a.diffs) : '';
  return {
    status: a.failed ? 'failed' : a.changed ? 'changed' : 'ok',
    ...(a.failed && a.gate ? { gate: true } : {}),
    ...(msg ? { message: msg } : {}),
    ...(shownDiff ? { diff: shownDiff } : {}),
    registered: { ...a.result, ...(msg !== undefined ? { msg } : {}) },
  };
}

async function attemptOnce(
  module: AnyModule,
  args: Record<string, unknown>,
  ctx: ConversationContext,
): Promise<Attempt> {
  const { outcome, data, pendingWrite } = await performModule(module, args, ctx);
  return {
    result: { ...data, changed: outcome.changed, failed: false, skipped: false, msg: outcome.summary },
    failed: false,
    changed: outcome.changed,
    pendingWrite,
    diffs: outcome.diff ?? [],
  };
}

/** What a module did on its host, before the task-level rules. */
export interface Performed {
  outcome: Outcome;
  /** What the task registers: the module's data, with what its steps answered. */
  data: ModuleData;
  /** Check mode left a change unmade: conditions on the result cannot be judged. */
  pendingWrite: boolean;
}

/**
 * Runs one module the way a task does: a conversation converses; a planned module has its facts
 * gathered, is planned, and has its Change's steps run. In check mode they run only when every
 * one reads (a read-only command), and the executor refuses any write anyway.
 */
export async function performModule(
  module: AnyModule,
  args: Record<string, unknown>,
  ctx: ConversationContext,
): Promise<Performed> {
  if (module.kind === 'conversation') {
    const outcome = await module.run(args, ctx);
    // A conversation cannot have written in check mode: a change it reports is still to be made.
    return { outcome, data: { ...outcome.data }, pendingWrite: ctx.check && outcome.changed };
  }
  const change = await planOnHost(module, args, ctx);
  const steps = change.steps ?? [];
  const onlyReads = steps.length > 0 && steps.every((s) => s.effect === 'read');
  const data: ModuleData = { ...change.data };
  const run = ctx.check ? onlyReads : steps.length > 0;
  if (run) for (const step of steps) Object.assign(data, await ctx.steps.run(step));
  return { outcome: change, data, pendingWrite: ctx.check && change.changed && !onlyReads };
}

/**
 * A planned module's Change for this host: what it wants, its facts gathered through the
 * executor (a converging fact's write runs here, outside check mode), then its pure plan.
 */
export async function planOnHost(
  module: PlannedModule<any, any, any>,
  args: Record<string, unknown>,
  ctx: ConversationContext,
): Promise<Change> {
  const view: PlanContext = {
    host: ctx.steps.host,
    vars: ctx.vars,
    secrets: ctx.secrets,
    check: ctx.check,
    diff: ctx.diff,
  };
  const want: unknown = module.desired ? await module.desired(args, { ...view, baseDir: ctx.baseDir }) : args;
  const facts: unknown = await gatherFacts(module.facts(want, view), ctx.steps, ctx.check);
  return module.plan(want, facts, view);
}

/** A module error becomes a failed result that `failed_when` and `until` can still look at. */
function failedAttempt(err: unknown, task: Task, secrets: Set<string>): Attempt {
  const msg = redactText(describeError(err, task), secrets);
  const result: Record<string, unknown> = { changed: false, failed: true, skipped: false, msg };
  if (err instanceof CommandFailedError) {
    Object.assign(result, { rc: err.code, stdout: err.stdout, stderr: err.stderr });
  }
  return {
    result,
    failed: true,
    changed: false,
    pendingWrite: false,
    diffs: [],
    ...(err instanceof GateError ? { gate: true } : {}),
  };
}

function applyOverrides(input: TaskRunInput, a: Attempt): void {
  const { task } = input;
  if (task.changedWhen) {
    a.changed = conditionsHold(task.changedWhen, withResult(input, a.result));
    a.result['changed'] = a.changed;
  }
  if (task.failedWhen) {
    const nowFailed = conditionsHold(task.failedWhen, withResult(input, a.result));
    if (nowFailed && !a.failed) a.result['msg'] = `failed_when "${sources(task.failedWhen)}" holds`;
    // A gate's refusal that failed_when overrules is no longer a reason to stop the run.
    if (!nowFailed) a.gate = false;
    a.failed = nowFailed;
    a.result['failed'] = nowFailed;
  }
}

/** The host's vars plus this attempt's result under the `register` name (as Ansible exposes it). */
function withResult(input: TaskRunInput, result: Record<string, unknown>): Record<string, unknown> {
  const view = input.vars.view(input.host.name);
  if (!input.task.register) return view;
  // The view is shared by the host's tasks: this attempt's result goes on a copy (its getters).
  const scope = Object.defineProperties({}, Object.getOwnPropertyDescriptors(view));
  Object.defineProperty(scope, input.task.register, { value: result, enumerable: true, configurable: true });
  return scope;
}

function finish(input: TaskRunInput, r: HostTaskResult): HostTaskResult {
  if (r.status === 'failed' && input.task.ignoreErrors) return { ...r, ignoredError: true };
  return r;
}

function unreachable(input: TaskRunInput, err: unknown, secrets: Set<string>): HostTaskResult {
  if (!(err instanceof UnreachableError)) {
    // connect() failing for another reason (bad key path, ...) is a failure of this host, not the network.
    return {
      status: 'failed',
      message: redactText(`cannot connect: ${describeError(err, input.task)}`, secrets),
      registered: { changed: false, failed: true, skipped: false },
    };
  }
  const msg = redactText(err.message, secrets);
  return {
    status: 'unreachable',
    message: msg,
    registered: { changed: false, failed: false, unreachable: true, msg },
  };
}

function describeError(err: unknown, task: Task): string {
  if (err instanceof DroverError) return err.message;
  if (err instanceof ExpressionError) return `task "${task.name}": ${err.message}`;
  // Anything else is a bug or a library error: wrap it, naming the module, so the host fails cleanly.
  const text = err instanceof Error ? err.message : String(err);
  return `module "${task.module}" failed: ${text}`;
}

function firstFalse(conditions: readonly Condition[], vars: Record<string, unknown>): string {
  return conditions.find((c) => !conditionsHold([c], vars))?.source ?? sources(conditions);
}

const sources = (conditions: readonly Condition[]): string => conditions.map((c) => c.source).join(' and ');
