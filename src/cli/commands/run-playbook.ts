import { dirname, basename, join, resolve } from 'node:path';
import { appendAudit, auditEntriesForRun } from '../../audit/audit.js';
import { throwIfInterrupted } from '../../config/interrupt.js';
import { withConsulRoleGroups } from '../../inventory/consul-checks.js';
import { selectHosts } from '../../inventory/patterns.js';
import type { Inventory, Vars } from '../../inventory/types.js';
import { currentIdentity } from '../../lock/identity.js';
import { builtinModules } from '../../modules/registry.js';
import { loadPlaybook } from '../../playbook/load-playbook.js';
import { DROVER_VERSION, PLAYBOOKS_DIR, PROJECT_ROOT } from '../../paths.js';
import { concludeRun } from '../../report/conclusion.js';
import { builtinOrderers } from '../../consul/gates/leader-last-orderer.js';
import { createReporter } from '../../runner/create-reporter.js';
import { runPlaybook, type RunResult } from '../../runner/run-playbook.js';
import { UsageError } from '../../errors.js';
import { Connections } from '../connections.js';
import { applyGossipKey } from '../gossip-key-source.js';
import { connectionDefaults, forks, loadCheckedInventory, type CommonOptions } from '../context.js';
import { DeployLock } from '../deploy-lock.js';
import { checkBeforeConnecting } from '../input-check.js';
import type { Output } from '../output.js';
import { RunArtifacts } from '../run-artifacts.js';
import { canRestart, summaryLines } from '../run-summary.js';
import { firstHosts, warmUp } from '../warm-up.js';

export interface PlaybookCommandOptions extends CommonOptions {
  playbook?: string;
  check?: boolean;
  diff?: boolean;
  tags?: string;
  skipTags?: string;
  /** --output json */
  output?: 'text' | 'json';
  /** --events FILE */
  events?: string;
  /** --junit FILE */
  junit?: string;
  /** --lock-wait SECONDS: wait for a held deploy lock instead of exiting 6. */
  lockWait?: string;
  /** Vars above every other (drover upgrade's --image, restart's --serial and --force). */
  extraVars?: Vars;
  /** A command's own lines after the recap instead of summaryLines' (drover restart: the roll's). */
  summarize?: (result: RunResult) => string[];
  /** drover plan: one short block of what would change (src/report/plan-text.ts), unless verbose. */
  plan?: boolean;
  /** -v: every task on every host, as deploy and run always print them. */
  verbose?: boolean;
}

export const DEFAULT_PLAYBOOK = join(PLAYBOOKS_DIR, 'consul-deploy.yaml');

/**
 * Relative `src:` paths in a playbook resolve against the project around it: the parent of a
 * `playbooks/` folder (where templates/ and schemas/ sit), else the playbook's own folder.
 */
export function playbookBaseDir(playbookFile: string): string {
  const dir = dirname(resolve(playbookFile));
  if (dir === PLAYBOOKS_DIR) return PROJECT_ROOT;
  return basename(dir) === 'playbooks' ? dirname(dir) : dir;
}

const list = (s: string | undefined): string[] =>
  s
    ? s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    : [];

function lockWaitSeconds(o: PlaybookCommandOptions): number {
  const n = Number(o.lockWait ?? '0');
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`--lock-wait must be a number of seconds, not "${o.lockWait}"`);
  return n;
}

/** The command line as given, for the lock, the audit log and the reports (secrets are scrubbed later). */
export const commandLine = (): string => ['drover', ...process.argv.slice(2)].join(' ');

/**
 * deploy, plan, run (and the rolling commands): validate everything first (inventory, playbook,
 * limit) so bad input touches no host; take the cluster-wide deploy lock unless checking; run the
 * playbook over one SSH connection per host; then, however the run ended, release the lock,
 * append the audit log on every changed host and write the reports.
 */
export async function runPlaybookCommand(
  o: PlaybookCommandOptions,
  out: Output,
  signal: AbortSignal,
): Promise<RunResult> {
  const check = o.check === true;
  const command = commandLine();
  const artifacts = new RunArtifacts(
    {
      json: o.output === 'json',
      check,
      ...(o.events ? { eventsFile: o.events } : {}),
      ...(o.junit ? { junitFile: o.junit } : {}),
    },
    command,
  );
  let connections: Connections | undefined;
  let lock: DeployLock | undefined;
  try {
    const playbookFile = o.playbook ?? DEFAULT_PLAYBOOK;
    const consul =
      resolve(playbookFile).startsWith(PLAYBOOKS_DIR) && basename(playbookFile).startsWith('consul-');
    const checked = await loadCheckedInventory(o, { consul, warn: out.warn, signal });
    // A cluster of servers only is a Consul cluster: its `clients` group is empty, not unknown.
    const loaded = consul ? withConsulRoleGroups(checked) : checked;
    artifacts.learnSecrets(loaded);
    const modules = builtinModules();
    const playbook = await loadPlaybook(playbookFile, modules);
    const waitSeconds = lockWaitSeconds(o);
    throwIfInterrupted(signal);
    // Every host's values, rendered and checked from the files alone: bad input touches no host.
    await checkBeforeConnecting({
      inventory: loaded,
      playbook,
      modules,
      baseDir: playbookBaseDir(playbookFile),
      check,
      consul,
      signal,
      ...(o.extraVars ? { extraVars: o.extraVars } : {}),
    });
    connections = new Connections(loaded, connectionDefaults(o));
    const pool = connections;
    // The first task's connections open while the lock is taken, not after it.
    warmUp(pool, firstHosts(playbook, loaded, o.limit, forks(o)));
    if (!check) {
      lock = new DeployLock(loaded, pool);
      await lock.acquire({ command, waitSeconds, secrets: artifacts.secrets, signal, onWait: out.warn });
    }
    // Consul playbooks get the gossip key: inventory, env or key file, else created once.
    const inventory = consul
      ? await applyGossipKey(loaded, { create: !check, connect: (h) => pool.get(h), warn: out.warn })
      : loaded;
    artifacts.learnSecrets(inventory);
    const human = await createReporter({
      tty: out.progressIsTty,
      ci: out.ci,
      stream: out.progress,
      view: o.plan && !o.verbose ? 'plan' : 'tasks',
    });
    const result = await runPlaybook({
      playbook,
      inventory,
      selectHosts,
      ...(o.limit ? { limit: o.limit } : {}),
      modules,
      orderers: builtinOrderers(),
      ...(o.extraVars ? { extraVars: o.extraVars } : {}),
      connect: (host) => pool.borrow(host),
      forks: forks(o),
      check,
      diff: o.diff === true,
      tags: list(o.tags),
      skipTags: list(o.skipTags),
      baseDir: playbookBaseDir(playbookFile),
      reporter: artifacts.reporter(human),
      signal,
    });
    // The reporter has printed the PLAY RECAP; say in a few lines what the run did.
    const summary = o.summarize?.(result) ?? summaryLines(result, { check, restarts: canRestart(playbook) });
    out.progress.write(summary.map((l) => `${l}\n`).join(''));
    await finishRun({
      inventory,
      pool,
      lock,
      artifacts,
      out,
      check,
      command,
      how: { status: result.status, ...(result.abortReason ? { reason: result.abortReason } : {}) },
    });
    return result;
  } catch (err) {
    await finishRun({ pool: connections, lock, artifacts, out, check, command, how: { error: err } }).catch(
      () => undefined,
    );
    throw err;
  } finally {
    await connections?.closeAll();
  }
}

/** Everything that must happen however a run ended; each step is attempted even if another fails. */
async function finishRun(o: {
  inventory?: Inventory;
  pool: Connections | undefined;
  lock: DeployLock | undefined;
  artifacts: RunArtifacts;
  out: Output;
  check: boolean;
  command: string;
  how: { status?: RunResult['status']; reason?: string; error?: unknown };
}): Promise<void> {
  const problems: string[] = [];
  if (!o.check && o.pool) {
    const run = o.artifacts.collected;
    const conclusion = concludeRun(run.outcomes, { ...o.how, secrets: o.artifacts.secrets });
    const entries = auditEntriesForRun({
      run,
      conclusion,
      identity: currentIdentity(),
      command: o.command,
      droverVersion: DROVER_VERSION,
    });
    const pool = o.pool;
    await Promise.all(
      [...entries].map(async ([host, entry]) => {
        const path = o.inventory?.hosts.get(host)?.vars['drover_audit_log'];
        try {
          await appendAudit(await pool.get(host), entry, {
            ...(typeof path === 'string' ? { path } : {}),
            secrets: o.artifacts.secrets,
          });
        } catch (err) {
          problems.push(
            `audit log on ${host} not written: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }),
    );
  }
  try {
    await o.lock?.release();
  } catch (err) {
    problems.push(
      `deploy lock not released: ${err instanceof Error ? err.message : String(err)}; use \`drover lock release\``,
    );
  }
  for (const p of problems) o.out.warn(`warning: ${p}`);
  o.artifacts.finish(o.out, o.how);
}
