/**
 * `npm run chaos`: the fault campaign (docs/reliability.md). Not part of `npm test`.
 *
 *   npm run chaos                          20 minutes of runs from a new campaign seed
 *   npm run chaos -- --runs 200 --budget 240 --lanes 2 --seed 7
 *   npm run chaos -- --resume              go on with the campaign in runs.ndjson (same seed)
 *   npm run chaos -- --replay 1234,5678    those runs again, reported on their own
 *   npm run chaos -- --report              RESULTS.md written again from runs.ndjson, nothing run
 *
 * Each lane is 5 lab hosts (3 servers, 2 clients) of its own; lanes run at once. A run that
 * starts always finishes (with its healing), so the budget is checked between runs. Records are
 * appended to test/chaos/runs.ndjson as each run ends, and RESULTS.md is written again after
 * each one, so a campaign stopped half-way keeps what it found. A replay writes to out/ only.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labHosts, labUp, STATE_DIR, type LabHost } from '../lab/lab.js';
import { rejudged, renderResults, verdictOf, type CampaignInfo } from './report.js';
import { observeOperation, runScenario, undoFaults, type Lane, type RunRecord } from './run-one.js';
import { runSeed, scenarioOf, type ObservedRun, type Operation } from './scenario.js';

const HERE = import.meta.dirname;
const RUNS_FILE = join(HERE, 'runs.ndjson');
const RESULTS_FILE = join(HERE, 'RESULTS.md');
const OUT = join(HERE, 'out');
const LANE_HOSTS = 5;

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    budget: { type: 'string', default: '20' },
    seed: { type: 'string' },
    lanes: { type: 'string', default: '1' },
    resume: { type: 'boolean', default: false },
    replay: { type: 'string' },
    report: { type: 'boolean', default: false },
  },
});

interface Header {
  header: true;
  campaignSeed: number;
  /** drover's commit when the campaign started (each record names its own too). */
  commit?: string;
  startedAt: string;
  lanes: number;
}

function readCampaign(): { header: Header; records: RunRecord[] } | undefined {
  if (!existsSync(RUNS_FILE)) return undefined;
  const [first, ...rest] = readFileSync(RUNS_FILE, 'utf8').trim().split('\n').filter(Boolean);
  if (!first) return undefined;
  return { header: JSON.parse(first) as Header, records: rest.map((l) => JSON.parse(l) as RunRecord) };
}

/**
 * A lane's inventory folder, named after its hosts: a replay on other hosts (LAB_FIRST_HOST)
 * while a campaign runs must not share the campaign's folders.
 */
const laneDir = (hosts: readonly LabHost[]) =>
  join(tmpdir(), `drover-chaos-${hosts[0]?.name ?? 'none'}-${hosts[hosts.length - 1]?.name ?? 'none'}`);

function lanesOf(count: number): Lane[] {
  const first = Number(process.env['LAB_FIRST_HOST'] ?? '1');
  const hosts = labHosts().slice(first - 1);
  return Array.from({ length: count }, (_, i) => {
    const mine = hosts.slice(i * LANE_HOSTS, (i + 1) * LANE_HOSTS);
    return {
      index: i + 1,
      servers: mine.slice(0, 3),
      clients: mine.slice(3),
      dir: laneDir(mine),
    };
  });
}

const info = (header: Header, records: readonly RunRecord[]): CampaignInfo => ({
  campaignSeed: header.campaignSeed,
  commit: [...new Set(records.map((r) => r.commit ?? header.commit ?? '?'))].join(', '),
  machine: `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  lanes: header.lanes,
  startedAt: header.startedAt,
  minutes: records.reduce((n, r) => n + r.durationMs, 0) / 60000 / header.lanes,
  loadAverage: loadavg()
    .map((l) => l.toFixed(2))
    .join(', '),
  settings: [
    'operations start from a fresh baseline deploy (TLS on, ACLs under deny, Consul 1.20.1; upgrade goes to 1.20.2)',
    'gate timeouts 90 s (servers) and 60 s (clients) instead of 300 s and 120 s; an operation is killed as hung after 480 s',
    'host faults last 5 s (short), 40 s (long) or until the operation ends (run)',
  ],
});

function line(r: RunRecord): string {
  const v = verdictOf(r);
  const bad = v === 'ok' ? '' : v;
  return `seed ${r.seed} lane ${r.lane}: ${r.operation} / ${r.fault}${r.duration ? ` (${r.duration})` : ''} on ${r.targetHost ?? r.target} at ${r.moment}${r.injected ? '' : ' (not reached)'}: exit ${r.exitCode ?? 'killed'}, ${(r.durationMs / 1000).toFixed(0)} s${r.setupFailed ? `, setup failed: ${r.setupFailed}` : ''}${bad ? ` — ${bad}` : ''}`;
}

async function main(): Promise<number> {
  if (values.report) {
    const campaign = readCampaign();
    if (!campaign) throw new Error(`${RUNS_FILE}: no campaign recorded`);
    const records = campaign.records.map(rejudged);
    writeFileSync(RESULTS_FILE, renderResults(info(campaign.header, records), records));
    console.log(`${RESULTS_FILE}: ${campaign.records.length} runs`);
    return 0;
  }
  const lanes = Number(values.lanes);
  // A lab that has the hosts is used as it is: lab-up would tear down a lab with a host down
  // (a crashed host a stopped run left), and with it anything else using the lab.
  const needed = Number(process.env['LAB_FIRST_HOST'] ?? '1') - 1 + lanes * LANE_HOSTS;
  if (!existsSync(join(STATE_DIR, 'hosts.json')) || labHosts().length < needed)
    await labUp(Math.max(8, needed));
  const laneList = lanesOf(lanes);
  await Promise.all(laneList.map((l) => undoFaults([...l.servers, ...l.clients])));
  mkdirSync(OUT, { recursive: true });

  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: HERE }).toString().trim();
  const replay = values.replay?.split(',').map(Number);
  const previous = values.resume ? readCampaign() : undefined;
  const header: Header = previous?.header ?? {
    header: true,
    campaignSeed: Number(values.seed ?? Math.floor(Math.random() * 2 ** 31)),
    startedAt: new Date().toISOString(),
    lanes,
    commit,
  };
  const records: RunRecord[] = [...(previous?.records ?? [])];
  if (!replay && !previous) writeFileSync(RUNS_FILE, `${JSON.stringify(header)}\n`);

  // The campaign's seeds in order, skipping those already recorded (a resumed campaign re-runs
  // only what a stopped sitting left unfinished).
  const seeds = replay ?? [];
  const recorded = new Set(records.map((r) => r.seed));
  let next = 0;
  const takeSeed = (): number | undefined => {
    if (replay) return seeds.shift();
    for (;;) {
      if (values.runs !== undefined && next >= Number(values.runs)) return undefined;
      const seed = runSeed(header.campaignSeed, next++);
      if (!recorded.has(seed)) return seed;
    }
  };
  const deadline = Date.now() + Number(values.budget) * 60000;
  console.log(`campaign seed ${header.campaignSeed}: ${lanes} lane(s), budget ${values.budget} min`);

  // Each operation's unfaulted run, observed once per campaign by whichever lane needs it first.
  const observed = new Map<Operation, Promise<ObservedRun>>();
  const observedRun = (op: Operation, lane: Lane) => {
    if (!observed.has(op)) observed.set(op, observeOperation(op, lane, join(OUT, `observed-${op}`)));
    return observed.get(op) as Promise<ObservedRun>;
  };

  const replayed: RunRecord[] = [];
  await Promise.all(
    laneList.map(async (lane) => {
      for (;;) {
        if (!replay && Date.now() > deadline) return;
        const seed = takeSeed();
        if (seed === undefined) return;
        const scenario = scenarioOf(seed);
        const r: RunRecord = {
          ...(await runScenario(
            scenario,
            lane,
            join(OUT, String(seed)),
            await observedRun(scenario.operation, lane),
          )),
          commit,
        };
        console.log(line(r));
        if (replay) {
          replayed.push(r);
          continue;
        }
        records.push(r);
        appendFileSync(RUNS_FILE, `${JSON.stringify(r)}\n`);
        writeFileSync(RESULTS_FILE, renderResults(info(header, records), records));
      }
    }),
  );
  if (replay)
    writeFileSync(join(OUT, 'REPLAY.md'), renderResults(info({ ...header, lanes }, replayed), replayed));
  const done = replay ? replayed : records;
  const bad = done.filter((r) => verdictOf(r) !== 'ok');
  console.log(
    `${done.length} runs, ${bad.length} with a finding${replay ? ` (out/REPLAY.md)` : ' (test/chaos/RESULTS.md)'}`,
  );
  return bad.length === 0 ? 0 : 1;
}

process.exitCode = await main();
