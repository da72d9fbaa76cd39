import { autopilotUnhealthy } from '../gates/gates.js';
import type { MemberStatus } from '../parse/members-table.js';
import {
  hostOf,
  type ConsulRole,
  type ExpectedNode,
  type MemberView,
  type NodeObservation,
  type Observations,
} from './cluster-model.js';

/** How one inventory node fares, for the per-node table. */
export interface NodeVerdict {
  host: string;
  nodeName: string;
  address: string;
  /** The role the inventory gives it. */
  role: ConsulRole;
  /** The role its agent reports (or, when it did not answer, its gossip tags elsewhere). */
  reportedRole?: ConsulRole;
  agent: 'ok' | 'unreachable';
  /** Its status in the gossip views of the agents that answered; `mixed` when they disagree. */
  member: MemberStatus | 'missing' | 'mixed' | 'unknown';
  /** The leader's address as this node sees it: `""` no leader, absent when unknown. */
  leaderSeen?: string;
  /** Servers only: its place in Raft across the servers' views, and how many peers it sees. */
  raft?: { peer: 'voter' | 'non-voter' | 'peer' | 'missing' | 'mixed' | 'unknown'; peersSeen?: number };
}

export interface VerifyReport {
  /** True exactly when there are no problems; warnings never fail verification. */
  ok: boolean;
  /** The one leader every answering agent agrees on, mapped to its inventory host when it is one. */
  leader?: { address: string; host?: string };
  nodes: NodeVerdict[];
  problems: string[];
  warnings: string[];
  counts: { servers: number; clients: number };
}

type Answering = { node: ExpectedNode; obs: Extract<NodeObservation, { reachable: true }> };

/**
 * The cluster verdict, from what each agent reported (pure; no I/O). Healthy means: every agent
 * answered with the role, node name and datacenter the inventory gives it; all of them agree on
 * one leader and it is an inventory server; every inventory server is a Raft voter in every
 * answering server's configuration (and no unknown server is); every inventory node is an alive
 * member in every answering agent's gossip view; autopilot finds every server healthy. Everything
 * else is listed in plain words.
 */
export function assessCluster(expected: readonly ExpectedNode[], observations: Observations): VerifyReport {
  const problems: string[] = [];
  const warnings: string[] = [];
  const answering: Answering[] = [];
  for (const node of expected) {
    const obs = observations[node.host];
    if (!obs) problems.push(`${node.host}: was not observed`);
    else if (!obs.reachable) problems.push(`${node.host}: the Consul agent did not answer (${obs.error})`);
    else {
      answering.push({ node, obs });
      checkSelf(node, obs, problems);
    }
  }

  const leader = assessLeader(expected, answering, problems);
  const raft = assessRaft(expected, answering, problems);
  const members = assessMembers(expected, answering, observations, problems, warnings);
  assessAutopilot(answering, problems, warnings);
  assessAclReplication(answering, problems);

  const nodes = expected.map((node): NodeVerdict => {
    const obs = observations[node.host];
    const verdict: NodeVerdict = {
      host: node.host,
      nodeName: node.nodeName,
      address: node.address,
      role: node.role,
      agent: obs?.reachable ? 'ok' : 'unreachable',
      member: members.status.get(node.host) ?? 'unknown',
    };
    const reportedRole = obs?.reachable ? obs.self.role : members.gossipRole.get(node.host);
    if (reportedRole) verdict.reportedRole = reportedRole;
    if (obs?.reachable && obs.leader !== undefined) verdict.leaderSeen = obs.leader;
    if (node.role === 'server') {
      verdict.raft = { peer: raft.get(node.host) ?? 'unknown' };
      if (obs?.reachable && obs.peers) verdict.raft.peersSeen = obs.peers.length;
    }
    return verdict;
  });

  const report: VerifyReport = {
    ok: problems.length === 0,
    nodes,
    problems,
    warnings,
    counts: {
      servers: expected.filter((n) => n.role === 'server').length,
      clients: expected.filter((n) => n.role === 'client').length,
    },
  };
  if (leader) report.leader = leader;
  return report;
}

function checkSelf(node: ExpectedNode, obs: Answering['obs'], problems: string[]): void {
  if (obs.self.role !== node.role) {
    problems.push(`${node.host}: the inventory says ${node.role}, but its agent runs as a ${obs.self.role}`);
  }
  if (obs.self.nodeName !== node.nodeName) {
    problems.push(
      `${node.host}: its agent's node name is "${obs.self.nodeName}", expected "${node.nodeName}"`,
    );
  }
  if (node.datacenter !== undefined && obs.self.datacenter !== node.datacenter) {
    problems.push(
      `${node.host}: its agent is in datacenter "${obs.self.datacenter}", expected "${node.datacenter}"`,
    );
  }
  for (const error of obs.errors) problems.push(`${node.host}: ${error}`);
}

function assessLeader(
  expected: readonly ExpectedNode[],
  answering: readonly Answering[],
  problems: string[],
): VerifyReport['leader'] {
  if (answering.length === 0) {
    problems.push('no Consul agent answered, so nothing shows that the cluster has a leader');
    return undefined;
  }
  const seenBy = new Map<string, string[]>();
  for (const { node, obs } of answering) {
    if (obs.leader === undefined) continue;
    if (obs.leader === '') problems.push(`${node.host}: sees no leader`);
    else seenBy.set(obs.leader, [...(seenBy.get(obs.leader) ?? []), node.host]);
  }
  if (seenBy.size === 0) {
    if (!answering.some(({ obs }) => obs.leader === ''))
      problems.push('no agent could say who the leader is');
    return undefined;
  }
  if (seenBy.size > 1) {
    const views = [...seenBy].map(([addr, hosts]) => `${addr} (per ${hosts.join(', ')})`);
    problems.push(`the agents disagree on the leader: ${views.join(' vs ')}`);
    return undefined;
  }
  const [address] = [...seenBy.keys()] as [string];
  const owner = expected.find((n) => n.role === 'server' && n.address === hostOf(address));
  if (!owner) {
    problems.push(`the leader ${address} is not the bind address of any inventory server`);
    return { address };
  }
  return { address, host: owner.host };
}

/**
 * Autopilot's last look, as any server forwards it from the leader. It lags gossip by up to its
 * 2 s health interval: a server that just rejoined is alive in every member list yet still
 * unhealthy here, and the pre-flight of a roll refuses it. Verify says so too, so that a passing
 * verify means a roll may start. Unreadable (no leader, no operator:read) is only a warning: the
 * leader and Raft checks already judge the cluster without it.
 */
function assessAutopilot(answering: readonly Answering[], problems: string[], warnings: string[]): void {
  const servers = answering.filter((a) => a.obs.self.role === 'server');
  const health = servers.find((a) => a.obs.autopilot !== undefined)?.obs.autopilot;
  if (health) {
    if (!health.healthy) problems.push(autopilotUnhealthy(health.servers));
    return;
  }
  const why = servers.map((a) => a.obs.autopilotError).find((e) => e !== undefined);
  if (why !== undefined) warnings.push(`autopilot health could not be read, so it is unverified: ${why}`);
}

const NEVER = '0001-01-01T00:00:00Z';

/**
 * A datacenter outside the primary copies the primary's ACL policies and tokens; until it has,
 * or when it fails (a wrong replication token, no WAN path), every token is asked of the
 * primary and the cluster stops resolving tokens when the primary is away. Consul's rule for
 * its status: a LastError later than LastSuccess means replication is not in a good state.
 */
function assessAclReplication(answering: readonly Answering[], problems: string[]): void {
  const server = answering.find((a) => a.obs.self.role === 'server' && a.obs.aclReplication?.enabled);
  const r = server?.obs.aclReplication;
  if (!server || !r) return;
  const dc = server.obs.self.datacenter;
  const why = r.lastErrorMessage ? `: ${r.lastErrorMessage}` : '';
  if (!r.running) problems.push(`${dc}: ACL replication from ${r.sourceDatacenter} is not running${why}`);
  else if (r.lastSuccess === NEVER)
    problems.push(`${dc}: ACL replication from ${r.sourceDatacenter} has not completed yet${why}`);
  else if (r.lastError !== NEVER && Date.parse(r.lastError) > Date.parse(r.lastSuccess))
    problems.push(`${dc}: ACL replication from ${r.sourceDatacenter} is failing${why}`);
}

type RaftPlace = NonNullable<NodeVerdict['raft']>['peer'];

function assessRaft(
  expected: readonly ExpectedNode[],
  answering: readonly Answering[],
  problems: string[],
): Map<string, RaftPlace> {
  const places = new Map<string, RaftPlace>();
  const servers = expected.filter((n) => n.role === 'server');
  const views = answering.filter((a) => a.obs.self.role === 'server' && a.obs.peers !== undefined);
  if (views.length === 0) {
    // With no agent answering at all, the leader check already says so; once is enough.
    if (servers.length > 0 && answering.length > 0) {
      problems.push('no server reported its Raft peers, so Raft membership is unverified');
    }
    return places;
  }
  for (const server of servers) {
    const missingPer: string[] = [];
    const nonVoterPer: string[] = [];
    const seen = new Set<RaftPlace>();
    for (const { node, obs } of views) {
      const peer = obs.peers?.find((p) => hostOf(p.address) === server.address);
      const place: RaftPlace = !peer
        ? 'missing'
        : peer.voter === undefined
          ? 'peer'
          : peer.voter
            ? 'voter'
            : 'non-voter';
      seen.add(place);
      if (place === 'missing') missingPer.push(node.host);
      if (place === 'non-voter') nonVoterPer.push(node.host);
    }
    places.set(server.host, seen.size === 1 ? ([...seen][0] as RaftPlace) : 'mixed');
    if (missingPer.length > 0)
      problems.push(`${server.host}: is not a Raft peer (per ${per(missingPer, views.length)})`);
    if (nonVoterPer.length > 0) {
      problems.push(`${server.host}: is a Raft peer but not a voter (per ${per(nonVoterPer, views.length)})`);
    }
  }
  const strangers = new Map<string, { node?: string; per: string[] }>();
  for (const { node, obs } of views) {
    for (const peer of obs.peers ?? []) {
      if (servers.some((s) => s.address === hostOf(peer.address))) continue;
      const entry = strangers.get(peer.address) ?? (peer.node ? { node: peer.node, per: [] } : { per: [] });
      entry.per.push(node.host);
      strangers.set(peer.address, entry);
    }
  }
  for (const [address, { node, per: hosts }] of strangers) {
    const name = node ? ` (node "${node}")` : '';
    problems.push(
      `Raft peer ${address}${name} is not an inventory server, yet counts toward quorum (per ${per(hosts, views.length)}); ` +
        `if it is gone for good: consul operator raft remove-peer -address=${address}`,
    );
  }
  return places;
}

function assessMembers(
  expected: readonly ExpectedNode[],
  answering: readonly Answering[],
  observations: Observations,
  problems: string[],
  warnings: string[],
): { status: Map<string, NodeVerdict['member']>; gossipRole: Map<string, ConsulRole> } {
  const status = new Map<string, NodeVerdict['member']>();
  const gossipRole = new Map<string, ConsulRole>();
  const views = answering.filter((a) => a.obs.members !== undefined);
  if (views.length === 0) {
    if (answering.length > 0) problems.push('no agent reported its members, so membership is unverified');
    return { status, gossipRole };
  }
  const known = (m: MemberView): boolean =>
    expected.some((n) => n.nodeName === m.name || n.address === hostOf(m.address));

  for (const node of expected) {
    const byStatus = new Map<string, string[]>();
    const renamed = new Set<string>();
    const roles = new Set<ConsulRole>();
    for (const { node: viewer, obs } of views) {
      const list = obs.members ?? [];
      const member =
        list.find((m) => m.name === node.nodeName) ?? list.find((m) => hostOf(m.address) === node.address);
      if (member && member.name !== node.nodeName) renamed.add(member.name);
      if (member && member.role !== 'unknown') roles.add(member.role);
      const s = member?.status ?? 'missing';
      byStatus.set(s, [...(byStatus.get(s) ?? []), viewer.host]);
    }
    status.set(node.host, byStatus.size === 1 ? ([...byStatus.keys()][0] as NodeVerdict['member']) : 'mixed');
    const notAlive = [...byStatus].filter(([s]) => s !== 'alive');
    if (notAlive.length > 0) {
      const how = notAlive.map(
        ([s, hosts]) => `${s === 'missing' ? 'not listed' : s} per ${per(hosts, views.length)}`,
      );
      problems.push(`${node.host}: is not an alive member (${how.join('; ')})`);
    }
    for (const name of renamed) {
      problems.push(
        `${node.host}: the member at ${node.address} is named "${name}", expected "${node.nodeName}"`,
      );
    }
    const role = roles.size === 1 ? [...roles][0] : undefined;
    if (role) gossipRole.set(node.host, role);
    // When the node's own agent answered, checkSelf already compared roles; otherwise gossip tells.
    if (role && role !== node.role && !observations[node.host]?.reachable) {
      problems.push(`${node.host}: the inventory says ${node.role}, but gossip shows it as a ${role}`);
    }
  }

  const strangers = new Map<string, { address: string; statuses: Set<string> }>();
  for (const { obs } of views) {
    for (const m of obs.members ?? []) {
      if (known(m)) continue;
      const entry = strangers.get(m.name) ?? { address: m.address, statuses: new Set<string>() };
      entry.statuses.add(m.status);
      strangers.set(m.name, entry);
    }
  }
  for (const [name, { address, statuses }] of strangers) {
    if (statuses.has('alive'))
      warnings.push(`member "${name}" (${address}) is alive but not in the inventory`);
    else {
      warnings.push(
        `member "${name}" (${address}) is ${[...statuses].join('/')} and not in the inventory; ` +
          `if it is gone for good: consul force-leave -prune ${name}`,
      );
    }
  }
  return { status, gossipRole };
}

/** Whose view says so; "all" when every agent that could say so agrees. */
function per(hosts: readonly string[], total: number): string {
  return hosts.length === total && total > 1 ? `all of ${hosts.join(', ')}` : hosts.join(', ');
}
