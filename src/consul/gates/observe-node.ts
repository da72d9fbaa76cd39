import type { ConsulApi } from '../api/api.js';
import type { AgentMember } from '../api/api-responses.js';
import type { MemberView, NodeObservation, PeerView } from '../verify/cluster-model.js';

/**
 * Asks one agent what it sees: itself first (if that fails the node counts as unreachable),
 * then the leader, its members and, on servers, its Raft configuration, autopilot's health and
 * ACL replication. Later failures are recorded, not thrown, so one missing answer never hides
 * the rest of the picture.
 */
export async function observeNode(api: ConsulApi): Promise<NodeObservation> {
  let self;
  try {
    self = await api.self();
  } catch (err) {
    return { reachable: false, error: message(err) };
  }
  const role = self.server ? 'server' : 'client';
  const errors: string[] = [];
  const attempt = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (err) {
      errors.push(message(err));
      return undefined;
    }
  };
  let autopilotError: string | undefined;
  const [leader, members, peers, autopilot, aclReplication] = await Promise.all([
    attempt(() => api.leader()),
    attempt(() => api.members()),
    role === 'server' ? readPeers(api, errors) : Promise.resolve(undefined),
    // Its own slot, not `errors`: without a leader or operator:read it cannot answer, and what
    // that means is for the verdict to say (the leader check already names a missing leader).
    role === 'server'
      ? api.autopilotHealth().catch((err: unknown) => {
          autopilotError = message(err);
          return undefined;
        })
      : Promise.resolve(undefined),
    // Unreadable only without a leader, which the leader check already names.
    role === 'server' ? api.aclReplication().catch(() => undefined) : Promise.resolve(undefined),
  ]);
  const obs: NodeObservation = {
    reachable: true,
    self: { nodeName: self.nodeName, datacenter: self.datacenter, role },
    errors,
  };
  if (leader !== undefined) obs.leader = leader;
  if (members !== undefined) obs.members = members.map(toMemberView);
  if (peers !== undefined) obs.peers = peers;
  if (autopilot !== undefined) obs.autopilot = autopilot;
  if (autopilotError !== undefined) obs.autopilotError = autopilotError;
  if (aclReplication !== undefined) obs.aclReplication = aclReplication;
  return obs;
}

/**
 * Raft configuration (with Voter flags, read stale so a leaderless server still answers); when
 * that is refused, e.g. an ACL without operator:read, /v1/status/peers still lists the peers.
 */
async function readPeers(api: ConsulApi, errors: string[]): Promise<PeerView[] | undefined> {
  try {
    const config = await api.raftConfiguration({ stale: true });
    return config.servers.map((s) => ({ address: s.address, voter: s.voter, node: s.node }));
  } catch (first) {
    try {
      return (await api.peers()).map((address) => ({ address }));
    } catch (second) {
      errors.push(message(first), message(second));
      return undefined;
    }
  }
}

const toMemberView = (m: AgentMember): MemberView => ({
  name: m.name,
  address: m.addr,
  status: m.status,
  role: m.role,
});

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
