import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Vars } from '../../inventory/types.js';
import { PLAYBOOKS_DIR } from '../../paths.js';
import { parseSerial } from '../../playbook/serial.js';
import type { RunResult } from '../../runner/run-playbook.js';
import { restartedHosts, stoppedEarly, summaryLines } from '../run-summary.js';
import type { PlaybookCommandOptions } from './run-playbook.js';

export const RESTART_PLAYBOOK = join(PLAYBOOKS_DIR, 'consul-rolling-restart.yaml');
export const UPGRADE_PLAYBOOK = join(PLAYBOOKS_DIR, 'consul-upgrade.yaml');

type RunOpts = PlaybookCommandOptions & { output: 'text' | 'json' };

export interface RollingOptions extends RunOpts {
  serial?: string;
  force?: boolean;
  image?: string;
}

export interface RollingDeps {
  /** main.ts's common run options (-i, --limit, -o, --events, ...). */
  withRun: (cmd: Command) => Command;
  /** main.ts's way of running a playbook command; returns the exit code. */
  action: (o: RunOpts) => Promise<number>;
  setExit: (code: number) => void;
}

/**
 * `drover restart` and `drover upgrade`: the quorum-safe roll of docs/rolling-restarts.md. Both
 * are plain playbooks (playbooks/consul-rolling-restart.yaml, consul-upgrade.yaml) run by the
 * general engine; the flags only become extra vars: --serial -> consul_roll_serial, --force ->
 * consul_roll_force, --image -> consul_image.
 */
export function addRollingCommands(root: Command, deps: RollingDeps): void {
  const rollFlags = (cmd: Command): Command =>
    deps
      .withRun(cmd)
      .option('--serial <n|n%>', 'clients restarted at once: a count or a percentage (default 25%)')
      .option('--force', 'go on when the pre-flight finds the cluster unhealthy (it still says why)')
      .option('-C, --check', 'print the order and the gates the roll would apply; restart nothing');

  rollFlags(
    root
      .command('restart')
      .description(
        'restart the Consul agents without losing quorum: servers one at a time, leader last, gated',
      ),
  ).action(async (o: RollingOptions) => deps.setExit(await deps.action(rollOptions(o, 'restart'))));

  rollFlags(
    root
      .command('upgrade')
      .description(
        'move the Consul agents to a new image, pulled everywhere first, then rolled like restart',
      ),
  )
    .requiredOption('--image <ref>', 'the new image, e.g. hashicorp/consul:1.20.2')
    .action(async (o: RollingOptions) => deps.setExit(await deps.action(rollOptions(o, 'upgrade'))));
}

/** The playbook command a roll is: which playbook, which extra vars, which summary. */
export function rollOptions(o: RollingOptions, kind: 'restart' | 'upgrade'): RunOpts {
  const extraVars: Vars = {};
  if (o.serial !== undefined) {
    const steps = parseSerial(o.serial);
    if (typeof steps === 'string') throw new UsageError(`--serial ${steps}`);
    extraVars['consul_roll_serial'] = o.serial;
  }
  if (o.force) extraVars['consul_roll_force'] = true;
  if (kind === 'upgrade') {
    if (!o.image || o.image.trim() === '') throw new UsageError('--image needs an image reference');
    extraVars['consul_image'] = o.image;
  }
  const { serial: _s, force: _f, image: _i, ...rest } = o;
  return {
    ...rest,
    playbook: kind === 'restart' ? RESTART_PLAYBOOK : UPGRADE_PLAYBOOK,
    extraVars,
    summarize: (result) => summarizeRoll(result, o.check === true),
  };
}

/**
 * When the roll stopped early: every host of the roll that was neither restarted, nor failed,
 * nor unreachable, i.e. the agents the roll left as they were (the pre-flight reads every host,
 * so "no task ran" would name none). Empty when it went to the end.
 */
export function notReachedByRoll(result: RunResult): string[] {
  if (!stoppedEarly(result)) return [];
  const out = new Set([...Object.keys(result.recap), ...result.notReachedHosts]);
  for (const h of [...restartedHosts(result), ...result.failedHosts, ...result.unreachableHosts])
    out.delete(h);
  return [...out];
}

const GATES = [
  'gates: pre-flight (leader, autopilot healthy, every server alive, FailureTolerance >= 1); ' +
    'before each server: ready (every other server alive, a leader); ' +
    'after each server: back as a caught-up voter, a leader, autopilot healthy, FailureTolerance at its baseline; ' +
    'after each client batch: every member alive and knowing the leader',
  'the servers are ordered leader-last again before each one; the order above is the one a healthy, unchanging cluster would see',
];

/**
 * The roll's lines after the recap (src/cli/run-summary.ts): always who was restarted, `not
 * reached` in the roll's sense, and in check mode the gates, right under the order.
 */
export function summarizeRoll(result: RunResult, check: boolean): string[] {
  const lines = summaryLines(result, { check, restarts: 'always', notReached: notReachedByRoll });
  if (check) {
    const at = lines.findIndex((l) => l.startsWith('would restart, in this order: '));
    lines.splice(at + 1, 0, ...GATES);
  }
  return lines;
}
