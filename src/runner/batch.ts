import type { Host } from '../inventory/types.js';
import type { AnyModule } from '../modules/module.js';
import { GROUP_BY } from '../playbook/group-by.js';
import { containsTask } from '../playbook/nodes.js';
import { tagsSelect } from '../playbook/tags.js';
import type { Block, IncludeTasks, Play, Task, TaskNode } from '../playbook/types.js';
import type { Transport } from '../ssh/transport.js';
import type { Clock } from '../util/clock.js';
import { mapLimit } from '../util/limit.js';
import type { PlayVars } from './host-vars.js';
import { includeTarget } from './include.js';
import type { Reporter, TaskOutcome } from './reporter.js';
import { runTaskOnHost, type HostTaskResult } from './run-task.js';

/** What a batch needs of its run (run-playbook.ts). */
export interface BatchRun {
  readonly modules: ReadonlyMap<string, AnyModule>;
  readonly forks: number;
  readonly clock: Clock;
  readonly reporter: Reporter;
  readonly options: {
    readonly check?: boolean;
    readonly diff?: boolean;
    readonly tags?: readonly string[];
    readonly skipTags?: readonly string[];
    readonly baseDir: string;
    readonly signal?: AbortSignal;
    readonly inventory: { readonly hosts: ReadonlyMap<string, Host> };
  };
  readonly failed: Set<string>;
  readonly unreachable: Set<string>;
  readonly interrupted: boolean;
  readonly stopped: boolean;
  abortReason: string | undefined;
  gateAborted: boolean;
  transport(host: Host): Promise<Transport>;
  record(outcome: TaskOutcome): void;
  addToGroup(group: string, host: string): void;
  /** --step: whether to run this task (asked before it starts). */
  askStep(play: Play, task: Task, handler: boolean): Promise<boolean>;
}

/**
 * Where a failure on a host goes. At the top of a batch it is the run's (the host is out, and
 * counts for max_fail_percentage); inside a block with `rescue` or `always` it stays the
 * block's until the block has run its rescue (which clears it) and always, as Ansible's
 * PlayIterator keeps a failing host in the block until then.
 */
interface Failures {
  /** The host failed here: it runs no further task of this list. */
  has(host: string): boolean;
  add(host: string): void;
  /** A block around will rescue a failure here: it is reported as rescued, not failed. */
  readonly rescued: boolean;
}

const local = (rescued: boolean): Failures => {
  const hosts = new Set<string>();
  return { has: (h) => hosts.has(h), add: (h) => void hosts.add(h), rescued };
};

/**
 * One serial batch of one play: its task list in order over the batch's live hosts (blocks,
 * includes), then handlers. See docs/playbooks.md, "How a run proceeds" and "Blocks".
 */
export class Batch {
  /** Handlers each host has been notified to run. */
  readonly notified = new Map<string, Set<string>>();
  readonly #failedHere = new Set<string>();
  /** Hosts where a safety gate refused, with the task and its message. */
  readonly #gateRefused = new Map<string, { task: string; message: string }>();
  /** Each host's last failure, for `ansible_failed_task` / `ansible_failed_result` in a rescue. */
  readonly #lastFailure = new Map<string, { task: string; result: Record<string, unknown> }>();
  /** Failures of the run's own: the host is out of the play. */
  readonly #top: Failures;
  /** --start-at-task: the task this batch starts at, until it is reached. */
  #startAt: Task | undefined;

  constructor(
    readonly run: BatchRun,
    readonly play: Play,
    readonly vars: PlayVars,
    readonly hosts: readonly string[],
    startAt?: Task,
  ) {
    this.#startAt = startAt;
    this.#top = {
      has: (h) => run.failed.has(h),
      add: (h) => {
        run.failed.add(h);
        this.#failedHere.add(h);
      },
      rescued: false,
    };
  }

  get live(): string[] {
    return this.hosts.filter((h) => !this.run.failed.has(h) && !this.run.unreachable.has(h));
  }

  async execute(body: readonly TaskNode[]): Promise<void> {
    await this.runNodes(body, this.hosts, this.#top);
    if (this.run.stopped) return;
    await this.flushHandlers();
  }

  /** A task list on `hosts`, each node on those of them still live here. */
  async runNodes(nodes: readonly TaskNode[], hosts: readonly string[], failures: Failures): Promise<void> {
    for (const node of nodes) {
      if (this.run.stopped) return;
      const live = hosts.filter((h) => !this.run.unreachable.has(h) && !failures.has(h));
      if (live.length === 0) return;
      if (node.kind === 'task') await this.runListed(node, live, failures);
      else if (node.kind === 'block') await this.runBlock(node, live, failures);
      else await this.runInclude(node, live, failures);
      if (this.run.stopped || this.checkPolicy()) return;
    }
  }

  /** A task of the list: unless --tags leaves it out, or it comes before --start-at-task. */
  async runListed(task: Task, hosts: string[], failures: Failures): Promise<void> {
    const { tags = [], skipTags = [] } = this.run.options;
    if (!tagsSelect(task.tags, { tags, skipTags })) return;
    if (this.#startAt) {
      if (this.#startAt !== task) return;
      this.#startAt = undefined;
    }
    await this.runTask(task, hosts, false, failures);
  }

  /**
   * block / rescue / always (Ansible's playbooks_blocks): the block's tasks; on the hosts where
   * one failed, the rescue tasks (succeeding, they clear the failure); then the always tasks on
   * every host that entered the block. A failure left after that is the host's.
   */
  async runBlock(b: Block, hosts: readonly string[], failures: Failures): Promise<void> {
    const start = this.#startAt;
    if (start && !containsTask([b], start)) return;
    if (b.rescue.length === 0 && b.always.length === 0) return this.runNodes(b.block, hosts, failures);
    const inBlock = local(b.rescue.length > 0 || failures.rescued);
    await this.runNodes(b.block, hosts, inBlock);
    if (this.run.stopped) return;
    const reachable = (list: readonly string[]) => list.filter((h) => !this.run.unreachable.has(h));
    let failed = reachable(hosts).filter((h) => inBlock.has(h));
    if (b.rescue.length > 0) {
      // Started at a task of the rescue: every host runs it, none having run the block.
      const rescuing = this.#startAt && containsTask(b.rescue, this.#startAt) ? reachable(hosts) : failed;
      for (const h of rescuing) {
        const last = this.#lastFailure.get(h);
        if (!last) continue;
        this.vars.register(h, 'ansible_failed_task', { name: last.task });
        this.vars.register(h, 'ansible_failed_result', last.result);
      }
      const inRescue = local(failures.rescued);
      if (rescuing.length > 0) await this.runNodes(b.rescue, rescuing, inRescue);
      if (this.run.stopped) return;
      failed = failed.filter((h) => inRescue.has(h));
    }
    const inAlways = local(failures.rescued);
    await this.runNodes(b.always, reachable(hosts), inAlways);
    if (this.run.stopped) return;
    for (const h of reachable(hosts)) if (failed.includes(h) || inAlways.has(h)) failures.add(h);
  }

  /**
   * include_tasks: on each host its condition and file (rendered for the host), then the
   * file's tasks on the hosts that include it, one file after another in the order the hosts
   * first named them (for most includes, one file for every host).
   */
  async runInclude(inc: IncludeTasks, hosts: readonly string[], failures: Failures): Promise<void> {
    const start = this.#startAt;
    if (start && !(inc.static && containsTask(inc.static, start))) return;
    const { tags = [], skipTags = [] } = this.run.options;
    if (!tagsSelect(inc.tags, { tags, skipTags })) return;
    const { reporter } = this.run;
    reporter.taskBegin?.({ play: this.play.name, task: inc.name, hosts });
    const vars = this.vars.forScopes(inc.scopes);
    const groups = new Map<readonly TaskNode[], string[]>();
    for (const host of hosts) {
      if (this.run.interrupted) return;
      const event = { play: this.play.name, task: inc.name, host };
      reporter.taskStart(event);
      const started = this.run.clock.now();
      let r: Pick<HostTaskResult, 'status' | 'message'>;
      try {
        const target = includeTarget(inc, vars, host, this.run.modules);
        if ('skip' in target) r = { status: 'skipped', message: target.skip };
        else {
          r = { status: 'ok', message: `included: ${target.file}` };
          groups.set(target.nodes, [...(groups.get(target.nodes) ?? []), host]);
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        r = { status: 'failed', message };
        this.#lastFailure.set(host, {
          task: inc.name,
          result: { changed: false, failed: true, msg: message },
        });
        failures.add(host);
      }
      this.run.record({
        ...event,
        status: r.status,
        ...(r.message !== undefined ? { message: r.message } : {}),
        ...(r.status === 'failed' && failures.rescued ? { ignoredError: true, rescued: true } : {}),
        durationMs: this.run.clock.now() - started,
      });
    }
    if (this.run.stopped || this.checkPolicy()) return;
    for (const [nodes, included] of groups) {
      await this.runNodes(nodes, included, failures);
      if (this.run.stopped) return;
    }
  }

  async flushHandlers(): Promise<void> {
    // A handler may notify another; each pass runs what is pending, in definition order.
    for (let pass = 0; pass <= this.play.handlers.length; pass++) {
      let ranAny = false;
      for (const handler of this.play.handlers) {
        if (this.run.interrupted) return;
        const hosts = this.live.filter((h) => this.notified.get(h)?.has(handler.name));
        if (hosts.length === 0) continue;
        for (const h of hosts) this.notified.get(h)?.delete(handler.name);
        await this.runTask(handler, hosts, true, this.#top);
        ranAny = true;
        if (this.checkPolicy()) return;
      }
      if (!ranAny) return;
    }
  }

  async runTask(task: Task, hosts: string[], handler: boolean, failures: Failures): Promise<void> {
    if (!(await this.run.askStep(this.play, task, handler))) return;
    const { reporter } = this.run;
    const targets = task.runOnce ? hosts.slice(0, 1) : hosts;
    reporter.taskBegin?.({
      play: this.play.name,
      task: task.name,
      hosts: targets,
      ...(handler ? { handler } : {}),
    });
    const results = await mapLimit(targets, this.run.forks, async (name) => {
      if (this.run.interrupted) return undefined;
      const event = { play: this.play.name, task: task.name, host: name, ...(handler ? { handler } : {}) };
      reporter.taskStart(event);
      const started = this.run.clock.now();
      const r = await this.runOn(task, name);
      this.settle(task, name, r, failures);
      // A failure a block will rescue is not the host's: counted as Ansible's `rescued`, here `ignored`.
      const rescued = r.status === 'failed' && !r.ignoredError && !r.gate && failures.rescued;
      this.run.record({
        ...event,
        status: r.status,
        ...(r.message !== undefined ? { message: r.message } : {}),
        ...(r.diff !== undefined ? { diff: r.diff } : {}),
        ...(r.ignoredError || rescued ? { ignoredError: true } : {}),
        ...(rescued ? { rescued: true } : {}),
        durationMs: this.run.clock.now() - started,
      });
      return r;
    });
    // run_once: the one result stands for every host of the batch.
    const first = results[0];
    if (task.runOnce && first && task.register) {
      for (const h of hosts.slice(1)) this.vars.register(h, task.register, first.registered);
    }
    if (task.runOnce && first) this.failOthersOfRunOnce(task, hosts, first, failures, handler);
  }

  /**
   * A run_once task that failed (or whose host was unreachable) fails every other host of the
   * batch too, as in Ansible: its one result stood for all of them, so none may go on as if it
   * had succeeded (a later `when:` on what it registered would otherwise fail on each host with
   * a confusing "is not defined").
   */
  private failOthersOfRunOnce(
    task: Task,
    hosts: readonly string[],
    first: HostTaskResult,
    failures: Failures,
    handler: boolean,
  ): void {
    const [ranOn] = hosts;
    const what =
      first.status === 'unreachable'
        ? `${ranOn} was unreachable`
        : first.status === 'failed'
          ? `it failed on ${ranOn}`
          : '';
    if (!what || first.ignoredError) return;
    const message = `run_once task "${task.name}" did not run for this host: ${what}`;
    for (const h of hosts.slice(1)) {
      if (failures.has(h)) continue;
      const r: HostTaskResult = {
        status: 'failed',
        message,
        ...(first.gate ? { gate: true } : {}),
        registered: { ...first.registered, failed: true, msg: message },
      };
      this.settle(task, h, r, failures);
      this.run.record({
        play: this.play.name,
        task: task.name,
        host: h,
        ...(handler ? { handler } : {}),
        status: 'failed',
        message,
        ...(failures.rescued && !first.gate ? { ignoredError: true, rescued: true } : {}),
        durationMs: 0,
      });
    }
  }

  runOn(task: Task, name: string): Promise<HostTaskResult> {
    const { options } = this.run;
    const host = options.inventory.hosts.get(name) as Host;
    return runTaskOnHost({
      task,
      host,
      vars: this.vars.forScopes(task.scopes),
      module: this.run.modules.get(task.module),
      transport: () => this.run.transport(host),
      check: options.check ?? false,
      diff: options.diff ?? false,
      baseDir: options.baseDir,
      ...(options.signal ? { signal: options.signal } : {}),
      clock: this.run.clock,
      note: (m, h) => this.run.reporter.note?.(m, h),
    });
  }

  /** Applies a host's result: register, notify, group_by, and whether the host failed (and where that goes). */
  settle(task: Task, host: string, r: HostTaskResult, failures: Failures): void {
    if (task.register && r.status !== 'unreachable') this.vars.register(host, task.register, r.registered);
    if (r.status === 'unreachable') {
      this.run.unreachable.add(host);
      this.#failedHere.add(host);
    } else if (r.status === 'failed' && !r.ignoredError) {
      this.#lastFailure.set(host, { task: task.name, result: r.registered });
      failures.add(host);
      if (r.gate) {
        // A safety gate refusing is never rescued: the host is out and the run stops after this task.
        this.run.failed.add(host);
        this.#failedHere.add(host);
        this.#gateRefused.set(host, { task: task.name, message: r.message ?? 'gate refused' });
      }
    } else if (task.module === GROUP_BY && r.status === 'ok') {
      for (const group of groupsNamed(r.registered)) this.run.addToGroup(group, host);
    } else if (r.status === 'changed') {
      let set = this.notified.get(host);
      if (!set) this.notified.set(host, (set = new Set()));
      for (const n of task.notify) set.add(n);
    }
  }

  /** Ansible's failure policy after each task; true when the run must stop. */
  checkPolicy(): boolean {
    const failedHere = [...this.#failedHere];
    const note = (reason: string) => {
      this.run.abortReason = reason;
      this.run.reporter.note?.(reason);
      return true;
    };
    if (failedHere.length === 0) return false;
    // A safety gate refusing is never tolerated: the roll stops before the next step.
    const [gateHost, gate] = [...this.#gateRefused.entries()][0] ?? [];
    if (gateHost !== undefined && gate) {
      this.run.gateAborted = true;
      return note(
        `play "${this.play.name}": gate "${gate.task}" failed on ${gateHost}: ${gate.message}; stopping the run`,
      );
    }
    if (this.play.anyErrorsFatal) {
      return note(
        `play "${this.play.name}": any_errors_fatal and ${failedHere.join(', ')} failed; stopping the run`,
      );
    }
    const percent = (failedHere.length / this.hosts.length) * 100;
    const max = this.play.maxFailPercentage;
    if (max !== undefined && percent > max) {
      return note(
        `play "${this.play.name}": ${failedHere.length} of ${this.hosts.length} hosts in the batch failed ` +
          `(${round(percent)}% > max_fail_percentage ${max}%); stopping the run`,
      );
    }
    if (failedHere.length === this.hosts.length) {
      return note(`play "${this.play.name}": every host in the batch failed; stopping the run`);
    }
    return false;
  }
}

/** The groups a group_by result names: its own, or those of its loop's items. */
function groupsNamed(registered: Record<string, unknown>): string[] {
  const results = registered['results'];
  const each = Array.isArray(results) ? (results as Record<string, unknown>[]) : [registered];
  return each.flatMap((r) => (typeof r['group'] === 'string' && r['skipped'] !== true ? [r['group']] : []));
}

const round = (n: number): number => Math.round(n * 10) / 10;
