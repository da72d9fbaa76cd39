/**
 * The campaign's eyes on the cluster for a whole run: every server's leader and Raft peers,
 * each asked every 100 ms on a loop of its own (so one frozen server cannot slow the others'
 * samples), and a KV writer that puts a numbered key through the agents in turn and reads each
 * acknowledged one back, so "the cluster kept serving" and "nothing acknowledged was lost" are
 * measured, not assumed. Every request is bounded (800 ms); every loop ends at stop().
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { LabHost } from '../lab/lab.js';

const POLL_MS = 100;
const REQUEST_MS = 800;

export interface ClusterAccess {
  /** The CA file drover made beside the inventory (absent until a first deploy writes it). */
  caFile: string;
  /** The management token file drover made beside the inventory (absent until bootstrap). */
  tokenFile: string;
}

interface Reply {
  status: number;
  body: string;
}

const readIfThere = (file: string): string | undefined =>
  existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;

/**
 * One HTTP call to an agent: HTTPS on 8501 with the cluster's CA once it exists (a TLS agent
 * serves plain HTTP on 127.0.0.1 only), plain HTTP on 8500 before. undefined when it does not
 * answer in time.
 */
export function agentCall(
  h: LabHost,
  access: ClusterAccess,
  path: string,
  o: { method?: string; body?: string; token?: boolean } = {},
): Promise<Reply | undefined> {
  const ca = readIfThere(access.caFile);
  const token = o.token ? readIfThere(access.tokenFile) : undefined;
  const send = ca ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      {
        host: h.address,
        port: ca ? 8501 : 8500,
        path,
        method: o.method ?? 'GET',
        timeout: REQUEST_MS,
        ...(ca && { ca }),
        headers: token ? { 'X-Consul-Token': token } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end(o.body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A span of time, in ms since the watcher started, and how many 100 ms samples saw it. */
export interface Span {
  from: number;
  to: number;
  samples: number;
}

export interface Watch {
  /** Spans in which no server was named leader by a majority while naming itself. */
  leaderless: Span[];
  /** Spans in which fewer than a quorum of servers answered. */
  belowQuorum: Span[];
  fewestAnswering: number;
  /** When the cluster first had a leader (a first deploy has none at the start); undefined: never. */
  firstLeaderAt?: number;
  samples: number;
  writes: { acknowledged: number[]; failed: number; longestWithoutAckMs: number };
  readBackFailures: number;
}

/**
 * A server's last finished poll. Whether it answers is judged by that poll, not by the age of
 * its last answer: when the watcher itself is slowed (a loaded machine), its polls finish late
 * for every server alike, and that is no server's silence.
 */
interface Latest {
  at: number;
  answered: boolean;
  leader?: string;
  peers?: number;
}

/**
 * Watches `servers` (their leader and peers) and writes KV keys under `prefix` through
 * `agents` in turn until stop().
 */
export function watchCluster(o: {
  servers: readonly LabHost[];
  agents: readonly LabHost[];
  access: ClusterAccess;
  prefix: string;
}) {
  const started = Date.now();
  const now = () => Date.now() - started;
  let stopped = false;
  const latest = new Map<LabHost, Latest>();
  const quorum = Math.floor(o.servers.length / 2) + 1;
  const result: Watch = {
    leaderless: [],
    belowQuorum: [],
    fewestAnswering: o.servers.length,
    samples: 0,
    writes: { acknowledged: [], failed: 0, longestWithoutAckMs: 0 },
    readBackFailures: 0,
  };

  const pollServer = async (h: LabHost) => {
    while (!stopped) {
      const t = Date.now();
      const [leader, peers] = await Promise.all([
        agentCall(h, o.access, '/v1/status/leader'),
        agentCall(h, o.access, '/v1/status/peers'),
      ]);
      if (leader?.status === 200) {
        const peerList = peers?.status === 200 ? (JSON.parse(peers.body) as string[]) : undefined;
        const named = JSON.parse(leader.body) as string;
        latest.set(h, {
          at: Date.now(),
          answered: true,
          ...(named && { leader: named }),
          ...(peerList && { peers: peerList.length }),
        });
      } else latest.set(h, { at: Date.now(), answered: false });
      await sleep(Math.max(0, POLL_MS - (Date.now() - t)));
    }
  };

  const open: Record<'leaderless' | 'belowQuorum', { from: number; samples: number } | undefined> = {
    leaderless: undefined,
    belowQuorum: undefined,
  };
  const track = (kind: 'leaderless' | 'belowQuorum', active: boolean, t: number) => {
    const since = open[kind];
    if (active) open[kind] = { from: since?.from ?? t, samples: (since?.samples ?? 0) + 1 };
    if (!active && since !== undefined) {
      result[kind].push({ from: since.from, to: t, samples: since.samples });
      open[kind] = undefined;
    }
  };

  const sample = async () => {
    while (!stopped) {
      const t = now();
      const fresh = new Map(
        o.servers.map((h) => {
          const l = latest.get(h);
          return [h, l?.answered ? l : undefined] as const;
        }),
      );
      const answering = o.servers.filter((h) => fresh.get(h) !== undefined).length;
      const led = hasLeader(o.servers, fresh);
      if (led) result.firstLeaderAt ??= t;
      if (result.firstLeaderAt !== undefined) {
        result.fewestAnswering = Math.min(result.fewestAnswering, answering);
        track('leaderless', !led, t);
        track('belowQuorum', answering < quorum, t);
      }
      result.samples++;
      await sleep(POLL_MS);
    }
  };

  const write = async () => {
    let lastAck = now();
    for (let n = 1; !stopped; n++) {
      const via = o.agents[n % o.agents.length] as LabHost;
      const key = `/v1/kv/${o.prefix}/${n}`;
      const put = await agentCall(via, o.access, key, { method: 'PUT', body: String(n), token: true });
      if (put?.status === 200 && put.body.trim() === 'true') {
        result.writes.acknowledged.push(n);
        lastAck = now();
        const readVia = o.agents[(n + 1) % o.agents.length] as LabHost;
        const back = await agentCall(readVia, o.access, `${key}?consistent&raw`, { token: true });
        if (back?.status !== 200 || back.body !== String(n)) result.readBackFailures++;
      } else {
        result.writes.failed++;
        if (result.firstLeaderAt !== undefined)
          result.writes.longestWithoutAckMs = Math.max(result.writes.longestWithoutAckMs, now() - lastAck);
      }
      await sleep(POLL_MS);
    }
  };

  const loops = [...o.servers.map(pollServer), sample(), write()];
  return {
    /** Milliseconds since the watcher started: the clock of every span it reports. */
    now,
    /** The same clock for a wall-clock time (an event's ISO `time`). */
    at: (iso: string) => Date.parse(iso) - started,
    /** The server a majority names leader now, if any. */
    leader(): LabHost | undefined {
      const fresh = new Map(o.servers.map((h) => [h, latest.get(h)] as const));
      return o.servers.find((h) => isLeader(h, o.servers, fresh));
    },
    async stop(): Promise<Watch> {
      stopped = true;
      await Promise.all(loops);
      const t = now();
      track('leaderless', false, t);
      track('belowQuorum', false, t);
      return result;
    },
  };
}

const self = (h: LabHost) => `${h.address}:8300`;

function isLeader(h: LabHost, servers: readonly LabHost[], seen: ReadonlyMap<LabHost, Latest | undefined>) {
  const naming = servers.filter((x) => seen.get(x)?.leader === self(h)).length;
  return seen.get(h)?.leader === self(h) && naming * 2 > servers.length;
}

/** A server that a majority names as leader, and that names itself (a follower goes on naming a dead leader). */
const hasLeader = (servers: readonly LabHost[], seen: ReadonlyMap<LabHost, Latest | undefined>) =>
  servers.some((h) => isLeader(h, servers, seen));

/** Every key under `prefix` with its value, read after the run (the management token, a consistent read). */
export async function readBack(
  via: readonly LabHost[],
  access: ClusterAccess,
  prefix: string,
): Promise<Map<number, string> | undefined> {
  for (const h of via) {
    const r = await agentCall(h, access, `/v1/kv/${prefix}/?recurse&consistent`, { token: true });
    if (r?.status === 404) return new Map();
    if (r?.status !== 200) continue;
    const entries = JSON.parse(r.body) as { Key: string; Value: string | null }[];
    return new Map(
      entries.map((e) => [
        Number(e.Key.slice(prefix.length + 1)),
        Buffer.from(e.Value ?? '', 'base64').toString(),
      ]),
    );
  }
  return undefined;
}
