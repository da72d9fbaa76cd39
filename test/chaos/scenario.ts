/**
 * What one chaos run does, drawn from its seed alone, so that any run can be replayed with
 * `npm run chaos -- --replay SEED`: one operation, one fault, one target and one moment.
 * The moment is drawn as numbers here and resolved against what a fault-free run of the
 * operation did (resolveMoment), so a scenario names a task or batch that really runs.
 */
import { prng } from '../seeded-random.js';

export const OPERATIONS = [
  'first-deploy',
  'deploy-restart-change',
  'deploy-reload-change',
  'restart',
  'upgrade',
  'reset-node',
  'rotate-gossip-key',
  'snapshot',
  'rotate-tls',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export const HOST_FAULTS = [
  'partition',
  'cut',
  'link-down',
  'sshd-kill',
  'dockerd-kill',
  'freeze',
  'crash',
] as const;
export const DROVER_FAULTS = ['sigint', 'sigkill'] as const;
export type HostFault = (typeof HOST_FAULTS)[number];
export type DroverFault = (typeof DROVER_FAULTS)[number];
export type Fault = HostFault | DroverFault;

export const HOST_TARGETS = ['leader', 'follower', 'client', 'lock-host'] as const;
export type HostTarget = (typeof HOST_TARGETS)[number];
export type Target = HostTarget | 'drover';

/** How long a host fault lasts: a few seconds, most of a roll, or until the operation ends. */
export const DURATIONS = { short: 5000, long: 40000, run: Infinity } as const;
export type Duration = keyof typeof DURATIONS;

export interface Scenario {
  seed: number;
  operation: Operation;
  fault: Fault;
  target: Target;
  /** Host faults only. */
  duration?: Duration;
  /** Drawn numbers for the moment (resolveMoment) and for any host choice among equals. */
  momentPick: number;
  occurrence: number;
  hostPick: number;
}

const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;

/** The seed of the `index`-th run (0-based) of a campaign started with `campaignSeed`. */
export const runSeed = (campaignSeed: number, index: number): number =>
  (Math.imul(campaignSeed >>> 0, 2654435761) + Math.imul(index + 1, 40503)) >>> 0;

export function scenarioOf(seed: number): Scenario {
  const random = prng(seed);
  const operation = pick(random, OPERATIONS);
  // One run in five aims at drover's own process; the rest at a host of the cluster.
  const target: Target = random() < 0.2 ? 'drover' : pick(random, HOST_TARGETS);
  const fault: Fault = target === 'drover' ? pick(random, DROVER_FAULTS) : pick(random, HOST_FAULTS);
  const duration = target === 'drover' ? undefined : pick(random, Object.keys(DURATIONS) as Duration[]);
  return {
    seed,
    operation,
    fault,
    target,
    ...(duration && { duration }),
    momentPick: Math.floor(random() * 1e9),
    occurrence: 1 + Math.floor(random() * 3),
    hostPick: Math.floor(random() * 1e9),
  };
}

/** When the fault is injected: before drover starts, at a task's start on its nth host, or a batch's start. */
export type Moment =
  | { kind: 'before' }
  | { kind: 'task'; play: string; task: string; occurrence: number }
  | { kind: 'batch'; play: string; index: number };

/**
 * What a fault-free run of the operation showed, from the same baseline (calibrate in
 * run-one.ts): each task that started, on how many hosts, and each batch.
 */
export interface ObservedRun {
  tasks: { play: string; task: string; hosts: number }[];
  batches: { play: string; index: number }[];
}

/**
 * The moment a scenario means, among what a fault-free run of its operation did: every task
 * start (on its 1st, 2nd or 3rd host, as far as it ran on so many), every batch, and (for host
 * faults) the time before the run. A signal to drover before it runs is no fault, so not then.
 */
export function resolveMoment(s: Scenario, observed: ObservedRun): Moment {
  const moments: Moment[] = [
    ...(s.target === 'drover' ? [] : [{ kind: 'before' } as const]),
    ...observed.batches.map((b) => ({ kind: 'batch' as const, ...b })),
    ...observed.tasks.map((t) => ({
      kind: 'task' as const,
      play: t.play,
      task: t.task,
      occurrence: Math.min(s.occurrence, t.hosts),
    })),
  ];
  return moments[s.momentPick % moments.length] as Moment;
}

export function describeMoment(m: Moment): string {
  if (m.kind === 'before') return 'before the run';
  if (m.kind === 'batch') return `batch ${m.index} of "${m.play}"`;
  return `"${m.task}" starting on its host #${m.occurrence} ("${m.play}")`;
}

/** The stage a moment belongs to, for the report's table: the play, or "before". */
export const stageOf = (m: Moment): string => (m.kind === 'before' ? 'before the run' : m.play);
