import { ConfigError, GateError } from '../errors.js';
import type { Group, Host, Inventory, Vars } from '../inventory/types.js';
import { groupByTasks, withGroupBy } from '../playbook/group-by.js';
import type { AnyModule } from '../modules/module.js';
import type { ModuleMap } from '../playbook/module-map.js';
import { containsTask } from '../playbook/nodes.js';
import { batchSizes, parseSerial } from '../playbook/serial.js';
import type { Play, Playbook, SerialStep, Task } from '../playbook/types.js';
import type { Transport } from '../ssh/transport.js';
import { systemClock, type Clock } from '../util/clock.js';
import { Batch, type BatchRun } from './batch.js';
import { PlayVars, runVars, type Registered } from './host-vars.js';
import { checkPermutation, ordererLookup, type HostOrderer, type OrdererMap } from './orderers.js';
import { emptyRecap } from './recap.js';
import type { HostRecap, Reporter, TaskOutcome } from './reporter.js';
import { StepExecutor } from './step-executor.js';

/** An answer to --step's question before a task, as Ansible's (N)o/(y)es/(c)ontinue. */
export type StepAnswer = 'yes' | 'no' | 'continue';

/** Asks whether to run a task (--step). */
export type StepPrompt = (task: { play: string; task: string; handler: boolean }) => Promise<StepAnswer>;

export interface RunOptions {
  playbook: Playbook;
  /** The whole inventory: `groups` and `hostvars` always see all of it, whatever `limit` says. */
  inventory: Inventory;
  /** Resolves a host pattern to host names in inventory order (the inventory module's selectHosts). */
  selectHosts: (inventory: Inventory, pattern: string) => readonly string[];
  /** --limit: a host pattern that narrows where tasks run. */
  limit?: string;
  modules: ModuleMap;
  /**
   * The host's connection, called at most once per host and run. The caller owns it: the runner
   * never closes it, so the lock, the audit log and checks after the run reuse it.
   */
  connect: (host: Host) => Promise<Transport>;
  /** Hosts working on a task at the same time (Ansible's forks). Default 10. */
  forks?: number;
  check?: boolean;
  diff?: boolean;
  tags?: readonly string[];
  skipTags?: readonly string[];
  /** Directory that modules resolve relative `src:` paths against. */
  baseDir: string;
  reporter: Reporter;
  /** When aborted, no new task starts on any host; running ones get the signal. */
  signal?: AbortSignal;
  /** How retries and module polls wait, and how durations are measured; tests pass a fake clock. */
  clock?: Clock;
  /** Named orderers a play's `order:` may use besides the static ones (see orderers.ts). */
  orderers?: OrdererMap;
  /** Extra vars (the CLI's --image, --serial...): above every var but the magic ones. */
  extraVars?: Vars;
  /**
   * --start-at-task: the run starts at this task of the playbook (nodes.findStartTask): earlier
   * plays do not run, and each batch of its play skips the tasks before it.
   */
  startAt?: Task;
  /** --step: asked before each task (and handler) until it answers `continue`. */
  step?: StepPrompt;
}

export type RunStatus = 'ok' | 'failed' | 'unreachable' | 'aborted' | 'interrupted';

export interface RunResult {
  /**
   * `aborted` when a safety gate (a task or an orderer throwing GateError) stopped the run;
   * else `failed` when any host failed (or a failure policy aborted the run), else
   * `unreachable` when any host could not be reached, else `ok`; `interrupted` when the signal
   * stopped it.
   */
  status: RunStatus;
  /** One entry per host that was in any play, in the order they first appeared. */
  recap: Record<string, HostRecap>;
  outcomes: TaskOutcome[];
  /** Hosts where at least one task changed (or, in check mode, would change) something. */
  changedHosts: string[];
  failedHosts: string[];
  unreachableHosts: string[];
  /**
   * When the run stopped early: the hosts the rest of it would have worked on (the aborted
   * play's later batches, then every later play's hosts), minus failed ones. In a rolling
   * restart these are the hosts left untouched. Empty when the run went to the end.
   */
  notReachedHosts: string[];
  /** Why the run stopped early (a gate, max_fail_percentage, any_errors_fatal, a whole batch failed). */
  abortReason?: string;
}

/**
 * Runs a playbook with Ansible's linear strategy: per play, hosts are split into `serial`
 * batches; within a batch each task runs on every live host (up to `forks` at once) before the
 * next task starts; handlers run at the end of each batch. See docs/playbooks.md.
 */
export async function runPlaybook(options: RunOptions): Promise<RunResult> {
  const run = new Run(options);
  try {
    await run.all();
  } catch (err) {
    // A live renderer holds the terminal while it draws: it must stop before the error is printed.
    await options.reporter.flush?.().catch(() => undefined);
    throw err;
  }
  const result = run.result();
  // Live renderers draw asynchronously; return only once everything reported is on screen.
  await options.reporter.flush?.();
  return result;
}

/** The state of one run: its hosts' connections (memoized, not owned), recap, registered results, hosts out of the game. */
class Run implements BatchRun {
  readonly o: RunOptions;
  readonly modules: ReadonlyMap<string, AnyModule>;
  readonly forks: number;
  readonly clock: Clock;
  readonly recap: Record<string, HostRecap> = {};
  readonly outcomes: TaskOutcome[] = [];
  readonly registered: Registered = new Map();
  readonly connections = new Map<string, Promise<Transport>>();
  readonly failed = new Set<string>();
  readonly unreachable = new Set<string>();
  /** Hosts the rest of the run would have worked on when it stopped early. */
  readonly notReached = new Set<string>();
  /** Groups made by `group_by` during the run: name -> hosts in the order they joined. */
  readonly dynamicGroups = new Map<string, Set<string>>();
  readonly orderers: ReadonlyMap<string, HostOrderer>;
  abortReason: string | undefined;
  /** A safety gate stopped the run: status `aborted`, exit 5. */
  gateAborted = false;
  /** An orderer failed for a reason that is not a gate: the run failed without a failed host. */
  orderFailed = false;
  /** --step asks until it is answered `continue`. */
  #stepping: boolean;

  constructor(options: RunOptions) {
    this.o = options;
    // group_by is the runner's own: it changes the run's groups, which no module can reach.
    this.modules = withGroupBy(options.modules);
    this.forks = Math.max(1, options.forks ?? 10);
    this.clock = options.clock ?? systemClock;
    this.orderers = ordererLookup(options.orderers);
    for (const { key } of groupByTasks(options.playbook)) {
      if (key !== undefined) this.dynamicGroups.set(key, new Set());
    }
    this.#stepping = options.step !== undefined;
  }

  get options(): RunOptions {
    return this.o;
  }

  get reporter(): Reporter {
    return this.o.reporter;
  }

  async askStep(play: Play, task: Task, handler: boolean): Promise<boolean> {
    const ask = this.o.step;
    if (!this.#stepping || !ask) return true;
    // What ran so far is on screen before the question.
    await this.o.reporter.flush?.();
    const answer = await ask({ play: play.name, task: task.name, handler });
    if (this.interrupted) return false;
    if (answer === 'continue') this.#stepping = false;
    if (answer !== 'no') return true;
    this.o.reporter.note?.(`--step: not running "${task.name}"`);
    return false;
  }

  get interrupted(): boolean {
    return this.o.signal?.aborted ?? false;
  }

  get stopped(): boolean {
    return this.interrupted || this.abortReason !== undefined;
  }

  /** The inventory with the run's `group_by` groups added (the original is never changed). */
  inventoryView(): Inventory {
    if (this.dynamicGroups.size === 0) return this.o.inventory;
    const groups = new Map<string, Group>(this.o.inventory.groups);
    for (const [name, members] of this.dynamicGroups) {
      if (groups.has(name) && members.size === 0) continue;
      const hosts = [...new Set([...(groups.get(name)?.hosts ?? []), ...members])];
      // Inventory order, as patterns return hosts in inventory order anyway.
      const ordered = [...this.o.inventory.hosts.keys()].filter((h) => hosts.includes(h));
      groups.set(name, { name, vars: {}, children: [], directHosts: ordered, hosts: ordered });
    }
    return { ...this.o.inventory, groups };
  }

  addToGroup(group: string, host: string): void {
    let members = this.dynamicGroups.get(group);
    if (!members) this.dynamicGroups.set(group, (members = new Set()));
    members.add(host);
  }

  async all(): Promise<void> {
    // Every play's `order` must name a known orderer: found before any host is touched.
    const unknown = this.o.playbook.plays.filter((p) => p.order !== undefined && !this.orderers.has(p.order));
    if (unknown.length > 0) {
      throw new ConfigError(
        unknown.map((p) => ({
          ...p.location,
          message: `play "${p.name}": unknown order "${p.order}" (known: ${[...this.orderers.keys()].sort().join(', ')})`,
        })),
      );
    }
    const limit =
      this.o.limit === undefined ? undefined : new Set(this.o.selectHosts(this.o.inventory, this.o.limit));
    const plays = this.o.playbook.plays;
    const startAt = this.o.startAt;
    const startPlay = startAt ? plays.findIndex((p) => containsTask(p.body, startAt)) : 0;
    if (startAt && startPlay < 0) {
      throw new ConfigError([
        { ...startAt.location, message: `--start-at-task: task "${startAt.name}" is not in this playbook` },
      ]);
    }
    for (const [i, play] of plays.entries()) {
      // --start-at-task: the plays before its task's do not run at all.
      if (i < startPlay) continue;
      if (this.stopped) {
        for (const later of plays.slice(i))
          for (const h of this.playHosts(later, limit)) this.notReached.add(h);
        break;
      }
      const hosts = this.playHosts(play, limit);
      for (const h of hosts) this.recap[h] ??= emptyRecap();
      this.o.reporter.playStart(play.name, hosts);
      if (hosts.length === 0) {
        this.o.reporter.note?.(`play "${play.name}": no hosts matched`);
        continue;
      }
      if (startAt && i === startPlay)
        this.o.reporter.note?.(`--start-at-task: starting at "${startAt.name}"`);
      await this.play(play, hosts, i === startPlay ? startAt : undefined);
    }
  }

  /** The play's hosts: its pattern ∩ --limit, minus failed and unreachable hosts (as in Ansible). */
  playHosts(play: Play, limit: Set<string> | undefined): string[] {
    return this.o
      .selectHosts(this.inventoryView(), play.hosts)
      .filter((h) => (!limit || limit.has(h)) && !this.failed.has(h) && !this.unreachable.has(h));
  }

  async play(play: Play, hosts: string[], startAt: Task | undefined): Promise<void> {
    const vars = new PlayVars(
      this.inventoryView(),
      play,
      this.registered,
      runVars({
        check: this.o.check ?? false,
        playHosts: hosts,
        unreachable: [...this.unreachable],
        inventoryFile: this.o.inventory.file,
      }),
      this.o.extraVars ?? {},
    );
    const sizes = batchSizes(hosts.length, this.serialOf(play, vars, hosts[0] as string));
    const orderName = play.order ?? 'inventory';
    const orderer = this.orderers.get(orderName) as HostOrderer;
    let remaining = [...hosts];
    for (const [index, size] of sizes.entries()) {
      if (this.stopped) break;
      const ordered = await this.order(play, orderName, orderer, remaining, hosts, vars);
      if (!ordered) break;
      const batch = ordered.slice(0, size);
      remaining = ordered.slice(size);
      this.o.reporter.batchStart?.(play.name, batch, index + 1, sizes.length);
      // Every batch starts at --start-at-task's task, as each host's own run would.
      await new Batch(this, play, vars, batch, startAt).execute(play.body);
    }
    if (this.stopped) for (const h of remaining) this.notReached.add(h);
  }

  /** The play's `serial`, rendering a templated one with the vars of its first host. */
  serialOf(play: Play, vars: PlayVars, firstHost: string): readonly SerialStep[] {
    if (play.serialTemplate === undefined) return play.serial;
    const value = vars.render(firstHost, play.serialTemplate, `play "${play.name}" serial`);
    const steps = parseSerial(value);
    if (typeof steps === 'string') {
      throw new ConfigError([
        { ...play.location, message: `play "${play.name}": serial "${play.serialTemplate}" gave ${steps}` },
      ]);
    }
    return steps;
  }

  /** Asks the play's orderer for the order of the hosts not yet run; undefined when it stopped the run. */
  async order(
    play: Play,
    name: string,
    orderer: HostOrderer,
    remaining: readonly string[],
    playHosts: readonly string[],
    vars: PlayVars,
  ): Promise<string[] | undefined> {
    const inventory = this.o.inventory;
    try {
      const ordered = await orderer(remaining, {
        play,
        playHosts,
        vars: (host) => vars.view(host),
        connect: async (host) =>
          new StepExecutor(await this.transport(inventory.hosts.get(host) as Host), true, () =>
            vars.secretTexts(),
          ),
        usable: (host) => !this.failed.has(host) && !this.unreachable.has(host),
        check: this.o.check ?? false,
        ...(this.o.signal ? { signal: this.o.signal } : {}),
        note: (m, h) => this.o.reporter.note?.(m, h),
      });
      const wrong = checkPermutation(name, remaining, ordered);
      if (wrong) throw new Error(wrong);
      return [...ordered];
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (err instanceof GateError) this.gateAborted = true;
      else this.orderFailed = true;
      this.abortReason = `play "${play.name}": order ${name} failed: ${why}; stopping the run`;
      this.o.reporter.note?.(this.abortReason);
      return undefined;
    }
  }

  transport(host: Host): Promise<Transport> {
    let t = this.connections.get(host.name);
    if (!t) {
      t = this.o.connect(host);
      // Keep the rejection observed here; each caller still sees it through the returned promise.
      t.catch(() => undefined);
      this.connections.set(host.name, t);
    }
    return t;
  }

  record(outcome: TaskOutcome): void {
    this.outcomes.push(outcome);
    const r = (this.recap[outcome.host] ??= emptyRecap());
    if (outcome.ignoredError) r.ignored++;
    else if (outcome.status === 'failed') r.failed++;
    else if (outcome.status === 'unreachable') r.unreachable++;
    else if (outcome.status === 'skipped') r.skipped++;
    else {
      r.ok++;
      if (outcome.status === 'changed') r.changed++;
    }
    this.o.reporter.taskEnd(outcome);
  }

  result(): RunResult {
    const hosts = Object.keys(this.recap);
    const failedHosts = hosts.filter((h) => this.failed.has(h));
    const unreachableHosts = hosts.filter((h) => this.unreachable.has(h));
    const status: RunStatus = this.interrupted
      ? 'interrupted'
      : this.gateAborted
        ? 'aborted'
        : failedHosts.length > 0 || this.orderFailed
          ? 'failed'
          : unreachableHosts.length > 0
            ? 'unreachable'
            : 'ok';
    this.o.reporter.runEnd?.(this.recap);
    return {
      status,
      recap: this.recap,
      outcomes: this.outcomes,
      changedHosts: hosts.filter((h) => (this.recap[h]?.changed ?? 0) > 0),
      failedHosts,
      unreachableHosts,
      notReachedHosts: [...this.notReached].filter((h) => !this.failed.has(h) && !this.unreachable.has(h)),
      ...(this.abortReason ? { abortReason: this.abortReason } : {}),
    };
  }
}
