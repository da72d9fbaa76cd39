import { parseTable, requireColumns, type TableRow } from './columns.js';
import { ConsulOutputError } from '../api/output-error.js';

/** One row of `consul operator raft list-peers`. The last two columns exist on newer versions. */
export interface RaftPeerRow {
  node: string;
  id: string;
  /** `ip:port` of the server's Raft (RPC) listener. */
  address: string;
  /** `leader`, `follower` or `candidate`, lower-case as printed. */
  state: string;
  voter: boolean;
  raftProtocol: string;
  commitIndex?: number;
  /** Entries behind the leader (`8 commits` → 8); 0 on the leader, whose cell reads `-`. */
  trailsLeaderBy?: number;
}

const SOURCE = 'consul operator raft list-peers';
const REQUIRED = ['Node', 'ID', 'Address', 'State', 'Voter', 'RaftProtocol'] as const;

export function parseRaftPeersTable(text: string, source: string = SOURCE): RaftPeerRow[] {
  if (text.trim() === '') throw new ConsulOutputError(source, 'printed nothing');
  const table = parseTable(text, source);
  requireColumns(table, REQUIRED, source);
  if (table.rows.length === 0) throw new ConsulOutputError(source, 'printed a header but no peers');
  return table.rows.map((row) => toPeer(row, source));
}

function toPeer(row: TableRow, source: string): RaftPeerRow {
  const cell = (c: string): string => row.get(c) ?? '';
  const node = cell('Node');
  const voter = cell('Voter');
  if (voter !== 'true' && voter !== 'false') {
    throw new ConsulOutputError(source, `peer "${node}" has Voter "${voter}", expected true or false`);
  }
  const peer: RaftPeerRow = {
    node,
    id: cell('ID'),
    address: cell('Address'),
    state: cell('State').toLowerCase(),
    voter: voter === 'true',
    raftProtocol: cell('RaftProtocol'),
  };
  const commit = row.get('Commit Index');
  if (commit !== undefined && commit !== '') {
    if (!/^\d+$/.test(commit))
      throw new ConsulOutputError(source, `peer "${node}" has Commit Index "${commit}"`);
    peer.commitIndex = Number(commit);
  }
  const trails = row.get('Trails Leader By');
  if (trails !== undefined && trails !== '') {
    const n = /^(\d+)(?: commits?)?$/.exec(trails);
    if (n) peer.trailsLeaderBy = Number(n[1]);
    else if (trails === '-' && peer.state === 'leader') peer.trailsLeaderBy = 0;
    else if (trails !== '-') {
      throw new ConsulOutputError(
        source,
        `peer "${node}" has Trails Leader By "${trails}", expected "N commits"`,
      );
    }
  }
  return peer;
}
