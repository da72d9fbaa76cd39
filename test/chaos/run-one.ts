/**
 * One chaos run on one lane of lab hosts (3 servers, 2 clients): bare hosts, a baseline deploy
 * (except for a first deploy), the operation under its fault at its moment with the watcher
 * running, then the healing as an operator does it (the fault undone, a lock a killed run left
 * released, one plain `drover deploy`) and the checks: nothing owed, the cluster verifies, no
 * acknowledged write lost, the lock free, and the first run's exit code right.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fault, run, ssh, type FaultAction, type LabHost, type RunResult } from '../lab/lab.js';
import { cleanUp, LAB_CLUSTER_VARS, ROOT } from '../e2e/drover-cli.js';
import { inject, type ActiveFault } from './faults.js';
import {
  causedByFault,
  faultOnServer,
  overlapsAny,
  spanMs,
  wrongExit,
  type JudgedSpan,
  type RecapCounts,
} from './judge.js';
import { operationSpec, type OperationSpec } from './operations.js';
import {
  describeMoment,
  DURATIONS,
  resolveMoment,
  stageOf,
  type HostFault,
  type Moment,
  type ObservedRun,
  type Operation,
  type Scenario,
} from './scenario.js';
import { agentCall, readBack, watchCluster, type ClusterAccess, type Span } from './watcher.js';

export interface Lane {
  index: number;
  servers: LabHost[];
  clients: LabHost[];
  /** The lane's inventory folder (drover keeps its CA, token and snapshots beside the inventory). */
  dir: string;
}

/** The task of drover's rolls that hands the leadership over (consul_leader_transfer). */
const HANDOVER_TASK = 'leadership moves away';

/** deploy's refusal when a gossip key rotation was left half done, naming the command that resumes it. */
const RESUME_ROTATION = /Finish it with `drover rotate-gossip-key`/;

/** How long the operation may run before the campaign calls it hung and kills it. */
const OPERATION_CAP_S = 480;

export interface RunRecord {
  seed: number;
  /** drover's commit the run tested (set by the campaign). */
  commit?: string;
  lane: number;
  operation: string;
  fault: string;
  target: string;
  duration?: string;
  moment: string;
  stage: string;
  targetHost?: string;
  faultedHosts: string[];
  injected: boolean;
  injectedAtMs?: number;
  healedAtMs?: number;
  exitCode: number | null;
  hung: boolean;
  wrongExit?: string;
  leaderless: JudgedSpan[];
  belowQuorum: JudgedSpan[];
  fewestAnswering: number;
  acknowledged: number;
  lost: number[];
  longestWithoutAckMs: number;
  readBackFailures: number;
  /** Tasks of drover's own playbooks that failed on their own templates or conditions (absent in records older than this check). */
  playbookErrors?: string[];
  lockReleased: boolean;
  /** The lock stayed held after a run that was not killed, and drover did not say so. */
  lockLeftHeld: boolean;
  /** drover said it could not give the lock back (its host unreachable at the end). */
  lockWarned: boolean;
  /** The healing's commands, when more than one plain deploy was asked for (by drover's own words). */
  healingSteps?: string[];
  healingExit: number | null;
  planChanged: string[] | null;
  verifyExit: number | null;
  lockFreeAfter: boolean;
  converged: boolean;
  setupFailed?: string;
  durationMs: number;
}

const inventoryOf = (lane: Lane) => join(lane.dir, 'inventory.yaml');

function writeInventory(lane: Lane, vars: Record<string, string | number | boolean>): void {
  // TLS is drover's default for a new cluster; ACLs under deny as in production.
  const all = { ...LAB_CLUSTER_VARS, consul_acl_enable: true, ...vars };
  const hosts = (hs: readonly LabHost[]) =>
    hs.map((h) => `        ${h.name}: { address: ${h.address} }`).join('\n');
  writeFileSync(
    inventoryOf(lane),
    `all:\n  vars:\n${Object.entries(all)
      .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
      .join('\n')}\n  children:\n    servers:\n      hosts:\n${hosts(lane.servers)}\n` +
      `    clients:\n      hosts:\n${hosts(lane.clients)}\n`,
  );
}

/** drover's command line on the lane's inventory (`-i` last: after a subcommand such as `lock status`). */
const droverArgs = (lane: Lane, args: readonly string[]): string[] => [
  join(ROOT, 'bin', 'drover.js'),
  ...args,
  '-i',
  inventoryOf(lane),
];

const droverCli = (lane: Lane, args: readonly string[], timeoutSeconds = 300): Promise<RunResult> =>
  run(process.execPath, droverArgs(lane, args), timeoutSeconds);

/**
 * Undoes every fault the lab can leave on these hosts (a campaign stopped mid-run leaves its
 * fault in place): thawed, partition healed, link up, no cut between any two of them. Each
 * action is harmless where there is nothing to undo.
 */
export async function undoFaults(hosts: readonly LabHost[]): Promise<void> {
  const undo = async (action: FaultAction, h: LabHost, other?: LabHost) =>
    fault(action, h.name, other?.name).catch(() => undefined);
  for (const h of hosts) {
    await undo('thaw', h);
    await undo('heal', h);
    await undo('link-up', h);
    for (const o of hosts) if (o !== h) await undo('uncut', h, o);
  }
}

/** Every host answers SSH and its docker; one that does not is power-cycled (bounded). */
async function repairHosts(hosts: readonly LabHost[]): Promise<void> {
  await Promise.all(
    hosts.map(async (h) => {
      if ((await ssh(h.name, 'docker info >/dev/null', 20)).code === 0) return;
      await fault('crash', h.name).catch(() => undefined);
      await fault('boot', h.name);
    }),
  );
}

async function waitUntil(seconds: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** Follows an events file as drover writes it, calling `onEvent` for each new line. */
function followEvents(file: string, onEvent: (e: Record<string, unknown>) => void) {
  let offset = 0;
  let rest = '';
  const read = () => {
    if (!existsSync(file)) return;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(1 << 16);
      for (let n; (n = readSync(fd, buf, 0, buf.length, offset)) > 0; offset += n)
        rest += buf.toString('utf8', 0, n);
    } finally {
      closeSync(fd);
    }
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) onEvent(JSON.parse(l) as Record<string, unknown>);
  };
  const timer = setInterval(read, 50);
  return {
    stop() {
      clearInterval(timer);
      read();
    },
  };
}

const matches = (m: Moment, e: Record<string, unknown>, seen: Map<string, number>): boolean => {
  if (m.kind === 'batch')
    return e['event'] === 'batch_start' && e['play'] === m.play && e['index'] === m.index;
  if (m.kind !== 'task' || e['event'] !== 'task_start' || e['play'] !== m.play || e['task'] !== m.task)
    return false;
  const n = (seen.get(m.task) ?? 0) + 1;
  seen.set(m.task, n);
  return n === m.occurrence;
};

/** Autopilot's verdict through the first server that answers; undefined if none does. */
async function autopilotHealthy(
  servers: readonly LabHost[],
  access: ClusterAccess,
): Promise<boolean | undefined> {
  for (const h of servers) {
    const r = await agentCall(h, access, '/v1/operator/autopilot/health', { token: true });
    if (r?.status === 200) return (JSON.parse(r.body) as { Healthy: boolean }).Healthy;
  }
  return undefined;
}

const saveOutput = (artifacts: string, name: string, r: RunResult) =>
  writeFileSync(join(artifacts, name), `${r.stdout}\n--- stderr\n${r.stderr}`);

/**
 * Bare hosts, then the baseline cluster the operation starts from (none for a first deploy),
 * then the inventory with the operation's vars. A message when the baseline deploy failed.
 */
async function prepareLane(
  lane: Lane,
  op: Operation,
  spec: OperationSpec,
  artifacts: string,
): Promise<string | undefined> {
  const all = [...lane.servers, ...lane.clients];
  await repairHosts(all);
  await cleanUp(all);
  rmSync(lane.dir, { recursive: true, force: true });
  mkdirSync(lane.dir, { recursive: true });
  writeInventory(lane, {});
  if (op !== 'first-deploy') {
    const setup = await droverCli(lane, ['deploy', '-y']);
    saveOutput(artifacts, 'setup.out', setup);
    if (setup.code !== 0) return `baseline deploy exit ${setup.code}`;
  }
  writeInventory(lane, spec.vars);
  return undefined;
}

/**
 * A fault-free run of `op` from its baseline: the tasks that started (on how many hosts) and
 * the batches, in order, which is where a scenario's moment is picked (scenario.ts resolveMoment).
 * Every run of a campaign starts from the same baseline, so this is what each would do unfaulted.
 */
export async function observeOperation(op: Operation, lane: Lane, artifacts: string): Promise<ObservedRun> {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const spec = operationSpec(op, [...lane.servers, ...lane.clients], 0);
  const setupFailed = await prepareLane(lane, op, spec, artifacts);
  if (setupFailed) throw new Error(`observing ${op}: ${setupFailed}`);
  const events = join(artifacts, 'events.ndjson');
  const r = await droverCli(lane, [...spec.args, '--events', events], OPERATION_CAP_S);
  saveOutput(artifacts, 'operation.out', r);
  if (r.code !== 0) throw new Error(`observing ${op}: exit ${r.code} without a fault (${artifacts})`);
  const observed: ObservedRun = { tasks: [], batches: [] };
  for (const l of readFileSync(events, 'utf8').split('\n').filter(Boolean)) {
    const e = JSON.parse(l) as Record<string, unknown>;
    if (e['event'] === 'batch_start')
      observed.batches.push({ play: String(e['play']), index: Number(e['index']) });
    if (e['event'] !== 'task_start') continue;
    const t = observed.tasks.find((x) => x.play === e['play'] && x.task === e['task']);
    if (t) t.hosts++;
    else observed.tasks.push({ play: String(e['play']), task: String(e['task']), hosts: 1 });
  }
  return observed;
}

/**
 * The hand-overs an events file records: each run of the task "leadership moves away" that
 * moved the leadership (status changed), from its start to its end, on the watcher's clock.
 */
function handoversIn(file: string, at: (iso: string) => number): Span[] {
  if (!existsSync(file)) return [];
  const starts = new Map<string, number>();
  const spans: Span[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as Record<string, unknown>;
    if (e['task'] !== HANDOVER_TASK) continue;
    const host = String(e['host']);
    const t = at(String(e['time']));
    if (e['event'] === 'task_start') starts.set(host, t);
    if (e['event'] === 'task_end' && e['status'] === 'changed')
      spans.push({ from: starts.get(host) ?? t, to: t, samples: 0 });
  }
  return spans;
}

/**
 * A task that failed on drover's own playbook rather than on the cluster: a condition or a
 * template that could not be evaluated. Never right, whatever the fault.
 */
function playbookError(e: Record<string, unknown>): string | undefined {
  const message = typeof e['message'] === 'string' ? e['message'] : '';
  if (e['event'] !== 'task_end' || e['status'] !== 'failed') return undefined;
  return /is not defined|condition "|template error/i.test(message)
    ? `${String(e['host'])}: ${String(e['task'])}: ${message}`
    : undefined;
}

/** A run's record before it runs: nothing injected, nothing observed, nothing healed. */
export function newRecord(s: Scenario, lane: number, servers: number): RunRecord {
  return {
    seed: s.seed,
    lane,
    operation: s.operation,
    fault: s.fault,
    target: s.target,
    ...(s.duration && { duration: s.duration }),
    moment: '',
    stage: '',
    faultedHosts: [],
    injected: false,
    exitCode: null,
    hung: false,
    leaderless: [],
    belowQuorum: [],
    fewestAnswering: servers,
    acknowledged: 0,
    lost: [],
    longestWithoutAckMs: 0,
    readBackFailures: 0,
    playbookErrors: [],
    lockReleased: false,
    lockLeftHeld: false,
    lockWarned: false,
    healingExit: null,
    planChanged: null,
    verifyExit: null,
    lockFreeAfter: false,
    converged: false,
    durationMs: 0,
  };
}

export async function runScenario(
  s: Scenario,
  lane: Lane,
  artifacts: string,
  observed: ObservedRun,
): Promise<RunRecord> {
  const started = Date.now();
  const servers = lane.servers;
  const all = [...lane.servers, ...lane.clients];
  const spec = operationSpec(s.operation, all, s.hostPick);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const record = newRecord(s, lane.index, servers.length);

  const setupFailed = await prepareLane(lane, s.operation, spec, artifacts);
  if (setupFailed) return { ...record, setupFailed, durationMs: Date.now() - started };
  const moment = resolveMoment(s, observed);
  record.moment = describeMoment(moment);
  record.stage = stageOf(moment);

  const access: ClusterAccess = {
    caFile: join(lane.dir, 'inventory.tls', 'consul-agent-ca.pem'),
    tokenFile: join(lane.dir, 'inventory.acl', 'management.token'),
  };
  const watcher = watchCluster({ servers, agents: all, access, prefix: `chaos/${s.seed}` });
  let active: ActiveFault | undefined;
  let healTimer: NodeJS.Timeout | undefined;
  const healNow = async () => {
    clearTimeout(healTimer);
    if (!active) return;
    const a = active;
    active = undefined;
    await a.heal();
    record.healedAtMs = watcher.now();
  };

  const pickFrom = (hs: readonly LabHost[]) => hs[s.hostPick % hs.length] as LabHost;
  const targetHost = (): LabHost => {
    const leader = watcher.leader();
    if (s.target === 'leader') return leader ?? (servers[0] as LabHost);
    if (s.target === 'follower') return pickFrom(servers.filter((h) => h !== leader));
    if (s.target === 'client') return pickFrom(lane.clients);
    return servers[0] as LabHost; // the deploy lock lives on the first server
  };

  let child: ReturnType<typeof spawn> | undefined;
  let killedAt: number | undefined;
  const strike = async () => {
    if (record.injected) return;
    record.injected = true;
    record.injectedAtMs = watcher.now();
    if (s.fault === 'sigint' || s.fault === 'sigkill') {
      record.targetHost = 'drover';
      killedAt = Date.now();
      child?.kill(s.fault === 'sigint' ? 'SIGINT' : 'SIGKILL');
      return;
    }
    const h = targetHost();
    const leader = watcher.leader();
    const other =
      s.fault === 'cut'
        ? leader && leader !== h
          ? leader
          : pickFrom(servers.filter((x) => x !== h))
        : undefined;
    record.targetHost = h.name;
    active = await inject(s.fault as HostFault, h.name, other?.name);
    record.faultedHosts = active.hosts;
    const ms = DURATIONS[s.duration ?? 'run'];
    if (Number.isFinite(ms)) healTimer = setTimeout(() => void healNow(), ms);
  };

  if (moment.kind === 'before') {
    // A fault aimed at the leader needs the watcher to have seen one (a first deploy has none).
    if (s.operation !== 'first-deploy') await waitUntil(10, async () => watcher.leader() !== undefined);
    await strike();
  }
  const events = join(artifacts, 'events.ndjson');
  let runEnd:
    | { status: string; exit_code: number; time: string; reason?: string; recap: Record<string, RecapCounts> }
    | undefined;
  const seen = new Map<string, number>();
  let striking: Promise<void> | undefined;
  const follower = followEvents(events, (e) => {
    const failure = playbookError(e);
    if (failure) (record.playbookErrors ??= []).push(failure);
    if (e['event'] === 'run_end') runEnd = e as unknown as typeof runEnd;
    if (!record.injected && !runEnd && matches(moment, e, seen)) striking = strike();
  });
  const proc = spawn(process.execPath, droverArgs(lane, [...spec.args, '--events', events]), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const cap = setTimeout(() => {
    record.hung = true;
    proc.kill('SIGKILL');
  }, OPERATION_CAP_S * 1000);
  const exit = await new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  clearTimeout(cap);
  follower.stop();
  await striking;
  writeFileSync(join(artifacts, 'operation.out'), out);
  record.exitCode = exit;
  // drover may have ended just before a SIGKILL the campaign sent at its last moment: the run
  // was over (its run_end says how), so the kill hit nothing.
  if (
    s.fault === 'sigkill' &&
    record.injected &&
    runEnd &&
    killedAt !== undefined &&
    Date.parse(runEnd.time) <= killedAt
  ) {
    record.injected = false;
    record.exitCode = runEnd.exit_code;
  }

  // Healing, as an operator would: undo the fault, let the host come back, free a lock a killed run left.
  await healNow();
  await waitUntil(90, async () =>
    (await Promise.all(all.map((h) => ssh(h.name, 'docker info >/dev/null', 5)))).every((r) => r.code === 0),
  );
  // ...and let Consul finish its own recovery (a server back from a freeze rejoins as a
  // non-voter until autopilot promotes it), which a deploy's pre-flight rightly waits for.
  if (watcher.leader() !== undefined || s.operation !== 'first-deploy')
    await waitUntil(60, async () => (await autopilotHealthy(servers, access)) === true);
  const lockHeld = async () => !/: free$/m.test((await droverCli(lane, ['lock', 'status'])).stdout);
  record.lockWarned = /deploy lock not released/.test(out);
  if (await lockHeld()) {
    if (s.fault === 'sigkill' && record.injected) record.lockReleased = true;
    else if (record.lockWarned) record.lockReleased = true;
    else record.lockLeftHeld = true;
    saveOutput(artifacts, 'lock-release.out', await droverCli(lane, ['lock', 'release', '-y']));
  }
  const healingEvents = join(artifacts, 'healing-events.ndjson');
  let healing = await droverCli(lane, ['deploy', '-y', '--events', healingEvents], 600);
  saveOutput(artifacts, 'healing-deploy.out', healing);
  // A gossip key rotation cut short is finished the way deploy's refusal says (it resumes), and
  // the deploy run again: the one recovery drover asks of the operator (docs/day2.md).
  if (healing.code !== 0 && RESUME_ROTATION.test(healing.stdout + healing.stderr)) {
    const resumed = await droverCli(lane, ['rotate-gossip-key', '-y'], 600);
    saveOutput(artifacts, 'healing-rotate-gossip-key.out', resumed);
    record.healingSteps = ['deploy', `rotate-gossip-key (exit ${resumed.code})`, 'deploy'];
    healing = await droverCli(lane, ['deploy', '-y', '--events', healingEvents], 600);
    saveOutput(artifacts, 'healing-deploy-2.out', healing);
  }
  record.healingExit = healing.code;
  const plan = await droverCli(lane, ['plan', '-o', 'json']);
  saveOutput(artifacts, 'plan.out', plan);
  try {
    record.planChanged = (JSON.parse(plan.stdout) as { changed_hosts: string[] }).changed_hosts;
  } catch {
    record.planChanged = null;
  }
  const verify = await droverCli(lane, ['verify']);
  saveOutput(artifacts, 'verify.out', verify);
  record.verifyExit = verify.code;
  record.lockFreeAfter = !(await lockHeld());

  const watch = await watcher.stop();
  const kv = await readBack(all, access, `chaos/${s.seed}`);
  record.acknowledged = watch.writes.acknowledged.length;
  record.lost = kv
    ? watch.writes.acknowledged.filter((n) => kv.get(n) !== String(n))
    : watch.writes.acknowledged;
  record.longestWithoutAckMs = watch.writes.longestWithoutAckMs;
  record.readBackFailures = watch.readBackFailures;
  record.fewestAnswering = watch.fewestAnswering;
  const onServer = faultOnServer(s);
  // The hand-overs drover asked for, in the operation and in the healing deploy that may finish its roll.
  const transfers = [events, healingEvents].flatMap((f) => handoversIn(f, watcher.at));
  const judged = (span: Span): JudgedSpan => ({
    at: span.from,
    ms: spanMs(span),
    samples: span.samples,
    handover: overlapsAny(span, transfers),
    byFault: causedByFault(span, {
      kind: s.fault,
      onServer,
      ...(record.injectedAtMs !== undefined && { injectedAt: record.injectedAtMs }),
      ...(record.healedAtMs !== undefined && { healedAt: record.healedAtMs }),
    }),
  });
  record.leaderless = watch.leaderless.map(judged);
  record.belowQuorum = watch.belowQuorum.map(judged);
  const wrong = wrongExit({
    fault: s.fault,
    injected: record.injected,
    faultedHosts: record.faultedHosts,
    exitCode: record.exitCode,
    hung: record.hung,
    ...(runEnd && { runEnd }),
  });
  if (wrong) record.wrongExit = wrong;
  record.converged =
    record.healingExit === 0 &&
    record.planChanged?.length === 0 &&
    record.verifyExit === 0 &&
    record.lockFreeAfter;
  record.durationMs = Date.now() - started;
  writeFileSync(join(artifacts, 'record.json'), JSON.stringify(record, null, 2));
  return record;
}
