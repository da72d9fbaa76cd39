import { hostOf } from './cluster-model.js';
import type { NodeVerdict, VerifyReport } from './verify.js';
import { table } from '../../report/table.js';

/**
 * The report as people read it after `drover verify`: one row per inventory node, then the
 * leader, then every problem and warning. Plain text, no colour: it goes to CI logs as often
 * as to terminals.
 */
export function formatVerifyReport(report: VerifyReport): string {
  const byAddress = new Map(report.nodes.map((n) => [n.address, n.host]));
  const header = ['NODE', 'ROLE', 'ADDRESS', 'AGENT', 'MEMBER', 'LEADER SEEN', 'RAFT'];
  const rows = report.nodes.map((n) => [
    n.host,
    role(n),
    n.address,
    n.agent === 'ok' ? 'ok' : 'no answer',
    n.member,
    leaderSeen(n, byAddress),
    raft(n),
  ]);
  const lines = table([header, ...rows]);
  lines.push('');
  if (report.leader) {
    const who = report.leader.host
      ? `${report.leader.host} (${report.leader.address})`
      : `${report.leader.address} (not in the inventory)`;
    lines.push(`Leader: ${who}`);
  } else {
    lines.push('Leader: none agreed on');
  }
  const { servers, clients } = report.counts;
  const size = `${servers} server${servers === 1 ? '' : 's'}, ${clients} client${clients === 1 ? '' : 's'}`;
  if (report.ok) {
    lines.push(`Cluster OK (${size}): one leader, every server a Raft voter, every node an alive member.`);
  } else {
    lines.push(
      `Cluster NOT OK (${size}): ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}:`,
    );
    for (const p of report.problems) lines.push(`  - ${p}`);
  }
  if (report.warnings.length > 0) {
    lines.push(`Warnings:`);
    for (const w of report.warnings) lines.push(`  - ${w}`);
  }
  return lines.join('\n');
}

function role(n: NodeVerdict): string {
  return n.reportedRole && n.reportedRole !== n.role ? `${n.role} (runs as ${n.reportedRole})` : n.role;
}

function leaderSeen(n: NodeVerdict, byAddress: ReadonlyMap<string, string>): string {
  if (n.leaderSeen === undefined) return '?';
  if (n.leaderSeen === '') return 'none';
  return byAddress.get(hostOf(n.leaderSeen)) ?? n.leaderSeen;
}

function raft(n: NodeVerdict): string {
  if (!n.raft) return '-';
  const seen =
    n.raft.peersSeen === undefined
      ? ''
      : ` (sees ${n.raft.peersSeen} peer${n.raft.peersSeen === 1 ? '' : 's'})`;
  return `${n.raft.peer}${seen}`;
}
