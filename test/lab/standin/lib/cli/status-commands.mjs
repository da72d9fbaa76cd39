// Read-only commands: `consul info`, `consul members`, `consul operator raft list-peers`.
import { columnize } from '../columnize.mjs';
import { HTTP_FLAGS, merge, parseFlags } from './flags.mjs';
import { getJson, request } from './http-client.mjs';

const STATUS_TEXT = { 0: 'none', 1: 'alive', 2: 'leaving', 3: 'left', 4: 'failed' };

export async function info(argv, io) {
  const { flags } = parseFlags(argv, HTTP_FLAGS);
  let self;
  try { self = await getJson(flags, '/v1/agent/self'); } catch (e) { io.err(`Error querying agent: ${e.message}`); return 1; }
  const lines = [];
  for (const section of Object.keys(self.Stats).sort()) {
    lines.push(`${section}:`);
    const values = self.Stats[section];
    for (const key of Object.keys(values).sort()) lines.push(`\t${key} = ${values[key]}`);
  }
  io.out(lines.join('\n'));
  return 0;
}

export async function members(argv, io) {
  const { flags } = parseFlags(argv, merge(HTTP_FLAGS, { bools: ['detailed', 'wan'], strings: ['status', 'segment', 'filter'] }));
  let re;
  try { re = new RegExp(flags.status ?? '.*'); } catch (e) { io.err(`Failed to compile status regexp: ${e.message}`); return 1; }
  let list;
  try { list = await getJson(flags, `/v1/agent/members?segment=_all${flags.wan ? '&wan=1' : ''}`); } catch (e) { io.err(`Error retrieving members: ${e.message}`); return 1; }
  for (const m of list) {
    m.Tags.partition ||= 'default';
    if (m.Tags.role === 'consul') m.Tags.segment = '<all>';
    else if (!m.Tags.segment) m.Tags.segment = '<default>';
  }
  list = list.filter((m) => re.test(STATUS_TEXT[m.Status] ?? 'none'));
  if (!list.length) return 2;
  // Servers first, then by name (Consul's ByMemberNamePartitionAndSegment).
  list.sort((a, b) => {
    const sa = a.Tags.role === 'consul' ? 0 : 1;
    const sb = b.Tags.role === 'consul' ? 0 : 1;
    if (sa !== sb) return sa - sb;
    if (a.Tags.segment !== b.Tags.segment) return a.Tags.segment < b.Tags.segment ? -1 : 1;
    return a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0;
  });
  let rows;
  if (flags.detailed) {
    rows = [['Node', 'Address', 'Status', 'Tags'], ...list.map((m) => [m.Name, `${m.Addr}:${m.Port}`, STATUS_TEXT[m.Status],
      Object.keys(m.Tags).sort().map((k) => `${k}=${m.Tags[k]}`).join(',')])];
  } else {
    rows = [['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC', 'Partition', 'Segment'], ...list.map((m) => {
      const type = m.Tags.role === 'consul' ? 'server' : m.Tags.role === 'node' ? 'client' : 'unknown';
      if (type === 'unknown') return [m.Name, `${m.Addr}:${m.Port}`, STATUS_TEXT[m.Status], 'unknown', '', '', '', '', ''];
      const build = (m.Tags.build ?? '< 0.3').split(':')[0];
      return [m.Name, `${m.Addr}:${m.Port}`, STATUS_TEXT[m.Status], type, build, m.Tags.vsn ?? '', m.Tags.dc ?? '', m.Tags.partition, m.Tags.segment];
    })];
  }
  io.out(columnize(rows));
  return 0;
}

const UINT64 = 2n ** 64n;

/**
 * `consul operator raft list-peers` as Consul 1.20 prints it (command/operator/raft/listpeers):
 * one GET /v1/operator/raft/configuration, whose servers carry `LastIndex` (the server fills it from
 * autopilot's state, 0 for a server autopilot has no stats of). `Commit Index` is that LastIndex;
 * `Trails Leader By` is the leader's LastIndex minus the server's, as uint64 (so a server ahead of
 * the leader's last sample wraps around, as in Consul): `-` on the leader, `1 commit` for exactly
 * one, `N commits` otherwise (`0 commits` included).
 */
export function formatRaftPeers(conf) {
  const servers = conf?.Servers ?? [];
  const lastIndex = new Map(servers.map((s) => [s.ID, BigInt(s.LastIndex ?? 0)]));
  let leaderLast = 0n;
  for (const s of servers) if (s.Leader && lastIndex.has(s.ID)) leaderLast = lastIndex.get(s.ID);
  const rows = [['Node', 'ID', 'Address', 'State', 'Voter', 'RaftProtocol', 'Commit Index', 'Trails Leader By']];
  for (const s of servers) {
    const proto = s.ProtocolVersion || '<=1';
    const state = s.Leader ? 'leader' : 'follower';
    let trailsText = '-';
    const last = lastIndex.get(s.ID) ?? 0n;
    if (lastIndex.has(s.ID)) {
      const trails = (((leaderLast - last) % UINT64) + UINT64) % UINT64;
      trailsText = `${trails} commits`;
      if (s.Leader) trailsText = '-';
      else if (trails === 1n) trailsText = `${trails} commit`;
    }
    rows.push([s.Node, s.ID, s.Address, state, String(s.Voter), proto, String(last), trailsText]);
  }
  return columnize(rows);
}

export async function listPeers(argv, io) {
  const { flags } = parseFlags(argv, HTTP_FLAGS);
  let conf;
  try {
    try { conf = await getJson(flags, `/v1/operator/raft/configuration${flags.stale ? '?stale' : ''}`); } catch (e) { throw new Error(`Failed to retrieve raft configuration: ${e.message}`); }
  } catch (e) {
    io.err(`Error getting peers: ${e.message}`);
    return 1;
  }
  io.out(formatRaftPeers(conf));
  return 0;
}

export async function removePeer(argv, io) {
  const { flags } = parseFlags(argv, merge(HTTP_FLAGS, { strings: ['address', 'id'] }));
  if (!!flags.address === !!flags.id) { io.err('Error removing peer: Must specify either -address or -id, but not both'); return 1; }
  const q = flags.address ? `address=${encodeURIComponent(flags.address)}` : `id=${encodeURIComponent(flags.id)}`;
  try { await request(flags, 'DELETE', `/v1/operator/raft/peer?${q}`); } catch (e) { io.err(`Error removing peer: ${e.message}`); return 1; }
  io.out(flags.address ? `Removed peer with address "${flags.address}"` : `Removed peer with id "${flags.id}"`);
  return 0;
}
