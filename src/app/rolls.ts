import { UsageError } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import { parseSerial } from '../playbook/serial.js';
import type { RunResult } from '../runner/run-playbook.js';
import { PLAYBOOKS, type PlaybookSpec } from './playbooks.js';
import { restartedHosts, stoppedEarly, summaryLines } from './run-summary.js';

export interface RollOptions {
  /** Clients restarted at once: a count or a percentage (the playbook's default is 25%). */
  serial?: string;
  /** Go on when the pre-flight finds the cluster unhealthy. */
  force?: boolean;
  /** upgrade: the new image. */
  image?: string;
  /** false (`--no-snapshot`): no snapshot before the servers restart. */
  snapshot?: boolean;
}

export interface Roll {
  playbook: PlaybookSpec;
  extraVars: Vars;
  summarize: (result: RunResult, check: boolean) => string[];
}

/**
 * `restart` and `upgrade`: the quorum-safe roll of docs/rolling-restarts.md. Both are plain
 * playbooks run by the general engine; the options only become extra vars: serial ->
 * consul_roll_serial, force -> consul_roll_force, image -> consul_image, --no-snapshot ->
 * consul_snapshot_before_roll: false.
 */
export function roll(kind: 'restart' | 'upgrade', o: RollOptions): Roll {
  const extraVars: Vars = {};
  if (o.serial !== undefined) {
    const steps = parseSerial(o.serial);
    if (typeof steps === 'string') throw new UsageError(`--serial ${steps}`);
    extraVars['consul_roll_serial'] = o.serial;
  }
  if (o.force) extraVars['consul_roll_force'] = true;
  if (o.snapshot === false) extraVars['consul_snapshot_before_roll'] = false;
  if (kind === 'upgrade') {
    if (!o.image || o.image.trim() === '') throw new UsageError('--image needs an image reference');
    extraVars['consul_image'] = o.image;
  }
  const image = o.image;
  return {
    playbook: kind === 'restart' ? PLAYBOOKS.restart : PLAYBOOKS.upgrade,
    extraVars,
    summarize:
      kind === 'upgrade' && image !== undefined
        ? (result, check) => [...summarizeRoll(result, check), ...keepImageLines(result, check, image)]
        : summarizeRoll,
  };
}

/**
 * After an upgrade went through: the exact line the inventory needs, since a deploy that still
 * names the old image is refused as a downgrade (consul_image_version).
 */
export function keepImageLines(result: RunResult, check: boolean, image: string): string[] {
  if (check || result.status !== 'ok') return [];
  return [
    'keep this image in the inventory (all: vars:), or the next deploy is refused as a downgrade:',
    `  consul_image: ${JSON.stringify(image)}`,
  ];
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
 * The roll's lines after the recap (run-summary.ts): always who was restarted, `not reached`
 * in the roll's sense, and in check mode the gates, right under the order.
 */
export function summarizeRoll(result: RunResult, check: boolean): string[] {
  return summaryLines(result, {
    check,
    restarts: 'always',
    notReached: notReachedByRoll,
    ...(check ? { afterRestarts: GATES } : {}),
  });
}
