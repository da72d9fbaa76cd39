import { parseTable, requireColumns, type TableRow } from './columns.js';
import { ConsulOutputError } from '../api/output-error.js';

export type MemberStatus = 'alive' | 'leaving' | 'left' | 'failed' | 'none';

/** One row of `consul members`. `partition` and `segment` exist only on newer versions. */
export interface MembersRow {
  node: string;
  /** `ip:port` of the Serf LAN listener, as printed. */
  address: string;
  status: MemberStatus;
  /** `server` or `client`. */
  type: string;
  build: string;
  protocol: number;
  dc: string;
  partition?: string;
  segment?: string;
}

const SOURCE = 'consul members';
const REQUIRED = ['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC'] as const;
const STATUSES: readonly string[] = ['alive', 'leaving', 'left', 'failed', 'none'];

/**
 * Parses `consul members` (old 7-column and newer Partition/Segment layouts). An empty table is
 * an error: without a token the command prints nothing, and "no members" must never read as
 * "nothing is wrong".
 */
export function parseMembersTable(text: string, source: string = SOURCE): MembersRow[] {
  if (text.trim() === '') throw new ConsulOutputError(source, 'printed nothing (does it need an ACL token?)');
  const table = parseTable(text, source);
  requireColumns(table, REQUIRED, source);
  if (table.rows.length === 0) throw new ConsulOutputError(source, 'printed a header but no members');
  return table.rows.map((row) => toMember(row, source));
}

function toMember(row: TableRow, source: string): MembersRow {
  const cell = (c: string): string => row.get(c) ?? '';
  const status = cell('Status');
  if (!STATUSES.includes(status)) {
    throw new ConsulOutputError(
      source,
      `node "${cell('Node')}" has status "${status}", expected alive, left or failed`,
    );
  }
  const protocol = cell('Protocol');
  if (!/^\d+$/.test(protocol)) {
    throw new ConsulOutputError(
      source,
      `node "${cell('Node')}" has protocol "${protocol}", expected a number`,
    );
  }
  const member: MembersRow = {
    node: cell('Node'),
    address: cell('Address'),
    status: status as MemberStatus,
    type: cell('Type'),
    build: cell('Build'),
    protocol: Number(protocol),
    dc: cell('DC'),
  };
  const partition = row.get('Partition');
  const segment = row.get('Segment');
  if (partition !== undefined) member.partition = partition;
  if (segment !== undefined) member.segment = segment;
  return member;
}
