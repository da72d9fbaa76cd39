import { systemClock, type Clock } from '../util/clock.js';
import { poll } from '../util/poll.js';
import { CommandFailedError, InterruptedError, LockHeldError } from '../errors.js';
import { serversByDatacenter } from '../inventory/consul-checks.js';
import type { Inventory } from '../inventory/types.js';
import { render, type Cmd } from '../shell/cmd.js';
import type { ExecResult, Transport } from '../ssh/transport.js';
import { DEFAULT_LOCK_DIR, readLock, releaseOurLock, removeLock, takeLock } from './commands.js';
import { describeHolder, formatAge, parseLockDetails, type LockDetails } from './details.js';

/**
 * The deploy lock: one directory on the first server of the inventory, or of each datacenter
 * when it describes several (whatever --limit says, so two runs limited to different hosts still
 * exclude each other). See docs/ci.md and docs/multi-datacenter.md.
 */
export type LockState =
  | { held: false; host: string; dir: string }
  | {
      held: true;
      host: string;
      dir: string;
      /** What the details file says; undefined when it is missing or unreadable. */
      details?: Partial<LockDetails>;
      /** Seconds since the lock directory was made, by the lock host's own clock. */
      ageSeconds?: number;
      /** `held by alice@ci-7 for 3m12s: drover deploy (CI job 991)`. */
      description: string;
    };

export type HeldLockState = Extract<LockState, { held: true }>;

/** Held by someone else: exit code 6, with the state for callers that want the details. */
export class DeployLockHeldError extends LockHeldError {
  constructor(
    message: string,
    readonly state: HeldLockState,
  ) {
    super(message);
  }
}

export interface LockHandle {
  host: string;
  dir: string;
  token: string;
  details: LockDetails;
}

export interface LockLocation {
  /** Default /var/lib/drover/lock. */
  dir?: string;
}

export interface AcquireOptions extends LockLocation {
  /** 0 (default): fail at once when held. Else poll until free, for at most this long. */
  waitSeconds?: number;
  /** Seconds between polls while waiting; default 10. */
  pollSeconds?: number;
  /** Called once per poll while waiting, e.g. to print "waiting for the deploy lock, held by ...". */
  onWait?: (state: HeldLockState, waitedSeconds: number) => void;
  signal?: AbortSignal;
  /** How the wait is timed; tests pass a fake clock. */
  clock?: Clock;
}

/** Every remote call is bounded. */
const TIMEOUT_SECONDS = 30;

/** Where one deploy lock lives: a host, and the datacenter it guards when there are several. */
export interface LockSite {
  host: string;
  /** `consul_datacenter` of the servers it guards; only set when the inventory has several. */
  datacenter?: string;
}

/**
 * Where the deploy locks live: one per datacenter, on the first server of each (by the
 * `consul_datacenter` var of the `servers` group's hosts), in the order the datacenters first
 * appear in the inventory. Every run takes them in this same order, so two runs cannot each
 * hold one and wait for the other. With one datacenter (or no `consul_datacenter` at all) that is
 * one lock on the first server; with no `servers` group, one on the inventory's first host.
 */
export function lockSites(inventory: Inventory): LockSite[] {
  const servers = inventory.groups.get('servers')?.hosts ?? [];
  if (servers.length === 0) {
    const first = inventory.hosts.keys().next().value;
    return first === undefined ? [] : [{ host: first }];
  }
  const byDc = serversByDatacenter(inventory, servers);
  if (byDc.size <= 1) return [{ host: servers[0] as string }];
  return [...byDc].map(([datacenter, hosts]) => ({ host: hosts[0] as string, datacenter }));
}

/** The (first) lock host: the first server, else the inventory's first host. */
export function lockHostName(inventory: Inventory): string | undefined {
  return lockSites(inventory)[0]?.host;
}

/**
 * Takes the lock, writing `details` into it. When it is held: throws DeployLockHeldError naming
 * the holder, command and age; or, with waitSeconds > 0, polls until it is free or the wait is
 * over. A missing details file is treated as held (another run may be between mkdir and write).
 */
export async function acquireLock(
  transport: Transport,
  details: LockDetails,
  options: AcquireOptions = {},
): Promise<LockHandle> {
  const dir = options.dir ?? DEFAULT_LOCK_DIR;
  const clock = options.clock ?? systemClock;
  const waitSeconds = Math.max(0, options.waitSeconds ?? 0);
  const startedAt = clock.now();
  const body = `${JSON.stringify(details, null, 2)}\n`;

  /** One try: taken, or held by another run (a release between our mkdir and our look is retried at once). */
  const tryTake = async (): Promise<{ taken: true } | { taken: false; state: HeldLockState }> => {
    for (let races = 0; ; races++) {
      const cmd = takeLock(dir);
      const r = await transport.exec(cmd, { stdin: body, timeoutSeconds: TIMEOUT_SECONDS });
      if (r.code === 0) return { taken: true };
      if (r.code !== 1) throw failed(transport, cmd, r);
      const state = parseState(transport.host, dir, r.stdout);
      if (state.held) return { taken: false, state };
      if (races >= 3) throw failed(transport, cmd, r);
    }
  };
  const outcome = await poll(
    async () => {
      const answer = await tryTake();
      const waited = clock.now() - startedAt;
      if (!answer.taken && waited < waitSeconds * 1000)
        options.onWait?.(answer.state, Math.floor(waited / 1000));
      return answer;
    },
    (answer) => (answer.taken ? 'done' : 'again'),
    {
      timeoutSeconds: waitSeconds,
      intervalSeconds: Math.max(1, options.pollSeconds ?? 10),
      clock,
      ...(options.signal && { signal: options.signal }),
      interrupted: () => new InterruptedError('interrupted while waiting for the deploy lock'),
    },
  );
  if (outcome.last.taken) return { host: transport.host, dir, token: details.token, details };
  const { state } = outcome.last;
  const waited = clock.now() - startedAt;
  const waitedText = waitSeconds > 0 ? `; still held after waiting ${formatAge(waited / 1000)}` : '';
  throw new DeployLockHeldError(
    `deploy lock on ${state.host} (${dir}) is ${state.description}${waitedText}. ` +
      `If that run is gone, release the lock with \`drover lock release\`` +
      (waitSeconds > 0 ? '.' : ', or wait for it with --lock-wait SECONDS.'),
    state,
  );
}

export type ReleaseResult =
  | { released: true }
  | { released: false; reason: 'free' }
  | { released: false; reason: 'held_by_other'; state: HeldLockState };

/**
 * Releases the lock only when the token in its details is ours: a run whose lock was
 * force-released and re-taken by another run must not remove that other run's lock.
 */
export async function releaseLock(
  transport: Transport,
  token: string,
  options: LockLocation = {},
): Promise<ReleaseResult> {
  const dir = options.dir ?? DEFAULT_LOCK_DIR;
  const r = await run(transport, releaseOurLock(dir, token));
  const first = r.stdout.split('\n', 1)[0];
  if (first === 'released') return { released: true };
  const state = parseState(transport.host, dir, r.stdout);
  if (!state.held) return { released: false, reason: 'free' };
  return { released: false, reason: 'held_by_other', state };
}

/** Who holds the lock and for how long, or that it is free. */
export async function lockStatus(transport: Transport, options: LockLocation = {}): Promise<LockState> {
  const dir = options.dir ?? DEFAULT_LOCK_DIR;
  const r = await run(transport, readLock(dir));
  return parseState(transport.host, dir, r.stdout);
}

/** `drover lock release`: removes the lock whoever holds it; returns what it was, so the CLI can say whose it removed. */
export async function forceReleaseLock(transport: Transport, options: LockLocation = {}): Promise<LockState> {
  const state = await lockStatus(transport, options);
  if (state.held) await run(transport, removeLock(state.dir));
  return state;
}

async function run(transport: Transport, cmd: Cmd): Promise<ExecResult> {
  const r = await transport.exec(cmd, { timeoutSeconds: TIMEOUT_SECONDS });
  if (r.code !== 0) throw failed(transport, cmd, r);
  return r;
}

const failed = (t: Transport, cmd: Cmd, r: ExecResult): CommandFailedError =>
  new CommandFailedError(t.host, render(cmd, { redact: true }), r.code, r.stdout, r.stderr);

/** Parses `free`, or `held` / host clock / dir mtime / details JSON. */
function parseState(host: string, dir: string, stdout: string): LockState {
  const [first, nowLine, mtimeLine, ...rest] = stdout.split('\n');
  if (first?.trim() !== 'held') return { held: false, host, dir };
  const details = parseLockDetails(rest.join('\n'));
  const hostNow = Number(nowLine);
  const mtime = Number(mtimeLine);
  let ageSeconds: number | undefined;
  if (nowLine?.trim() && mtimeLine?.trim() && Number.isFinite(hostNow) && Number.isFinite(mtime)) {
    ageSeconds = Math.max(0, hostNow - mtime);
  } else if (details?.acquired_at && Number.isFinite(Date.parse(details.acquired_at))) {
    ageSeconds = Math.max(0, (Date.now() - Date.parse(details.acquired_at)) / 1000);
  }
  return {
    held: true,
    host,
    dir,
    ...(details ? { details } : {}),
    ...(ageSeconds !== undefined ? { ageSeconds } : {}),
    description: describeHolder(details, ageSeconds),
  };
}
