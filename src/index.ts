/**
 * drover as a library: `import { deploy, plan, verify, restart, upgrade } from 'drover'`. Each
 * call is one session (src/app/session.ts): one SSH connection per host, the deploy lock and
 * the audit log for whatever changes hosts, the same checks and outcomes as the CLI. Nothing
 * is printed unless `output` says where; `onEvent` receives the events of `--events`.
 */
import { Writable } from 'node:stream';
import { loadCheckedInventory } from './app/load-checked-inventory.js';
import type { Output } from './app/output.js';
import { PLAYBOOKS } from './app/playbooks.js';
import { roll, type RollOptions } from './app/rolls.js';
import { Session, type PlaybookRun, type RunReport } from './app/session.js';
import { verifyCluster } from './app/verify.js';
import type { DeploymentReport } from './consul/verify/verify-deployment.js';
import type { Inventory } from './inventory/types.js';
import type { DroverEvent } from './report/events.js';

export type { Output } from './app/output.js';
export type { RollOptions } from './app/rolls.js';
export type { RunReport } from './app/session.js';
export type { DeploymentReport } from './consul/verify/verify-deployment.js';
export type { Inventory, Host, Group, Vars } from './inventory/types.js';
export type { DroverEvent } from './report/events.js';
export type { RunConclusion, RunOutcomeStatus } from './report/conclusion.js';
export type { RunResult, RunStatus } from './runner/run-playbook.js';
export {
  ConfigError,
  DroverError,
  ExitCode,
  GateError,
  InterruptedError,
  LockHeldError,
  TaskFailedError,
  UnreachableError,
  UsageError,
  type ExitCodeValue,
} from './errors.js';

export interface DroverOptions {
  /** The inventory file. */
  inventory: string;
  /** A host pattern: only these hosts (names, groups, a:b, a:!b, a:&b, globs). */
  limit?: string;
  /** Hosts worked on at once (default 10). */
  forks?: number;
  /** Private key for hosts without ssh_key; else the ssh-agent. */
  sshKey?: string;
  /** Trust and record unknown host keys (changed keys are always refused). */
  acceptNewHostKeys?: boolean;
  connectTimeoutSeconds?: number;
  /** Seconds to wait for a deploy lock held by another run (default 0: LockHeldError's exit code 6). */
  lockWaitSeconds?: number;
  /** Where progress, recaps and warnings go (default: nowhere). */
  output?: Output;
  /** Every event of the run as it happens: run_start, play_start, task_start, task_end, ..., run_end. */
  onEvent?: (event: DroverEvent) => void;
  /** Aborting it stops the run as Ctrl-C does: running tasks finish, no new one starts. */
  signal?: AbortSignal;
}

export interface DeployOptions extends DroverOptions {
  /** Show what would change, touch nothing (deploy --check). */
  check?: boolean;
  /** Diffs of every changed file in the task messages. */
  diff?: boolean;
}

const discard = (): Writable =>
  new Writable({
    write: (_chunk, _encoding, done) => done(),
  });

const silent = (): Output => ({
  progress: discard(),
  progressIsTty: false,
  ci: true,
  result: discard(),
  warn: () => undefined,
});

function withSession<T>(name: string, o: DroverOptions, use: (s: Session) => Promise<T>): Promise<T> {
  return Session.with(
    {
      inventoryFile: o.inventory,
      limit: o.limit,
      ...(o.forks !== undefined ? { forks: o.forks } : {}),
      connection: {
        ...(o.sshKey ? { sshKey: o.sshKey } : {}),
        acceptNewHostKeys: o.acceptNewHostKeys === true,
        connectTimeoutSeconds: o.connectTimeoutSeconds ?? 10,
      },
      output: o.output ?? silent(),
      command: `drover ${name} -i ${o.inventory} (api)`,
      ...(o.lockWaitSeconds !== undefined ? { lockWaitSeconds: o.lockWaitSeconds } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    },
    use,
  );
}

const events = (o: DroverOptions): Pick<PlaybookRun, 'onEvent'> => (o.onEvent ? { onEvent: o.onEvent } : {});

/** Deploys the Consul cluster the inventory describes (drover deploy); under the lock, audited. */
export function deploy(o: DeployOptions): Promise<RunReport> {
  return withSession('deploy', o, (s) => {
    const run: PlaybookRun = { playbook: PLAYBOOKS.deploy, diff: o.diff === true, ...events(o) };
    return o.check ? s.plan(run) : s.apply(run);
  });
}

/** Every change deploy would make, with diffs; touches nothing (drover plan). */
export function plan(o: DroverOptions): Promise<RunReport> {
  return withSession('plan', o, (s) =>
    s.plan({ playbook: PLAYBOOKS.deploy, diff: true, view: 'plan', ...events(o) }),
  );
}

/** The cluster checks of drover verify; `ok` false lists the problems. */
export function verify(o: DroverOptions): Promise<DeploymentReport> {
  return withSession('verify', o, (s) => verifyCluster(s));
}

/** The quorum-safe rolling restart of drover restart. */
export function restart(o: DroverOptions & RollOptions & { check?: boolean }): Promise<RunReport> {
  return rolling('restart', o);
}

/** drover upgrade: the new image pulled everywhere first, then the same safe roll. */
export function upgrade(
  o: DroverOptions & RollOptions & { image: string; check?: boolean },
): Promise<RunReport> {
  return rolling('upgrade', o);
}

function rolling(kind: 'restart' | 'upgrade', o: DroverOptions & RollOptions & { check?: boolean }) {
  const { playbook, extraVars, summarize } = roll(kind, o);
  return withSession(kind, o, (s) => {
    const run: PlaybookRun = { playbook, extraVars, summarize, ...events(o) };
    return o.check ? s.plan(run) : s.apply(run);
  });
}

/**
 * Reads and checks an inventory without touching any host: ConfigError (file:line:col path:
 * message, every problem) when it is bad. `consul` adds the checks of the Consul commands.
 */
export function loadInventory(
  file: string,
  o: { consul?: boolean; warn?: (line: string) => void } = {},
): Promise<Inventory> {
  return loadCheckedInventory(file, { consul: o.consul === true, warn: o.warn ?? (() => undefined) });
}
