/**
 * test/chaos/RESULTS.md, written from a campaign's run records (runs.ndjson): the counts a
 * reader asks for first (runs, faults by kind, operation and stage), then every finding with
 * the seed that replays it, then one line per run. Pure: the same records give the same text.
 */
import {
  causedByFault,
  faultOnServer,
  isHandover,
  SIGNAL_NOBODY_SENT,
  unexplained,
  type JudgedSpan,
} from './judge.js';
import type { RunRecord } from './run-one.js';
import type { Fault } from './scenario.js';

export interface CampaignInfo {
  campaignSeed: number;
  commit: string;
  machine: string;
  lanes: number;
  startedAt: string;
  /** Wall-clock minutes the runs took, over every sitting. */
  minutes: number;
  loadAverage: string;
  settings: string[];
}

const count = <T>(items: readonly T[], key: (t: T) => string): [string, number][] => {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
};

const table = (head: string[], rows: (string | number)[][]): string =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const seeds = (rs: readonly RunRecord[]) => (rs.length ? rs.map((r) => r.seed).join(', ') : '-');

export interface Findings {
  wrongExit: RunRecord[];
  notConverged: RunRecord[];
  lostWrites: RunRecord[];
  leaderlessNotByFault: RunRecord[];
  belowQuorumNotByFault: RunRecord[];
  lockLeftHeld: RunRecord[];
  playbookErrors: RunRecord[];
  hung: RunRecord[];
  setupFailed: RunRecord[];
}

export function findingsOf(records: readonly RunRecord[]): Findings {
  const ran = records.filter((r) => !r.setupFailed);
  return {
    wrongExit: ran.filter((r) => r.wrongExit),
    notConverged: ran.filter((r) => !r.converged),
    lostWrites: ran.filter((r) => r.lost.length > 0),
    leaderlessNotByFault: ran.filter((r) => r.leaderless.some(unexplained)),
    belowQuorumNotByFault: ran.filter((r) => r.belowQuorum.some((s) => !s.byFault)),
    lockLeftHeld: ran.filter((r) => r.lockLeftHeld),
    playbookErrors: ran.filter((r) => (r.playbookErrors ?? []).length > 0),
    hung: ran.filter((r) => r.hung),
    setupFailed: records.filter((r) => r.setupFailed),
  };
}

export function renderResults(info: CampaignInfo, records: readonly RunRecord[]): string {
  const ran = records.filter((r) => !r.setupFailed);
  const f = findingsOf(records);
  const spans = (kind: 'leaderless' | 'belowQuorum', which: (s: JudgedSpan) => boolean) =>
    ran.flatMap((r) => r[kind].filter(which).map((s) => ({ ...s, seed: r.seed })));
  const longest = (xs: { ms: number; seed: number }[]) =>
    xs.length ? xs.reduce((a, b) => (b.ms > a.ms ? b : a)) : undefined;
  const spanRow = (what: string, xs: { ms: number; seed: number }[]) => {
    const l = longest(xs);
    return [what, xs.length, l ? `${seconds(l.ms)} (seed ${l.seed})` : '-'];
  };
  const lost = ran.reduce((n, r) => n + r.lost.length, 0);
  const acked = ran.reduce((n, r) => n + r.acknowledged, 0);
  const injected = ran.filter((r) => r.injected);

  const lines = [
    '# Chaos campaign: results',
    '',
    `Written by \`npm run chaos\` (test/chaos/campaign.ts) from test/chaos/runs.ndjson; do not edit by hand.`,
    'Any run replays with `npm run chaos -- --replay SEED`; docs/reliability.md explains the campaign.',
    '',
    `- campaign seed ${info.campaignSeed}, started ${info.startedAt}, drover at ${info.commit}`,
    `- ${records.length} runs (${ran.length} ran, ${f.setupFailed.length} whose baseline deploy failed) on ${info.lanes} lane(s) of 3 servers + 2 clients, ${info.minutes.toFixed(0)} min of runs`,
    `- machine: ${info.machine}; load average at the end: ${info.loadAverage}`,
    ...info.settings.map((s) => `- ${s}`),
    '',
    '## What held',
    '',
    table(
      ['check', 'result', 'seeds'],
      [
        ['wrong exit code or recap', f.wrongExit.length, seeds(f.wrongExit)],
        ['did not converge after the healing deploy', f.notConverged.length, seeds(f.notConverged)],
        [`acknowledged writes lost (of ${acked})`, lost, seeds(f.lostWrites)],
        [
          'runs with a leaderless moment the fault does not explain',
          f.leaderlessNotByFault.length,
          seeds(f.leaderlessNotByFault),
        ],
        [
          'runs below quorum not by the fault',
          f.belowQuorumNotByFault.length,
          seeds(f.belowQuorumNotByFault),
        ],
        ['deploy lock left held by a run that was not killed', f.lockLeftHeld.length, seeds(f.lockLeftHeld)],
        [
          'a task failed on its own playbook (condition, template)',
          f.playbookErrors.length,
          seeds(f.playbookErrors),
        ],
        ['drover hung (outlived the cap)', f.hung.length, seeds(f.hung)],
        [
          'converged only after the step drover asked for (resume a gossip key rotation)',
          ran.filter((r) => r.healingSteps).length,
          seeds(ran.filter((r) => r.healingSteps)),
        ],
      ],
    ),
    '',
    '## Moments without a leader, and below quorum',
    '',
    'A moment is a span of 100 ms samples of every server (`/v1/status/leader`, `/v1/status/peers`):',
    'leaderless when no server is named leader by a majority while naming itself; below quorum when',
    'fewer than 2 of the 3 servers answer. "By the fault": the fault was on a server, and the span',
    'overlaps its time, from injection to 30 s after it was healed. A leaderless span during a',
    'leadership hand-over drover asked for (the task "leadership moves away", and 2 s after it) is',
    'the transfer itself, and is counted apart with its length.',
    '',
    table(
      ['kind', 'spans', 'longest'],
      [
        spanRow(
          'leaderless, by the fault',
          spans('leaderless', (s) => s.byFault),
        ),
        spanRow(
          'leaderless during a hand-over drover asked for',
          spans('leaderless', (s) => !s.byFault && isHandover(s)),
        ),
        spanRow('leaderless, not by the fault', spans('leaderless', unexplained)),
        spanRow(
          'below quorum, by the fault',
          spans('belowQuorum', (s) => s.byFault),
        ),
        spanRow(
          'below quorum, not by the fault',
          spans('belowQuorum', (s) => !s.byFault),
        ),
      ],
    ),
    '',
    '## Faults',
    '',
    `${injected.length} of ${ran.length} runs reached their moment and were faulted; the others' moment never came (the operation stopped before it) or was missed (docs/reliability.md), and they count as runs without a fault.`,
    '',
    table(
      ['fault', 'runs', 'faulted'],
      count(ran, (r) => r.fault).map(([k, n]) => [k, n, injected.filter((r) => r.fault === k).length]),
    ),
    '',
    table(
      ['operation', 'runs'],
      count(ran, (r) => r.operation),
    ),
    '',
    table(
      ['target', 'runs'],
      count(ran, (r) => r.target),
    ),
    '',
    'Faults by kind and stage (the play of the moment), faulted runs only:',
    '',
    byKindAndStage(injected),
    '',
    table(
      ['exit code', 'runs'],
      count(ran, (r) => (r.exitCode === null ? 'killed' : String(r.exitCode))),
    ),
    '',
    '## Every run',
    '',
    table(
      [
        'seed',
        'operation',
        'fault',
        'target',
        'moment',
        'exit',
        'leaderless (longest)',
        'acked / lost',
        'healed',
        'verdict',
      ],
      records.map((r) => [
        r.seed,
        r.operation,
        `${r.fault}${r.duration ? ` (${r.duration})` : ''}`,
        `${r.target}${r.targetHost && r.targetHost !== 'drover' ? ` ${r.targetHost}` : ''}`,
        r.moment.replaceAll('|', '/') + (r.injected ? '' : ' (not reached)'),
        r.exitCode === null ? 'killed' : r.exitCode,
        r.leaderless.length ? seconds(Math.max(...r.leaderless.map((s) => s.ms))) : '-',
        `${r.acknowledged} / ${r.lost.length}`,
        r.setupFailed ? '-' : r.converged ? 'yes' : 'NO',
        verdictOf(r),
      ]),
    ),
    '',
  ];
  return lines.join('\n');
}

/**
 * A record's spans judged again by today's rule (causedByFault): the record keeps every span's
 * time and the fault's, so a sharper rule reads the same campaign without running it again.
 */
export function rejudged(r: RunRecord): RunRecord {
  const fault = {
    kind: r.fault as Fault,
    onServer: faultOnServer(r),
    ...(r.injectedAtMs !== undefined && { injectedAt: r.injectedAtMs }),
    ...(r.healedAtMs !== undefined && { healedAt: r.healedAtMs }),
  };
  const again = (s: JudgedSpan): JudgedSpan => ({
    ...s,
    byFault: causedByFault({ from: s.at, to: s.at + s.ms }, fault),
  });
  // A SIGINT that ended drover by itself is as right as exit 130 (wrongExit).
  const sigint =
    r.fault === 'sigint' && r.injected && r.exitCode === null && r.wrongExit === SIGNAL_NOBODY_SENT;
  const { wrongExit: _, ...rest } = r;
  return {
    ...(sigint ? rest : r),
    leaderless: r.leaderless.map(again),
    belowQuorum: r.belowQuorum.map(again),
  };
}

/** A table of faulted runs: a row per stage, a column per fault kind. */
function byKindAndStage(runs: readonly RunRecord[]): string {
  const kinds = count(runs, (r) => r.fault).map(([k]) => k);
  const stages = count(runs, (r) => r.stage).map(([st]) => st);
  return table(
    ['stage', ...kinds, 'all'],
    stages.map((st) => {
      const here = runs.filter((r) => r.stage === st);
      return [st, ...kinds.map((k) => here.filter((r) => r.fault === k).length || '-'), here.length];
    }),
  );
}

/** 'ok', or every finding of the run. */
export function verdictOf(r: RunRecord): string {
  if (r.setupFailed) return `setup: ${r.setupFailed}`;
  const bad = [
    r.wrongExit,
    r.converged ? undefined : 'not converged',
    r.lost.length ? `${r.lost.length} writes lost` : undefined,
    r.leaderless.some(unexplained) ? 'leaderless not by the fault' : undefined,
    r.belowQuorum.some((s) => !s.byFault) ? 'below quorum not by the fault' : undefined,
    r.lockLeftHeld ? 'lock left held' : undefined,
    (r.playbookErrors ?? []).length ? `playbook error: ${r.playbookErrors?.[0] ?? ''}` : undefined,
  ].filter(Boolean);
  return bad.length ? bad.join('; ') : 'ok';
}
