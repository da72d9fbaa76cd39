// `GET|PUT /v1/snapshot` (agent/snapshot_endpoint.go) and the server side of it
// (agent/consul/snapshot_endpoint.go dispatchSnapshotRequest). A client hands the request to one
// of its servers; a server sends it to another datacenter's server for `?dc=`, then to the
// leader unless `?stale` (no leader: `No cluster leader` at once, there is no hold here), then
// checks acl:write (SnapshotAllowed), then:
//  - save: a consistent read unless stale, then a new raft snapshot (raft.userSnapshot) as an
//    archive; X-Consul-Index is its index;
//  - restore: never stale; the archive is read and checked (lib/snapshot-archive.mjs), raft
//    restores it (raft.restore), then a barrier, then the leader actions run again (bounded by a
//    minute). The restored state store is the cluster's from then on: its ACL tokens, its
//    catalog (the leader reconciles the live members at its next reconcile, agents re-register
//    at their next anti-entropy sync), its autopilot settings and Connect CA.
// Errors travel as their text (as Consul's snapshot RPC sends reply.Error); the HTTP layer
// answers 403 for permission errors and `ACL not found`, 500 for the rest.
import { Authorizer, permissionDenied } from './acl-authorizer.mjs';
import { primaryDownIdentity } from './acl-replication.mjs';
import { HttpError } from './kv-api.mjs';
import { readArchive, snapshotMeta, writeArchive } from './snapshot-archive.mjs';
import { decodeState, encodeState } from './snapshot-state.mjs';

const NO_LEADER = 'No cluster leader';
const NOT_READY = 'Not ready to serve consistent reads';
const LEADER_ACTIONS_TIMEOUT_MS = 60000;
// The stand-in's RPC frames carry the archive (base64) in one JSON message, below 64 MiB.
const MAX_ARCHIVE = 48 * 1024 * 1024;

export const rpcTimeout = (args) => (args.op === 'restore' ? 150000 : 60000);

class StateRestoreError extends Error {}

/** authz.ToAllowAuthorizer().SnapshotAllowed: acl:write, resolved on this server. */
async function snapshotDenied(server, secret) {
  const acl = server.rt.acl;
  const r = await server.resolveAcl(secret || 'anonymous');
  let a;
  if (r.status !== 200) {
    const policy = acl.downPolicy === 'allow' || acl.downPolicy === 'deny' ? acl.downPolicy : acl.defaultPolicy;
    a = new Authorizer({ accessor: primaryDownIdentity(r.body), defaultPolicy: policy });
  } else if (!r.body) {
    return 'ACL not found';
  } else {
    a = new Authorizer({ ...r.body, defaultPolicy: acl.defaultPolicy });
  }
  return a.allowed('acl', 'write') ? null : permissionDenied(a.accessor, 'acl', 'write').message;
}

async function save(server, args) {
  const { raft } = server;
  if (!args.stale) {
    try { await raft.verifyLeader(); } catch (e) { return { error: e.message }; }
    if (!(await server.readyForConsistentReads())) return { error: NOT_READY };
  }
  // setQueryMeta comes first: pessimistic if more is written while the snapshot is taken.
  const meta = server.meta(0);
  let snap;
  try { snap = raft.userSnapshot(); } catch (e) { return { error: `Raft error when taking snapshot: ${e.message}` }; }
  const state = encodeState(snap.state, snap.index);
  const archive = writeArchive(snapshotMeta(snap, state.length), state);
  return { archive: archive.toString('base64'), meta: { ...meta, index: snap.index } };
}

async function restore(server, args) {
  if (args.stale) return { error: 'stale not allowed for restore' };
  const { raft } = server;
  let archive;
  try { archive = readArchive(Buffer.from(args.archive ?? '', 'base64')); } catch (e) { return { error: e.message }; }
  const { meta, state } = archive;
  try {
    await raft.restore(meta, state.length, () => {
      try { return decodeState(state).state; } catch (e) { throw new StateRestoreError(e.message); }
    });
  } catch (e) {
    // Consul's state machine panics on a state it cannot restore; the stand-in refuses it instead.
    if (e instanceof StateRestoreError) return { error: e.message };
    return { error: `Raft error when restoring snapshot: ${e.message}` };
  }
  try { await raft.barrier(); } catch (e) { return { error: e.message }; }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out waiting for re-run of leader actions')), LEADER_ACTIONS_TIMEOUT_MS);
  });
  try { await Promise.race([server.reassertLeadership(), timeout]); } catch (e) { return { error: e.message }; } finally { clearTimeout(timer); }
  return {};
}

/**
 * dispatchSnapshotRequest. args: { op: 'save'|'restore', dc, stale, token, archive (base64,
 * restore), hops }; answers { archive, meta } (save), {} (restore) or { error }.
 */
export async function dispatchSnapshot(server, args) {
  const { rt, raft } = server;
  const dc = args.dc || rt.datacenter;
  if (dc !== rt.datacenter) {
    const servers = [...(server.wan()?.serversIn(dc) ?? [])];
    if (!servers.length) return { error: 'No path to datacenter' };
    const m = servers[Math.floor(Math.random() * servers.length)];
    try { return await server.poolFor(dc).call(`${m.addr}:${m.tags.port}`, 'Snapshot.Dispatch', { ...args, dc }, rpcTimeout(args)); } catch (e) { return { error: e.message }; }
  }
  if (!args.stale && raft.state !== 'Leader') {
    const leader = raft.knownLeaderAddr();
    // A server that thinks another is the leader sends it on; two hops are enough.
    if (!leader || (args.hops ?? 0) >= 2) return { error: NO_LEADER };
    try { return await server.pool.call(leader, 'Snapshot.Dispatch', { ...args, dc, hops: (args.hops ?? 0) + 1 }, rpcTimeout(args)); } catch (e) { return { error: e.message }; }
  }
  if (rt.acl.enabled) {
    const denied = await snapshotDenied(server, args.token);
    if (denied) return { error: denied };
  }
  if (args.op === 'save') return save(server, args);
  if (args.op === 'restore') return restore(server, args);
  return { error: `unrecognized snapshot op ${JSON.stringify(args.op)}` };
}

async function readArchiveBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_ARCHIVE) throw new HttpError(413, `Request body too large (the stand-in takes snapshots up to ${MAX_ARCHIVE} bytes)`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** The HTTP status Consul's handleErr gives an error text. */
const statusOf = (text) => (text.includes('Permission denied') || text.includes('ACL not found') ? 403 : 500);

export function snapshotRoutes(agent) {
  const args = (ctx, op) => ({ op, dc: ctx.query.get('dc') ?? '', stale: ctx.query.has('stale'), token: ctx.acl?.secret ?? '' });
  return [
    // Only GET and PUT: HEAD is not a GET here (it would take a snapshot).
    ['HEAD', /^\/v1\/snapshot$/, () => ({ status: 405, text: 'method HEAD not allowed', headers: { Allow: 'OPTIONS,GET,PUT' } })],
    ['GET', /^\/v1\/snapshot$/, async (ctx) => {
      const r = await agent.snapshot(args(ctx, 'save'));
      if (r.error !== undefined) return { status: statusOf(r.error), text: r.error };
      return {
        raw: Buffer.from(r.archive, 'base64'),
        headers: {
          'Content-Type': 'application/x-gzip',
          'X-Consul-Index': String(r.meta.index || 1),
          'X-Consul-KnownLeader': String(r.meta.knownLeader),
          'X-Consul-LastContact': String(Math.max(0, r.meta.lastContact)),
        },
      };
    }],
    ['PUT', /^\/v1\/snapshot$/, async (ctx) => {
      const body = await readArchiveBody(ctx.req);
      const r = await agent.snapshot({ ...args(ctx, 'restore'), archive: body.toString('base64') });
      if (r.error !== undefined) return { status: statusOf(r.error), text: r.error };
      return { empty: true };
    }],
  ];
}
