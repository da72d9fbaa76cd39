import { appendAudit, auditEntriesForRun } from '../audit/audit.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Host, Inventory, Vars } from '../inventory/types.js';
import type { Playbook } from '../playbook/types.js';
import { currentIdentity } from '../lock/identity.js';
import { listPlaybook } from '../playbook/list.js';
import { startTask } from '../playbook/nodes.js';
import { DROVER_VERSION } from '../paths.js';
import type { CollectedRun } from '../report/collector.js';
import { concludeRun, type ConcludeOptions, type RunConclusion } from '../report/conclusion.js';
import type { DroverEvent } from '../report/events.js';
import { builtinOrderers } from '../consul/gates/leader-last-orderer.js';
import { createReporter } from '../runner/create-reporter.js';
import { runPlaybook, type RunResult, type StepPrompt } from '../runner/run-playbook.js';
import { StepExecutor } from '../runner/step-executor.js';
import type { StepRunner } from '../remote/step.js';
import { checkRunInput, readRunInput } from './checked-run.js';
import type { ConnectionDefaults } from './connection-spec.js';
import { ConnectionPool, openSsh, type HostConnections, type OpenTransport } from './connection-pool.js';
import { DeployLock } from './deploy-lock.js';
import { applyAclToken } from './acl-token-source.js';
import { applyGossipKey } from './gossip-key-source.js';
import { readClusterTls } from './tls-default.js';
import { applyTlsCa } from './tls-material-source.js';
import { loadCheckedInventory } from './load-checked-inventory.js';
import type { Output } from './output.js';
import { playbookBaseDir, type PlaybookSpec } from './playbooks.js';
import { RunArtifacts } from './run-artifacts.js';
import { tracingOpen } from './trace.js';
import { canRestart, summaryLines } from './run-summary.js';
import { firstHosts, warmUp } from './warm-up.js';
import { systemClock, type Clock } from '../util/clock.js';

export interface SessionOptions {
  /** The inventory; what drover keeps beside an inventory (keys, CA, snapshots) is beside it. */
  inventoryFile: string;
  /** Inventories merged over it, in order (`-i base.yaml -i prod.yaml`): they add hosts and groups, and their vars win. */
  moreInventoryFiles?: readonly string[];
  /** A host pattern that narrows where tasks run. */
  limit?: string | undefined;
  /** Hosts worked on at once (default 10). */
  forks?: number;
  /** How hosts are reached over SSH; ignored when `open` is given. */
  connection?: ConnectionDefaults;
  /** Opens a host's one connection: SSH by default, a scripted transport in tests. */
  open?: OpenTransport;
  output: Output;
  /** The command line (or API call) as the lock, the audit log and the reports name it. */
  command: string;
  /** Seconds to wait for a deploy lock held by another run (default 0: stop with exit 6). */
  lockWaitSeconds?: number;
  /** When aborted, no new task starts; the lock is released and the reports written. */
  signal?: AbortSignal;
  /** How waits and durations are timed; tests pass a fake clock. */
  clock?: Clock;
  /** -v (1), -vv (2), -vvv (3): what every host is sent and answers, besides the task lines (trace.ts). */
  verbosity?: number;
}

/** One playbook run, as plan and apply take it. */
export interface PlaybookRun {
  playbook: PlaybookSpec;
  diff?: boolean;
  tags?: readonly string[];
  skipTags?: readonly string[];
  /** Vars above every other (upgrade's image, restart's serial and force). */
  extraVars?: Vars;
  /** `plan`: one short block of what would change instead of every task on every host. */
  view?: 'tasks' | 'plan';
  /** The lines after the recap, when the operation knows better than summaryLines (a roll). */
  summarize?: (result: RunResult, check: boolean) => string[];
  /** The JSON recap on `output.result`. */
  json?: boolean;
  eventsFile?: string;
  junitFile?: string;
  onEvent?: (event: DroverEvent) => void;
  /** --list-tasks / --list-hosts: print them and stop, before any connection and the lock. */
  list?: { tasks: boolean; hosts: boolean };
  /** --start-at-task NAME: a name no task has is bad input, found before any connection. */
  startAtTask?: string;
  /** --step: asked before each task. */
  step?: StepPrompt;
  /** -q: the recap (and why a host failed) only, no line per task. */
  quiet?: boolean;
}

/** How a playbook run ended: the runner's result and the one conclusion (status, exit code). */
export interface RunReport {
  result: RunResult;
  conclusion: RunConclusion;
}

/** What a locked change tells the session, for the audit log of the hosts it changed. */
export interface Mutation {
  /** `what` changed on (or through) `host`: one entry of that host's audit line. */
  changed(host: string, what: string): void;
  /** The host as steps that may write: the one way a mutation changes it. */
  steps(host: string): Promise<StepRunner>;
}

const DEFAULT_CONNECTION: ConnectionDefaults = { acceptNewHostKeys: false, connectTimeoutSeconds: 10 };

/**
 * Everything one drover command does with hosts goes through a session: it owns the inventory,
 * the one connection pool (closed by `close`), the deploy lock, the audit log and the run's
 * reports. `plan` runs a playbook in check mode (no lock, no audit); `apply` runs it for real
 * and `mutate` makes any other change, both under the lock and audited by construction.
 */
export class Session {
  #inventory: Inventory | undefined;
  #pool: ConnectionPool | undefined;
  #loadedAs: boolean | undefined;
  readonly #signal: AbortSignal;
  readonly clock: Clock;

  constructor(private readonly o: SessionOptions) {
    this.#signal = o.signal ?? new AbortController().signal;
    this.clock = o.clock ?? systemClock;
  }

  /** Aborted when the command is interrupted (Ctrl-C): waits stop, no new task starts. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Opens a session, hands it to `use`, and closes its connections however `use` ends. */
  static async with<T>(o: SessionOptions, use: (session: Session) => Promise<T>): Promise<T> {
    const session = new Session(o);
    try {
      return await use(session);
    } finally {
      await session.close();
    }
  }

  /**
   * Loads and checks the inventory (see loadCheckedInventory), once: later calls (verify, then
   * --deep) get the same inventory without its warnings again. The connections are to its hosts.
   */
  async load(o: { consul: boolean }): Promise<Inventory> {
    if (this.#inventory && this.#loadedAs === o.consul) return this.#inventory;
    this.#loadedAs = o.consul;
    const loaded = await loadCheckedInventory(this.#inventoryFiles(), {
      consul: o.consul,
      limit: this.o.limit,
      warn: this.o.output.warn,
      signal: this.#signal,
    });
    // The token and the CA drover's own calls carry (HTTPS where the agents serve no plain HTTP);
    // reading them never makes one.
    this.#use(loaded);
    const inventory = o.consul
      ? await this.#withClusterTls(await applyAclToken(loaded, { signal: this.#signal }), false)
      : loaded;
    this.#use(inventory);
    return inventory;
  }

  /** The hosts `limit` selects, in inventory order; every host without one. */
  hosts(): string[] {
    const inventory = this.#loaded();
    return this.o.limit ? [...selectHosts(inventory, this.o.limit)] : [...inventory.hosts.keys()];
  }

  get connections(): HostConnections {
    this.#loaded();
    return this.#pool as ConnectionPool;
  }

  /**
   * TLS as the servers run it (tls-default.ts decides it where the inventory does not), then the
   * CA it needs; `create`: a run that changes hosts may make the CA of a new cluster.
   */
  async #withClusterTls(inventory: Inventory, create: boolean): Promise<Inventory> {
    const warn = this.o.output.warn;
    const cluster = await readClusterTls(inventory, { connect: (h: Host) => this.reader(h), warn });
    return applyTlsCa(cluster.inventory, { create, warn, serversWithTls: cluster.serversWithTls });
  }

  /**
   * A host as read-only steps, for drover's own reads of a cluster (verify, members, the keyring
   * a key is adopted from): through the runner's executor, so they can never change a host.
   */
  async reader(host: Host | string): Promise<StepRunner> {
    return this.#stepsOn(host, true);
  }

  async #stepsOn(host: Host | string, readsOnly: boolean): Promise<StepRunner> {
    const inventory = this.#loaded();
    return new StepExecutor(await this.connections.get(host), readsOnly, () =>
      RunArtifacts.secretsOf(inventory),
    );
  }

  /** The playbook in check mode: every host is read, nothing changes, no lock is taken. */
  plan(run: PlaybookRun): Promise<RunReport> {
    return this.#runPlaybook(run, true);
  }

  /** The playbook for real, under the deploy lock; every host it changed gets an audit line. */
  apply(run: PlaybookRun): Promise<RunReport> {
    return this.#runPlaybook(run, false);
  }

  /**
   * A change that is not a playbook run (`members --prune`): under the deploy lock, and every
   * host `change` reports gets an audit line, whether `change` succeeds or throws.
   */
  async mutate<T>(change: (m: Mutation) => Promise<T>): Promise<T> {
    const inventory = this.#loaded();
    const secrets = RunArtifacts.secretsOf(inventory);
    const lock = new DeployLock(inventory, this.connections);
    await lock.acquire({
      command: this.o.command,
      waitSeconds: this.o.lockWaitSeconds ?? 0,
      secrets,
      signal: this.#signal,
      onWait: this.o.output.warn,
    });
    const run = mutationRun();
    let how: ConcludeOptions = {};
    try {
      return await change({
        steps: (host) => this.#stepsOn(host, false),
        changed: (host, what) => {
          if (!run.hosts.includes(host)) run.hosts.push(host);
          const time = new Date().toISOString();
          run.outcomes.push({
            play: 'change',
            task: what,
            host,
            status: 'changed',
            durationMs: 0,
            startedAt: time,
            endedAt: time,
          });
        },
      });
    } catch (err) {
      how = { error: err };
      throw err;
    } finally {
      const problems = [
        ...(await this.#audit(inventory, run, concludeRun(run.outcomes, { ...how, secrets }), secrets)),
        ...(await releaseProblems(lock)),
      ];
      for (const p of problems) this.o.output.warn(`warning: ${p}`);
    }
  }

  async close(): Promise<void> {
    await this.#pool?.closeAll();
  }

  /**
   * Validates everything first (inventory, playbook, limit, every host's values) so bad input
   * touches no host; takes the lock unless planning; runs the playbook over the pool; then,
   * however the run ended, releases the lock, appends the audit log on every changed host and
   * writes the reports.
   */
  async #runPlaybook(run: PlaybookRun, check: boolean): Promise<RunReport> {
    const artifacts = new RunArtifacts(
      {
        json: run.json === true,
        check,
        ...(run.eventsFile ? { eventsFile: run.eventsFile } : {}),
        ...(run.junitFile ? { junitFile: run.junitFile } : {}),
        ...(run.onEvent ? { onEvent: run.onEvent } : {}),
      },
      this.o.command,
    );
    const out = this.o.output;
    const signal = this.#signal;
    let inventory: Inventory | undefined;
    let lock: DeployLock | undefined;
    try {
      const { file, consul } = run.playbook;
      const input = await readRunInput({
        inventoryFiles: this.#inventoryFiles(),
        playbook: run.playbook,
        limit: this.o.limit,
        warn: out.warn,
        signal,
      });
      const { acl, playbook, modules } = input;
      const loaded = acl.inventory;
      artifacts.learnSecrets(loaded, run.extraVars);
      const startAt = run.startAtTask === undefined ? undefined : startTask(playbook, run.startAtTask);
      if (run.list) {
        out.progress.write(this.#listing(playbook, loaded, run));
        await this.#finishRun({ inventory: undefined, lock, artifacts, check: true, how: { status: 'ok' } });
        return { result: notRun(), conclusion: concludeRun([], { status: 'ok' }) };
      }
      const waitSeconds = this.o.lockWaitSeconds ?? 0;
      await checkRunInput(input, { playbook: run.playbook, extraVars: run.extraVars, check, signal });
      this.#use(loaded);
      const pool = this.#pool as ConnectionPool;
      const forks = this.o.forks ?? 10;
      // The first task's connections open while the lock is taken, not after it.
      warmUp(pool, firstHosts(playbook, loaded, this.o.limit, forks));
      if (!check) {
        lock = new DeployLock(loaded, pool);
        await lock.acquire({
          command: this.o.command,
          waitSeconds,
          secrets: artifacts.secrets,
          signal,
          onWait: out.warn,
        });
      }
      // A management token made for this run is kept only by a run that may change hosts.
      if (check && acl.note) out.warn(acl.note);
      if (!check && acl.keepNew) out.warn(await acl.keepNew());
      inventory = consul
        ? await this.#withClusterTls(
            await applyGossipKey(loaded, {
              create: !check,
              connect: (h: Host) => this.reader(h),
              warn: out.warn,
            }),
            !check,
          )
        : loaded;
      artifacts.learnSecrets(inventory, run.extraVars);
      const human = await createReporter({
        // --step asks on the terminal, and -v writes lines between the tasks': plain lines,
        // which a live view would redraw over.
        tty: out.progressIsTty && !run.step && (this.o.verbosity ?? 0) === 0,
        ci: out.ci,
        stream: out.progress,
        view: run.quiet ? 'quiet' : (run.view ?? 'tasks'),
      });
      const result = await runPlaybook({
        playbook,
        inventory,
        selectHosts,
        ...(this.o.limit ? { limit: this.o.limit } : {}),
        modules,
        orderers: builtinOrderers(),
        ...(run.extraVars ? { extraVars: run.extraVars } : {}),
        connect: (host) => pool.get(host),
        forks,
        check,
        diff: run.diff === true,
        tags: run.tags ?? [],
        skipTags: run.skipTags ?? [],
        baseDir: playbookBaseDir(file),
        reporter: artifacts.reporter(human),
        signal,
        ...(startAt ? { startAt } : {}),
        ...(run.step ? { step: run.step } : {}),
      });
      // The reporter has printed the PLAY RECAP; say in a few lines what the run did.
      const summary =
        run.summarize?.(result, check) ?? summaryLines(result, { check, restarts: canRestart(playbook) });
      out.progress.write(summary.map((l) => `${l}\n`).join(''));
      const how = { status: result.status, ...(result.abortReason ? { reason: result.abortReason } : {}) };
      await this.#finishRun({ inventory, lock, artifacts, check, how });
      return { result, conclusion: concludeRun(result.outcomes, { ...how, secrets: artifacts.secrets }) };
    } catch (err) {
      await this.#finishRun({ inventory, lock, artifacts, check, how: { error: err } }).catch(
        () => undefined,
      );
      throw err;
    }
  }

  /** --list-tasks / --list-hosts: each play's hosts as --limit narrows them, its tasks as --tags select them. */
  #listing(playbook: Playbook, inventory: Inventory, run: PlaybookRun): string {
    const limit = this.o.limit ? new Set(selectHosts(inventory, this.o.limit)) : undefined;
    return listPlaybook(playbook, {
      tasks: run.list?.tasks === true,
      hosts: run.list?.hosts === true,
      tags: run.tags ?? [],
      skipTags: run.skipTags ?? [],
      hostsOf: (play) => {
        try {
          return selectHosts(inventory, play.hosts).filter((h) => !limit || limit.has(h));
        } catch (err) {
          // A group that group_by makes exists only during the run (or the pattern is wrong: the run says so).
          return { unknown: `not known before the run (${messageOf(err)})` };
        }
      },
    });
  }

  /** Everything that must happen however a run ended; each step is attempted even if another fails. */
  async #finishRun(o: {
    inventory: Inventory | undefined;
    lock: DeployLock | undefined;
    artifacts: RunArtifacts;
    check: boolean;
    how: ConcludeOptions;
  }): Promise<void> {
    const problems: string[] = [];
    if (!o.check && this.#pool) {
      const run = o.artifacts.collected;
      const conclusion = concludeRun(run.outcomes, { ...o.how, secrets: o.artifacts.secrets });
      problems.push(...(await this.#audit(o.inventory, run, conclusion, o.artifacts.secrets)));
    }
    if (o.lock) problems.push(...(await releaseProblems(o.lock)));
    for (const p of problems) this.o.output.warn(`warning: ${p}`);
    o.artifacts.finish(this.o.output, o.how);
  }

  /** Appends one audit line on every host the run changed; returns what could not be written. */
  async #audit(
    inventory: Inventory | undefined,
    run: CollectedRun,
    conclusion: RunConclusion,
    secrets: readonly string[],
  ): Promise<string[]> {
    const pool = this.#pool as ConnectionPool;
    const entries = auditEntriesForRun({
      run,
      conclusion,
      identity: currentIdentity(),
      command: this.o.command,
      droverVersion: DROVER_VERSION,
    });
    const problems: string[] = [];
    await Promise.all(
      [...entries].map(async ([host, entry]) => {
        const path = inventory?.hosts.get(host)?.vars['drover_audit_log'];
        try {
          await appendAudit(await pool.get(host), entry, {
            ...(typeof path === 'string' ? { path } : {}),
            secrets,
          });
        } catch (err) {
          problems.push(`audit log on ${host} not written: ${messageOf(err)}`);
        }
      }),
    );
    return problems;
  }

  #inventoryFiles(): string[] {
    return [this.o.inventoryFile, ...(this.o.moreInventoryFiles ?? [])];
  }

  #use(inventory: Inventory): void {
    this.#inventory = inventory;
    const open = this.o.open ?? openSsh(this.o.connection ?? DEFAULT_CONNECTION);
    const level = this.o.verbosity ?? 0;
    const progress = this.o.output.progress;
    this.#pool ??= new ConnectionPool(
      inventory,
      level > 0
        ? tracingOpen(open, {
            level,
            write: (line) => progress.write(`${line}\n`),
            secrets: () => (this.#inventory ? RunArtifacts.secretsOf(this.#inventory) : []),
          })
        : open,
    );
  }

  #loaded(): Inventory {
    if (!this.#inventory) throw new Error('the session has no inventory yet: load() it first');
    return this.#inventory;
  }
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function releaseProblems(lock: DeployLock): Promise<string[]> {
  try {
    await lock.release();
    return [];
  } catch (err) {
    return [`deploy lock not released: ${messageOf(err)}; use \`drover lock release\``];
  }
}

/** The result of a run that ran nothing (--list-tasks). */
const notRun = (): RunResult => ({
  status: 'ok',
  recap: {},
  outcomes: [],
  changedHosts: [],
  failedHosts: [],
  unreachableHosts: [],
  notReachedHosts: [],
});

/** A change made outside a playbook, in the shape the audit log reads runs in. */
const mutationRun = (): CollectedRun => ({
  startedAt: new Date().toISOString(),
  plays: [],
  hosts: [],
  outcomes: [],
  notes: [],
});
