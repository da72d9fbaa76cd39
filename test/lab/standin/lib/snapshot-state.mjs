// state.bin: the state store (StateStore.snapshot()) as a stream shaped like Consul's FSM
// snapshot (agent/consul/fsm/snapshot.go): a header, then one record per row, each a message
// type byte (Consul's structs.MessageType numbers) followed by the row. The stand-in writes the
// header and the rows as JSON, each ended by a newline:
//   {"LastIndex":N}\n
//   <0x00>{"Node":{...}}\n                  Register: a node ...
//   <0x00>{"Node":"n1","Service":{...}}\n   ... each of its services ...
//   <0x00>{"Node":"n1","Check":{...}}\n     ... and each of its checks
//   <0x11>{...token}\n <0x13>{...policy}\n <0x0b>{"AllowBootstrap":false,"ModifyIndex":N}\n
//   <0x02>{...kv entry}\n <0x05>{"Key":"k","Index":N}\n <0x09>{...autopilot}\n
//   <0x0d>{...CA}\n <0x1f>{"Key":"acl-tokens-replicated","Value":"true"}\n <0x10>{"Key":"kvs","Value":N}\n
// Rows are in a fixed order (nodes, services, checks, tokens, policies, keys sorted), so the
// same state always gives the same bytes. A restore refuses a type it does not know, as
// Consul's FSM does: `Unrecognized msg type %d` (`msg type <%d> is a Consul Enterprise log
// entry. Consul CE cannot restore it` from 64 up).

/** structs.MessageType numbers the stand-in's state uses. */
export const MSG = {
  Register: 0, KVS: 2, Tombstone: 5, Autopilot: 9, ACLBootstrap: 11, ConnectCA: 13, Index: 16,
  ACLToken: 17, ACLPolicy: 19, SystemMetadata: 31,
};

/** structs.requestTypeStrings, for `consul snapshot inspect`. */
const TYPE_NAMES = [
  'Register', 'Deregister', 'KVS', 'Session', 'ACL', 'Tombstone', 'CoordinateBatchUpdate', 'PreparedQuery', 'Txn',
  'Autopilot', 'Area', 'ACLBootstrap', 'Intention', 'ConnectCA', 'ConnectCAProviderState', 'ConnectCAConfig', 'Index',
  'ACLToken', 'ACLTokenDelete', 'ACLPolicy', 'ACLPolicyDelete', 'ConnectCALeaf', 'ConfigEntry', 'ACLRole',
  'ACLRoleDelete', 'ACLBindingRule', 'ACLBindingRuleDelete', 'ACLAuthMethod', 'ACLAuthMethodDelete', 'ChunkingState',
  'FederationState', 'SystemMetadata', 'ServiceVirtualIP', 'FreeVirtualIP', 'KindServiceName', 'Peering',
  'PeeringDelete', undefined, 'PeeringTrustBundle', 'PeeringTrustBundleDelete', 'PeeringSecret',
  'RaftLogVerifierCheckpoint', 'Resource', 'UpdateManualVirtualIPRequestType',
];

/** MessageType.String(). */
export function typeName(t) {
  return TYPE_NAMES[t] ?? `Unknown(${t})`;
}

const NL = 0x0a;
const byKey = (f) => (a, b) => (f(a) < f(b) ? -1 : f(a) > f(b) ? 1 : 0);

/** StateStore.snapshot() -> state.bin bytes. */
export function encodeState(state, lastIndex) {
  const out = [Buffer.from(`${JSON.stringify({ LastIndex: lastIndex })}\n`)];
  const put = (type, row) => out.push(Buffer.from([type]), Buffer.from(JSON.stringify(row)), Buffer.from([NL]));
  const s = state ?? {};
  const services = new Map((s.services ?? []).map(([node, rows]) => [node, rows]));
  const checks = new Map((s.checks ?? []).map(([node, rows]) => [node, rows]));
  const nodes = new Map((s.nodes ?? []).map((n) => [n.node, n]));
  const names = [...new Set([...nodes.keys(), ...services.keys(), ...checks.keys()])].sort();
  for (const name of names) {
    if (nodes.has(name)) put(MSG.Register, { Node: nodes.get(name) });
    for (const [, svc] of [...(services.get(name) ?? [])].sort(byKey(([id]) => id))) put(MSG.Register, { Node: name, Service: svc });
    for (const [, chk] of [...(checks.get(name) ?? [])].sort(byKey(([id]) => id))) put(MSG.Register, { Node: name, Check: chk });
  }
  const acl = s.acl ?? { tokens: [], policies: [], bootstrapIndex: 0, tokensReplicated: false };
  for (const t of [...acl.tokens].sort(byKey((x) => x.AccessorID))) put(MSG.ACLToken, t);
  for (const p of [...acl.policies].sort(byKey((x) => x.ID))) put(MSG.ACLPolicy, p);
  if (acl.bootstrapIndex) put(MSG.ACLBootstrap, { AllowBootstrap: false, ModifyIndex: acl.bootstrapIndex });
  for (const e of [...(s.kvs ?? [])].sort(byKey((x) => x.key))) put(MSG.KVS, e);
  for (const [key, index] of [...(s.tombstones ?? [])].sort(byKey(([k]) => k))) put(MSG.Tombstone, { Key: key, Index: index });
  if (s.autopilot) put(MSG.Autopilot, s.autopilot);
  if (s.connectCa) put(MSG.ConnectCA, s.connectCa);
  if (acl.tokensReplicated) put(MSG.SystemMetadata, { Key: 'acl-tokens-replicated', Value: 'true' });
  for (const [key, value] of Object.entries(s.index ?? {}).sort(byKey(([k]) => k))) put(MSG.Index, { Key: key, Value: value });
  return Buffer.concat(out);
}

/**
 * fsm.ReadSnapshot: the header, then handler(type, row, bytes) for each record; `bytes` counts
 * what was read for it (the header with the first), as `consul snapshot inspect` counts.
 * `known(type)` may throw before the row is decoded, as the FSM's restore does.
 */
export function readRecords(buf, handler, known = () => {}) {
  const headEnd = buf.indexOf(NL);
  if (headEnd < 0) throw new Error(buf.length ? 'unexpected EOF' : 'EOF');
  let header;
  try { header = JSON.parse(buf.subarray(0, headEnd).toString('utf8')); } catch (e) { throw new Error(`failed to decode snapshot header: ${e.message}`); }
  if (!header || typeof header !== 'object' || !Number.isSafeInteger(header.LastIndex)) throw new Error('failed to decode snapshot header: no LastIndex');
  let pos = headEnd + 1;
  let counted = 0;
  while (pos < buf.length) {
    const type = buf[pos];
    known(type);
    const end = buf.indexOf(NL, pos + 1);
    if (end < 0) throw new Error(`failed to decode msg type ${typeName(type)}, error unexpected EOF`);
    let row;
    try { row = JSON.parse(buf.subarray(pos + 1, end).toString('utf8')); } catch (e) { throw new Error(`failed to decode msg type ${typeName(type)}, error ${e.message}`); }
    pos = end + 1;
    handler(type, row, pos - counted);
    counted = pos;
  }
  return header;
}

const KNOWN = new Set(Object.values(MSG));

/** FSM.Restore's refusal of a type this build does not know. */
function refuseUnknown(type) {
  if (KNOWN.has(type)) return;
  if (type >= 64) throw new Error(`msg type <${type}> is a Consul Enterprise log entry. Consul CE cannot restore it`);
  throw new Error(`Unrecognized msg type ${type}`);
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** state.bin bytes -> the object StateStore.restore() takes; throws on a type or row it cannot take. */
export function decodeState(buf) {
  const state = {
    kvs: [], tombstones: [], nodes: [], services: [], checks: [], autopilot: null,
    acl: { tokens: [], policies: [], bootstrapIndex: 0, tokensReplicated: false }, connectCa: null, index: {},
  };
  const services = new Map();
  const checks = new Map();
  const bad = (type) => { throw new Error(`failed to decode msg type ${typeName(type)}, error unexpected row`); };
  const header = readRecords(buf, (type, row) => {
    if (!isObj(row)) bad(type);
    switch (type) {
      case MSG.Register:
        if (isObj(row.Service) && typeof row.Node === 'string' && typeof row.Service.id === 'string') {
          if (!services.has(row.Node)) services.set(row.Node, []);
          services.get(row.Node).push([row.Service.id, row.Service]);
        } else if (isObj(row.Check) && typeof row.Node === 'string' && typeof row.Check.checkId === 'string') {
          if (!checks.has(row.Node)) checks.set(row.Node, []);
          checks.get(row.Node).push([row.Check.checkId, row.Check]);
        } else if (isObj(row.Node) && typeof row.Node.node === 'string') state.nodes.push(row.Node);
        else bad(type);
        break;
      case MSG.KVS: if (typeof row.key !== 'string') bad(type); state.kvs.push(row); break;
      case MSG.Tombstone: if (typeof row.Key !== 'string') bad(type); state.tombstones.push([row.Key, row.Index]); break;
      case MSG.Autopilot: if (!isObj(row.config)) bad(type); state.autopilot = row; break;
      case MSG.ACLBootstrap: state.acl.bootstrapIndex = Number(row.ModifyIndex) || 0; break;
      case MSG.ConnectCA: state.connectCa = row; break;
      case MSG.Index: if (typeof row.Key !== 'string') bad(type); state.index[row.Key] = Number(row.Value) || 0; break;
      case MSG.ACLToken: if (typeof row.AccessorID !== 'string') bad(type); state.acl.tokens.push(row); break;
      case MSG.ACLPolicy: if (typeof row.ID !== 'string') bad(type); state.acl.policies.push(row); break;
      case MSG.SystemMetadata: if (row.Key === 'acl-tokens-replicated') state.acl.tokensReplicated = row.Value === 'true'; break;
      default: bad(type);
    }
  }, refuseUnknown);
  state.services = [...services];
  state.checks = [...checks];
  return { state, lastIndex: header.LastIndex };
}
