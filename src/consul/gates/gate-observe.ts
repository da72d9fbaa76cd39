import type { ConsulApi } from '../api/api.js';
import type { ConsulInfo } from '../parse/consul-info.js';
import type { ClusterView, NodeProgress, PeerEntry } from './gate-view.js';

/**
 * The reads behind the health gates. Each read is bounded by ConsulApi's per-request timeout;
 * failures become words in the view (a gate that is waiting expects them while a node restarts),
 * never exceptions.
 */

/**
 * Asks the agents in order until one answers /v1/status/leader, then reads autopilot health,
 * the Raft peers and the members from that same agent, so one check is one agent's consistent
 * picture. The Raft configuration is read without `stale`, so the leader answers it; when that
 * is refused, /v1/status/peers still lists the peers (without Voter flags).
 */
export async function readClusterView(agents: readonly ConsulApi[]): Promise<ClusterView> {
  const errors: string[] = [];
  for (const api of agents) {
    let leader: string;
    try {
      leader = await api.leader();
    } catch (err) {
      errors.push(message(err));
      continue;
    }
    const readErrors: NonNullable<ClusterView['readErrors']> = {};
    const view: ClusterView = { via: api.where, leader, errors, readErrors };
    const [autopilot, peers, members] = await Promise.all([
      api.autopilotHealth().catch((err: unknown) => {
        readErrors.autopilot = message(err);
        return undefined;
      }),
      readPeers(api).catch((err: unknown) => {
        readErrors.peers = message(err);
        return undefined;
      }),
      api.members().catch((err: unknown) => {
        readErrors.members = message(err);
        return undefined;
      }),
    ]);
    if (autopilot) view.autopilot = autopilot;
    if (peers) view.peers = peers;
    if (members) view.members = members;
    return view;
  }
  return { errors };
}

async function readPeers(api: ConsulApi): Promise<PeerEntry[]> {
  try {
    const config = await api.raftConfiguration();
    return config.servers.map((s) => ({ address: s.address, node: s.node, voter: s.voter }));
  } catch (first) {
    try {
      return (await api.peers()).map((address) => ({ address }));
    } catch (second) {
      throw new Error(`${message(first)}; ${message(second)}`);
    }
  }
}

/** The leader as one agent sees it, or why it could not say. */
export async function readLeader(api: ConsulApi): Promise<{ leader?: string; error?: string }> {
  try {
    return { leader: await api.leader() };
  } catch (err) {
    return { error: message(err) };
  }
}

/**
 * A server's commit_index and last_log_index from its own /v1/agent/self Stats. When the Stats
 * lack them (an ACL that hides Stats, an agent that omits them) and `consulInfo` is given, the
 * same keys are read from `consul info` inside its container.
 */
export async function readProgress(
  api: ConsulApi,
  consulInfo?: () => Promise<ConsulInfo>,
): Promise<NodeProgress> {
  let fromStats: NodeProgress;
  try {
    const self = await api.self();
    fromStats = progressOf(self.stats, 'GET /v1/agent/self Stats');
  } catch (err) {
    fromStats = { answered: false, error: message(err) };
  }
  if (!consulInfo || (fromStats.commitIndex !== undefined && fromStats.lastLogIndex !== undefined))
    return fromStats;
  try {
    return progressOf(await consulInfo(), 'consul info');
  } catch (err) {
    return fromStats.answered
      ? fromStats
      : { answered: false, error: `${fromStats.error}; consul info: ${message(err)}` };
  }
}

function progressOf(info: ConsulInfo | undefined, source: string): NodeProgress {
  const p: NodeProgress = { answered: true, source };
  if (!info) return p;
  // A garbled index throws here on purpose: ConsulInfo refuses to read garbage as "caught up".
  const c = info.commitIndex;
  const l = info.lastLogIndex;
  if (c !== undefined) p.commitIndex = c;
  if (l !== undefined) p.lastLogIndex = l;
  return p;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
