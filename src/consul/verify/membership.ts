import type { MemberRole } from '../api/api-responses.js';
import type { ExpectedNode, PeerView } from './cluster-model.js';
import type { MemberStatus } from '../parse/members-table.js';
import { table } from '../../report/table.js';

/**
 * Membership reconciliation (pure): the inventory against the member list one agent reports.
 * A ghost is a member the inventory does not explain: a name it does not have (a container
 * re-created under a new name, e.g. its old container id), or an inventory node listed at an
 * address that is not its bind_addr (an old container IP). Ghosts that are failed or left can be
 * pruned with `consul force-leave -prune`; an alive one cannot (a live agent refutes it).
 */
export interface MemberEntry {
  name: string;
  /** IP only. */
  address: string;
  status: MemberStatus;
  role: MemberRole;
}

export type NodeState = MemberStatus | 'missing';

export interface NodeMembership {
  host: string;
  nodeName: string;
  role: ExpectedNode['role'];
  /** The inventory's address (bind_addr). */
  address: string;
  status: NodeState;
  /** The address the cluster lists, when it differs from the inventory's. */
  listedAddress?: string;
}

export interface Ghost {
  name: string;
  address: string;
  status: MemberStatus;
  role: MemberRole;
  reason: 'not in the inventory' | 'address changed';
  /** For `address changed`: the inventory host and the address it should have. */
  host?: string;
  expectedAddress?: string;
  prunable: boolean;
}

export interface MembershipReport {
  ok: boolean;
  /** Which agent's view this is. */
  via?: string;
  nodes: NodeMembership[];
  ghosts: Ghost[];
  problems: string[];
}

export function reconcileMembers(
  expected: readonly ExpectedNode[],
  members: readonly MemberEntry[],
  via?: string,
): MembershipReport {
  const byName = new Map(members.map((m) => [m.name, m]));
  const known = new Set(expected.map((n) => n.nodeName));
  const problems: string[] = [];
  const ghosts: Ghost[] = [];
  const nodes = expected.map((n): NodeMembership => {
    const m = byName.get(n.nodeName);
    const out: NodeMembership = {
      host: n.host,
      nodeName: n.nodeName,
      role: n.role,
      address: n.address,
      status: m?.status ?? 'missing',
    };
    if (!m) {
      problems.push(`${n.host}: node ${n.nodeName} is not a member`);
      return out;
    }
    if (m.address !== n.address) {
      out.listedAddress = m.address;
      ghosts.push({
        name: m.name,
        address: m.address,
        status: m.status,
        role: m.role,
        reason: 'address changed',
        host: n.host,
        expectedAddress: n.address,
        prunable: m.status === 'failed' || m.status === 'left',
      });
      problems.push(
        `${n.host}: node ${n.nodeName} is listed at ${m.address}, the inventory says ${n.address}`,
      );
    } else if (m.status !== 'alive') {
      problems.push(`${n.host}: node ${n.nodeName} is ${m.status}`);
    }
    return out;
  });
  for (const m of members) {
    if (known.has(m.name)) continue;
    ghosts.push({
      name: m.name,
      address: m.address,
      status: m.status,
      role: m.role,
      reason: 'not in the inventory',
      prunable: m.status === 'failed' || m.status === 'left',
    });
    problems.push(`ghost: ${m.name} (${m.address}, ${m.status}) is not in the inventory`);
  }
  return { ok: problems.length === 0, ...(via ? { via } : {}), nodes, ghosts, problems };
}

export function formatMembership(r: MembershipReport): string {
  const rows = [
    ['HOST', 'NODE', 'ROLE', 'STATUS', 'ADDRESS'],
    ...r.nodes.map((n) => [
      n.host,
      n.nodeName,
      n.role,
      n.status,
      n.listedAddress ? `${n.listedAddress} (inventory: ${n.address})` : n.address,
    ]),
  ];
  const lines = table(rows);
  lines.push('');
  if (r.ghosts.length === 0) lines.push('ghosts: none');
  else {
    lines.push(`ghosts: ${r.ghosts.length}`);
    lines.push(
      ...table([
        ['NODE', 'ADDRESS', 'STATUS', 'ROLE', 'WHY', 'PRUNE'],
        ...r.ghosts.map((g) => [
          g.name,
          g.address,
          g.status,
          g.role,
          g.reason === 'address changed' ? `address changed (${g.host} is ${g.expectedAddress})` : g.reason,
          g.prunable
            ? 'yes (--prune)'
            : g.reason === 'address changed'
              ? `no: alive; drover reset-node ${g.host}`
              : 'no: alive',
        ]),
      ]).map((l) => `  ${l}`),
    );
  }
  if (r.via) lines.push(`(as seen by ${r.via})`);
  return lines.join('\n');
}

/**
 * Whether resetting server `target` (stop, new data dir, force-leave) keeps quorum: the voters
 * other than it that are alive must still be a majority of the current voters. Resetting the
 * only server would start a new, empty cluster. Pure; `problems` empty means safe.
 */
export function serverResetProblems(
  target: ExpectedNode,
  servers: readonly ExpectedNode[],
  peers: readonly PeerView[] | undefined,
  members: readonly MemberEntry[] | undefined,
  leader: string | undefined,
): string[] {
  const problems: string[] = [];
  if (servers.length <= 1) {
    return [`${target.host} is the only server: resetting its data dir would throw away the cluster's state`];
  }
  if (!leader) problems.push('the cluster has no leader');
  if (!peers || !members) return [...problems, 'could not read the Raft peers and members to check quorum'];
  const voters = peers.filter((p) => p.voter !== false);
  const quorum = Math.floor(voters.length / 2) + 1;
  const alive = new Set(members.filter((m) => m.status === 'alive').map((m) => m.address));
  const ip = (a: string) => a.replace(/:\d+$/, '');
  const others = voters.filter((p) => ip(p.address) !== target.address && alive.has(ip(p.address)));
  if (others.length < quorum) {
    problems.push(
      `with ${target.host} down, ${others.length} of ${voters.length} voters would be alive; quorum needs ${quorum}`,
    );
  }
  return problems;
}
