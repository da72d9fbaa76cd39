import type { AgentMember, AutopilotServer } from '../api/api-responses.js';
import { hostOf, type ExpectedNode } from '../verify/cluster-model.js';
import type { ClusterView, NodeProgress, PeerEntry } from './gate-view.js';

/**
 * The health gates of a quorum-safe rolling restart, as pure judgements over what the agents
 * said (HashiCorp's upgrade guide and autopilot docs): a pre-flight before anything is touched,
 * a `ready` check before a server is stopped, and the conditions a restarted server or client
 * must meet before the roll moves on. No I/O here; gate-observe.ts reads, these decide, so each
 * rule is testable from plain data and every refusal names the server and the value it saw.
 */

/** One condition of a wait gate and what was last seen for it, in words. */
export interface GateCondition {
  name: string;
  ok: boolean;
  observed: string;
  /** Unmet and not going to be met by waiting (another server died): the gate stops at once. */
  fatal?: boolean;
}

/** How one inventory server looks in the cluster view. */
export interface ServerState {
  host: string;
  address: string;
  /** Serf status (`alive`, `failed`, ...), `missing` when not a member, `unknown` when unread. */
  serf: string;
  raft: RaftStanding;
  leader: boolean;
}

export type RaftStanding = 'voter' | 'non-voter' | 'missing' | 'unknown';

export interface PreflightReport {
  ok: boolean;
  problems: string[];
  via?: string;
  /** Leader `ip:port`; `""` when the cluster has none; absent when no agent answered. */
  leader?: string;
  /** The inventory host that leads, when the leader is an inventory server. */
  leaderHost?: string;
  healthy?: boolean;
  failureTolerance?: number;
  servers: ServerState[];
}

export interface GateOptions {
  /** Failure tolerance a step needs before a server may go down; 1 unless told otherwise. */
  minFailureTolerance?: number;
}

/**
 * Rule 1, before anything is touched: a leader exists, autopilot is healthy, every inventory
 * server is alive in Serf and a Raft voter, and FailureTolerance >= 1 (so one server can be down).
 */
export function assessPreflight(
  servers: readonly ExpectedNode[],
  view: ClusterView,
  options: GateOptions = {},
): PreflightReport {
  const min = options.minFailureTolerance ?? 1;
  const report: PreflightReport = { ok: false, problems: [], servers: [] };
  if (view.leader === undefined) {
    report.problems.push(noAnswer(view));
    return report;
  }
  if (view.via !== undefined) report.via = view.via;
  report.leader = view.leader;
  const leaderHost = leaderOf(servers, view.leader)?.host;
  if (leaderHost !== undefined) report.leaderHost = leaderHost;
  const problems = report.problems;
  if (view.leader === '') problems.push(`no leader: ${view.via ?? 'the agent'} reports no Raft leader`);

  const ap = view.autopilot;
  if (!ap) problems.push(autopilotUnavailable(view));
  else {
    report.healthy = ap.healthy;
    report.failureTolerance = ap.failureTolerance;
    if (!ap.healthy) problems.push(autopilotUnhealthy(ap.servers));
    if (ap.failureTolerance < min) problems.push(toleranceTooLow(ap.failureTolerance, ap.servers, min));
  }

  if (!view.members) problems.push(`members unavailable: ${readError(view, 'members')}`);
  if (!view.peers) problems.push(`Raft peers unavailable: ${readError(view, 'peers')}`);
  for (const node of servers) {
    const state = serverState(node, view);
    report.servers.push(state);
    const who = `${node.host} (${node.address})`;
    if (state.serf === 'missing') problems.push(`${who} is not a Serf member, as seen by ${view.via}`);
    else if (state.serf !== 'alive' && state.serf !== 'unknown')
      problems.push(`${who} is ${state.serf} in Serf, as seen by ${view.via}`);
    if (state.raft === 'missing') problems.push(`${who} is not in the Raft configuration`);
    else if (state.raft === 'non-voter') problems.push(`${who} is a Raft non-voter`);
  }
  report.ok = problems.length === 0;
  return report;
}

/**
 * Rule 4, just before `target` is stopped: never more than one server down. Every OTHER
 * inventory server is alive, a leader exists, and, when the target is itself a healthy voter,
 * the failure tolerance allows losing it. A target that is already down costs nothing to stop,
 * so a crashed server can still be repaired.
 */
export function assessReady(
  target: ExpectedNode,
  servers: readonly ExpectedNode[],
  view: ClusterView,
  options: GateOptions = {},
  /** Each other server's own answer to /v1/status/leader just now, by host, when asked. */
  direct?: ReadonlyMap<string, { leader?: string; error?: string }>,
): string[] {
  const min = options.minFailureTolerance ?? 1;
  if (view.leader === undefined) return [noAnswer(view)];
  const problems: string[] = [];
  // Alive right now: a crashed host stops answering at once, long before Serf or autopilot say so.
  for (const node of servers) {
    const answer = direct?.get(node.host);
    if (node.host === target.host || !answer || answer.leader !== undefined) continue;
    problems.push(`${node.host} (${node.address}) does not answer right now: ${answer.error ?? 'no answer'}`);
  }
  if (view.leader === '') problems.push(`no leader: ${view.via ?? 'the agent'} reports no Raft leader`);
  if (!view.members) problems.push(`members unavailable: ${readError(view, 'members')}`);
  else {
    for (const node of servers) {
      if (node.host === target.host) continue;
      const serf = serfStatus(node, view);
      if (serf === 'missing')
        problems.push(`${node.host} (${node.address}) is not a Serf member, as seen by ${view.via}`);
      else if (serf !== 'alive')
        problems.push(`${node.host} (${node.address}) is ${serf} in Serf, as seen by ${view.via}`);
    }
  }
  // Voting right now, not only alive in Serf (which takes seconds to notice a crash): each other
  // server a Raft voter, and healthy in autopilot's last look (which sees a silent follower by its
  // last contact with the leader).
  if (view.peers) {
    for (const node of servers) {
      if (node.host === target.host) continue;
      const standing = raftStanding(node, view);
      if (standing === 'missing')
        problems.push(`${node.host} (${node.address}) is not in the Raft configuration`);
      else if (standing === 'non-voter') problems.push(`${node.host} (${node.address}) is a Raft non-voter`);
    }
  }
  const ap = view.autopilot;
  if (!ap) problems.push(autopilotUnavailable(view));
  else {
    for (const node of servers) {
      if (node.host === target.host) continue;
      const entry = autopilotEntry(ap.servers, node);
      if (entry && !entry.healthy)
        problems.push(`${node.host} (${node.address}) is unhealthy in autopilot: ${describeServer(entry)}`);
    }
    if (autopilotEntry(ap.servers, target)?.healthy === true && ap.failureTolerance < min) {
      problems.push(
        `${toleranceTooLow(ap.failureTolerance, ap.servers, min)}: stopping ${target.host} would leave the cluster without quorum to spare`,
      );
    }
  }
  return problems;
}

/**
 * Rule 2, after `target` (a server) was restarted: it is back as a Raft voter, a leader exists,
 * it has caught up (commit_index == last_log_index, the upgrade guide's test), autopilot is
 * healthy and FailureTolerance is back to the baseline recorded by the pre-flight.
 */
export function assessServerBack(
  target: ExpectedNode,
  servers: readonly ExpectedNode[],
  view: ClusterView,
  progress: NodeProgress,
  baselineFailureTolerance: number,
): GateCondition[] {
  return [
    othersUpCondition(target, servers, view),
    voterCondition(target, view),
    leaderCondition(view),
    caughtUpCondition(target, progress),
    autopilotCondition(view),
    toleranceCondition(view, baselineFailureTolerance),
  ];
}

/**
 * While `target` restarts, every other server must stay up. One that another server's Serf
 * sees failed or gone will not come back by waiting: the roll stops at once, naming it. (The
 * restarted target's own view is not trusted for this: it may not have caught up with Serf.)
 */
function othersUpCondition(
  target: ExpectedNode,
  servers: readonly ExpectedNode[],
  view: ClusterView,
): GateCondition {
  const name = 'other_servers_up';
  if (view.leader === undefined || !view.members) {
    return { name, ok: false, observed: view.leader === undefined ? noAnswer(view) : 'members unavailable' };
  }
  const fromTarget = view.via?.endsWith(` via ${target.host}`) === true;
  const down = servers
    .filter((n) => n.host !== target.host)
    .map((n) => ({ node: n, serf: serfStatus(n, view) }))
    .filter((d) => d.serf !== 'alive');
  if (down.length === 0) return { name, ok: true, observed: 'every other server is alive' };
  const gone = down.filter((d) => d.serf === 'failed' || d.serf === 'left');
  const words = down.map(
    (d) => `${d.node.host} (${d.node.address}) is ${d.serf === 'missing' ? 'not a member' : d.serf}`,
  );
  if (gone.length === 0 || fromTarget)
    return { name, ok: false, observed: `${words.join(', ')}, as seen by ${view.via}` };
  const hosts = gone.map((d) => d.node.host);
  return {
    name,
    ok: false,
    fatal: true,
    observed:
      `${words.join(', ')}, as seen by ${view.via}, while ${target.host} restarted: ` +
      `the roll stops before it costs the quorum; bring ${hosts.join(', ')} back (or repair with ` +
      `drover reset-node ${hosts[0]}), check with drover verify, then run the roll again`,
  };
}

/** After a client restart: a server sees it as an alive member, and the client knows a leader. */
export function assessClientBack(
  target: ExpectedNode,
  serverView: ClusterView,
  clientLeader: { leader?: string; error?: string },
): GateCondition[] {
  let member: GateCondition;
  if (serverView.leader === undefined) {
    member = { name: 'member_alive', ok: false, observed: noAnswer(serverView) };
  } else if (!serverView.members) {
    member = {
      name: 'member_alive',
      ok: false,
      observed: `members unavailable: ${readError(serverView, 'members')}`,
    };
  } else {
    const serf = serfStatus(target, serverView);
    member = {
      name: 'member_alive',
      ok: serf === 'alive',
      observed: `${target.host} (${target.address}) is ${serf === 'missing' ? 'not a member' : serf}, as seen by ${serverView.via}`,
    };
  }
  const leader: GateCondition =
    clientLeader.leader === undefined
      ? {
          name: 'leader',
          ok: false,
          observed: `${target.host}'s agent did not answer: ${clientLeader.error ?? 'no answer'}`,
        }
      : clientLeader.leader === ''
        ? { name: 'leader', ok: false, observed: `${target.host} knows no leader` }
        : { name: 'leader', ok: true, observed: `${target.host} knows leader ${clientLeader.leader}` };
  return [member, leader];
}

/**
 * The FailureTolerance of a healthy cluster of `servers` voters: (n - 1) / 2 rounded down, i.e.
 * 1 for 3 servers and 2 for 5 (autopilot docs). The default baseline when none was recorded.
 */
export function expectedFailureTolerance(servers: number): number {
  return Math.max(0, Math.floor((servers - 1) / 2));
}

/** `name: observed` for every unmet condition, for error messages. */
export function describeUnmet(conditions: readonly GateCondition[]): string {
  return conditions
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: ${c.observed}`)
    .join('; ');
}

/** The inventory server whose bind address is the leader's host part. */
export function leaderOf(
  servers: readonly ExpectedNode[],
  leader: string | undefined,
): ExpectedNode | undefined {
  if (!leader) return undefined;
  const ip = hostOf(leader);
  return servers.find((s) => s.address === ip);
}

/**
 * Inventory servers autopilot is about to promote: alive in Serf, in the Raft configuration as
 * non-voters, and healthy in autopilot. Consul adds a server that (re)joins as a non-voter and
 * promotes it once it has been healthy for server_stabilization_time (10 s by default); a
 * server back from a long freeze or partition, which autopilot had removed, is one.
 */
export function awaitingPromotion(servers: readonly ExpectedNode[], view: ClusterView): ExpectedNode[] {
  const ap = view.autopilot;
  if (!ap) return [];
  return servers.filter((node) => {
    const state = serverState(node, view);
    return (
      state.serf === 'alive' &&
      state.raft === 'non-voter' &&
      autopilotEntry(ap.servers, node)?.healthy === true
    );
  });
}

function serverState(node: ExpectedNode, view: ClusterView): ServerState {
  return {
    host: node.host,
    address: node.address,
    serf: serfStatus(node, view),
    raft: raftStanding(node, view),
    leader: leaderOf([node], view.leader) !== undefined,
  };
}

/** Serf status from the members view; autopilot's SerfStatus stands in when members were not read. */
function serfStatus(node: ExpectedNode, view: ClusterView): string {
  if (view.members) return findMember(view.members, node)?.status ?? 'missing';
  return (view.autopilot && autopilotEntry(view.autopilot.servers, node)?.serfStatus) ?? 'unknown';
}

/**
 * From the Raft configuration's Voter flag. A peer listed only by /v1/status/peers has no flag;
 * autopilot's Voter flag decides then, and a listed peer counts as a voter when neither says.
 */
function raftStanding(node: ExpectedNode, view: ClusterView): RaftStanding {
  if (!view.peers) return 'unknown';
  const peer = findPeer(view.peers, node);
  if (!peer) return 'missing';
  const voter = peer.voter ?? (view.autopilot && autopilotEntry(view.autopilot.servers, node)?.voter) ?? true;
  return voter ? 'voter' : 'non-voter';
}

function voterCondition(target: ExpectedNode, view: ClusterView): GateCondition {
  const name = 'voter';
  if (view.leader === undefined) return { name, ok: false, observed: noAnswer(view) };
  const standing = raftStanding(target, view);
  const who = `${target.host} (${target.address})`;
  switch (standing) {
    case 'voter':
      return { name, ok: true, observed: `${who} is a Raft voter` };
    case 'non-voter':
      return { name, ok: false, observed: `${who} is a Raft non-voter` };
    case 'missing':
      return {
        name,
        ok: false,
        observed: `${who} is not among the Raft peers [${(view.peers ?? []).map((p) => p.address).join(', ')}]`,
      };
    default:
      return { name, ok: false, observed: `Raft peers unavailable: ${readError(view, 'peers')}` };
  }
}

function leaderCondition(view: ClusterView): GateCondition {
  if (view.leader === undefined) return { name: 'leader', ok: false, observed: noAnswer(view) };
  if (view.leader === '') return { name: 'leader', ok: false, observed: `${view.via} reports no leader` };
  return { name: 'leader', ok: true, observed: `leader ${view.leader}` };
}

function caughtUpCondition(target: ExpectedNode, p: NodeProgress): GateCondition {
  const name = 'caught_up';
  if (!p.answered)
    return { name, ok: false, observed: `${target.host}'s agent did not answer: ${p.error ?? 'no answer'}` };
  const { commitIndex: c, lastLogIndex: l } = p;
  if (c === undefined || l === undefined) {
    return {
      name,
      ok: false,
      observed: `${target.host} reports no commit_index/last_log_index (${p.source ?? 'stats'})`,
    };
  }
  const rel = c === l ? '=' : c < l ? '<' : '>';
  return { name, ok: c === l, observed: `${target.host} commit_index ${c} ${rel} last_log_index ${l}` };
}

function autopilotCondition(view: ClusterView): GateCondition {
  const name = 'autopilot_healthy';
  const ap = view.autopilot;
  if (!ap) return { name, ok: false, observed: autopilotUnavailable(view) };
  return ap.healthy
    ? { name, ok: true, observed: 'autopilot reports the cluster healthy' }
    : { name, ok: false, observed: autopilotUnhealthy(ap.servers) };
}

function toleranceCondition(view: ClusterView, baseline: number): GateCondition {
  const name = 'failure_tolerance';
  const ap = view.autopilot;
  if (!ap) return { name, ok: false, observed: autopilotUnavailable(view) };
  const ft = ap.failureTolerance;
  if (ft >= baseline) return { name, ok: true, observed: `FailureTolerance ${ft} (baseline ${baseline})` };
  const sick = ap.servers.filter((s) => !s.healthy);
  const which =
    sick.length > 0 ? `; unhealthy: ${sick.map((s) => `${s.name} (${describeServer(s)})`).join(', ')}` : '';
  return { name, ok: false, observed: `FailureTolerance ${ft}, below the baseline ${baseline}${which}` };
}

function describeServer(s: AutopilotServer): string {
  return `${s.address}: serf ${s.serfStatus}, last contact ${s.lastContactMs}ms, index ${s.lastIndex}${s.voter ? '' : ', non-voter'}`;
}

/** The pre-flight's and verify's words for a 429 from autopilot: which servers, and why. */
export function autopilotUnhealthy(servers: readonly AutopilotServer[]): string {
  const sick = servers.filter((s) => !s.healthy);
  const detail = sick.map((s) => `${s.name} (${describeServer(s)})`).join(', ');
  return `autopilot reports the cluster unhealthy (HTTP 429)${detail ? `; unhealthy servers: ${detail}` : ''}`;
}

function toleranceTooLow(ft: number, servers: readonly AutopilotServer[], min: number): string {
  const voters = servers.filter((s) => s.voter).length;
  return `autopilot FailureTolerance is ${ft} with ${voters} voter${voters === 1 ? '' : 's'} (need at least ${min}; a 3-server cluster has 1)`;
}

function autopilotUnavailable(view: ClusterView): string {
  const why = readError(view, 'autopilot');
  // ACLs are named only when the agent said that is what stopped it (403, "ACL not found").
  if (/\b403\b|Permission denied|ACL not found/i.test(why))
    return `autopilot health unavailable (ACLs are on: the token needs operator:read): ${why}`;
  if (view.leader === '') return `autopilot health unavailable: the cluster has no leader to ask (${why})`;
  return `autopilot health unavailable: ${why}`;
}

function noAnswer(view: ClusterView): string {
  return `no Consul agent answered: ${view.errors.join('; ') || 'none asked'}`;
}

/** The recorded error of one read, or a plain "not read". */
function readError(view: ClusterView, what: keyof NonNullable<ClusterView['readErrors']>): string {
  return view.readErrors?.[what] ?? 'not read';
}

function findMember(members: readonly AgentMember[], node: ExpectedNode): AgentMember | undefined {
  return members.find((m) => m.addr === node.address) ?? members.find((m) => m.name === node.nodeName);
}

function findPeer(peers: readonly PeerEntry[], node: ExpectedNode): PeerEntry | undefined {
  return peers.find((p) => hostOf(p.address) === node.address) ?? peers.find((p) => p.node === node.nodeName);
}

function autopilotEntry(
  servers: readonly AutopilotServer[],
  node: ExpectedNode,
): AutopilotServer | undefined {
  return (
    servers.find((s) => hostOf(s.address) === node.address) ?? servers.find((s) => s.name === node.nodeName)
  );
}
