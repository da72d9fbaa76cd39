import { ConsulInfo } from '../parse/consul-info.js';
import { parseGoDuration } from '../parse/go-duration.js';
import {
  asArray,
  asObject,
  getBoolean,
  getNumber,
  getString,
  getStringMap,
  optionalString,
  parseJsonBody,
  type JsonObject,
} from './json-shape.js';
import type { MemberStatus } from '../parse/members-table.js';
import { ConsulOutputError } from './output-error.js';

/**
 * Parsers for the Consul HTTP answers drover reads, one per endpoint, from the shapes in
 * Consul's API docs (status, agent, operator/raft, operator/autopilot). Each takes the raw body
 * and returns plain typed data; anything else is a ConsulOutputError naming the endpoint.
 */
export const ENDPOINTS = {
  leader: '/v1/status/leader',
  peers: '/v1/status/peers',
  agentSelf: '/v1/agent/self',
  agentMembers: '/v1/agent/members',
  autopilotHealth: '/v1/operator/autopilot/health',
  raftConfiguration: '/v1/operator/raft/configuration',
  connectCaRoots: '/v1/connect/ca/roots',
  aclReplication: '/v1/acl/replication',
} as const;

const src = (path: string): string => `GET ${path}`;

/** `"10.1.10.12:8300"`, or `""` while the cluster has no leader. */
export function parseStatusLeader(body: string): string {
  const source = src(ENDPOINTS.leader);
  const v = parseJsonBody(body, source);
  if (typeof v !== 'string')
    throw new ConsulOutputError(source, `expected a JSON string like "10.1.10.12:8300"`);
  return v;
}

/** Raft peer addresses (`ip:8300`), as the server answering sees its Raft configuration. */
export function parseStatusPeers(body: string): string[] {
  const source = src(ENDPOINTS.peers);
  return asArray(parseJsonBody(body, source), source, '').map((p, i) => {
    if (typeof p !== 'string') throw new ConsulOutputError(source, `[${i}]: expected an "ip:port" string`);
    return p;
  });
}

/**
 * The Connect CA's root certificates (PEM), from `{"ActiveRootID", "Roots": [{"RootCert"...}]}`:
 * they sign the certificates clients get through auto_encrypt, so HTTPS to a client checks
 * against them, not against the agent CA that signs the servers'.
 */
export function parseConnectCaRoots(body: string): string[] {
  const source = src(ENDPOINTS.connectCaRoots);
  const roots = asArray(asObject(parseJsonBody(body, source), source, '')['Roots'], source, 'Roots');
  return roots.map((r, i) =>
    getString(asObject(r, source, `Roots[${i}]`), 'RootCert', source, `Roots[${i}]`),
  );
}

export type MemberRole = 'server' | 'client' | 'unknown';

export interface AgentMember {
  name: string;
  /** IP of the member's Serf LAN listener (no port). */
  addr: string;
  port: number;
  status: MemberStatus;
  /** Serf's numeric status, as sent: 0 none, 1 alive, 2 leaving, 3 left, 4 failed. */
  statusCode: number;
  /** From `Tags.role`: `consul` on servers, `node` on clients. */
  role: MemberRole;
  datacenter?: string;
  tags: Record<string, string>;
}

const SERF_STATUS: readonly MemberStatus[] = ['none', 'alive', 'leaving', 'left', 'failed'];

function parseMember(value: unknown, source: string, path: string): AgentMember {
  const o = asObject(value, source, path);
  const statusCode = getNumber(o, 'Status', source, path);
  const status = SERF_STATUS[statusCode];
  if (status === undefined)
    throw new ConsulOutputError(source, `${path}.Status: ${statusCode} is not a Serf status (0-4)`);
  const tags = o['Tags'] === undefined || o['Tags'] === null ? {} : getStringMap(o, 'Tags', source, path);
  const role: MemberRole =
    tags['role'] === 'consul' ? 'server' : tags['role'] === 'node' ? 'client' : 'unknown';
  const member: AgentMember = {
    name: getString(o, 'Name', source, path),
    addr: getString(o, 'Addr', source, path),
    port: getNumber(o, 'Port', source, path),
    status,
    statusCode,
    role,
    tags,
  };
  if (tags['dc'] !== undefined) member.datacenter = tags['dc'];
  return member;
}

export function parseAgentMembers(body: string): AgentMember[] {
  const source = src(ENDPOINTS.agentMembers);
  return asArray(parseJsonBody(body, source), source, '').map((m, i) => parseMember(m, source, `[${i}]`));
}

export interface AgentSelf {
  datacenter: string;
  nodeName: string;
  server: boolean;
  version?: string;
  member: AgentMember;
  /** `Stats` as ConsulInfo (same sections as `consul info`); absent from the docs' sample. */
  stats?: ConsulInfo;
}

export function parseAgentSelf(body: string): AgentSelf {
  const source = src(ENDPOINTS.agentSelf);
  const root = asObject(parseJsonBody(body, source), source, '');
  const config = asObject(root['Config'], source, 'Config');
  const self: AgentSelf = {
    datacenter: getString(config, 'Datacenter', source, 'Config'),
    nodeName: getString(config, 'NodeName', source, 'Config'),
    server: getBoolean(config, 'Server', source, 'Config'),
    member: parseMember(root['Member'], source, 'Member'),
  };
  const version = optionalString(config, 'Version', source, 'Config');
  if (version !== undefined) self.version = version;
  if (root['Stats'] !== undefined && root['Stats'] !== null) {
    const stats = asObject(root['Stats'], source, 'Stats');
    const sections: Record<string, Record<string, string>> = {};
    for (const name of Object.keys(stats)) sections[name] = getStringMap(stats, name, source, 'Stats');
    self.stats = ConsulInfo.fromStats(sections, `${source} Stats`);
  }
  return self;
}

export interface AutopilotServer {
  id: string;
  name: string;
  address: string;
  serfStatus: string;
  version: string;
  leader: boolean;
  /** Milliseconds since the leader last heard from this server (Go duration on the wire). */
  lastContactMs: number;
  lastTerm: number;
  lastIndex: number;
  healthy: boolean;
  voter: boolean;
  /** RFC 3339 timestamp, as sent. */
  stableSince: string;
}

/**
 * `/v1/acl/replication` of a datacenter outside the primary (docs/research/consul-acl-replication.md
 * §6): answered by its leader, no token needed. Times are RFC 3339; Go's zero time
 * (`0001-01-01T00:00:00Z`) means never.
 */
export interface AclReplication {
  enabled: boolean;
  running: boolean;
  sourceDatacenter: string;
  replicationType: string;
  lastSuccess: string;
  lastError: string;
  lastErrorMessage: string;
}

/** undefined when the agent runs without ACLs (401 `ACL support disabled`). */
export function parseAclReplication(status: number, body: string): AclReplication | undefined {
  const source = src(ENDPOINTS.aclReplication);
  if (status === 401) return undefined;
  if (status !== 200) throw new ConsulOutputError(source, `HTTP ${status}: ${body.trim().slice(0, 200)}`);
  const o = asObject(parseJsonBody(body, source), source, '');
  return {
    enabled: getBoolean(o, 'Enabled', source),
    running: getBoolean(o, 'Running', source),
    sourceDatacenter: getString(o, 'SourceDatacenter', source),
    replicationType: getString(o, 'ReplicationType', source),
    lastSuccess: getString(o, 'LastSuccess', source),
    lastError: getString(o, 'LastError', source),
    lastErrorMessage: optionalString(o, 'LastErrorMessage', source) ?? '',
  };
}

export interface AutopilotHealth {
  healthy: boolean;
  failureTolerance: number;
  servers: AutopilotServer[];
}

/**
 * `/v1/operator/autopilot/health` answers 200 when healthy and 429 when not, with the same body.
 * Any other status (403 without `operator:read`, 500 without a leader) is an error, and so is a
 * status that contradicts the body.
 */
export function parseAutopilotHealth(status: number, body: string): AutopilotHealth {
  const source = src(ENDPOINTS.autopilotHealth);
  if (status !== 200 && status !== 429) {
    throw new ConsulOutputError(
      source,
      `HTTP ${status}, expected 200 (healthy) or 429 (unhealthy): ${body.trim().slice(0, 200)}`,
    );
  }
  const root = asObject(parseJsonBody(body, source), source, '');
  const healthy = getBoolean(root, 'Healthy', source);
  if (healthy !== (status === 200)) {
    throw new ConsulOutputError(
      source,
      `HTTP ${status} but Healthy is ${healthy}; Consul sends 200 exactly when Healthy`,
    );
  }
  // A Go nil slice: Consul answers `"Servers": null` (429) before autopilot's first look after
  // an election. No servers known yet, not a malformed answer.
  const rawServers = root['Servers'] === null ? [] : root['Servers'];
  const servers = asArray(rawServers, source, 'Servers').map((s, i) => {
    const path = `Servers[${i}]`;
    const o = asObject(s, source, path);
    return {
      id: getString(o, 'ID', source, path),
      name: getString(o, 'Name', source, path),
      address: getString(o, 'Address', source, path),
      serfStatus: getString(o, 'SerfStatus', source, path),
      version: getString(o, 'Version', source, path),
      leader: getBoolean(o, 'Leader', source, path),
      lastContactMs: parseGoDuration(
        getString(o, 'LastContact', source, path),
        `${source}: ${path}.LastContact`,
      ),
      lastTerm: getNumber(o, 'LastTerm', source, path),
      lastIndex: getNumber(o, 'LastIndex', source, path),
      healthy: getBoolean(o, 'Healthy', source, path),
      voter: getBoolean(o, 'Voter', source, path),
      stableSince: getString(o, 'StableSince', source, path),
    };
  });
  return { healthy, failureTolerance: getNumber(root, 'FailureTolerance', source), servers };
}

export interface RaftServer {
  id: string;
  /** Node name, or `(unknown)` for a stale peer Consul no longer knows. */
  node: string;
  address: string;
  leader: boolean;
  voter: boolean;
  protocolVersion?: string;
}

export interface RaftConfiguration {
  servers: RaftServer[];
  index: number;
}

export function parseRaftConfiguration(body: string): RaftConfiguration {
  const source = src(ENDPOINTS.raftConfiguration);
  const root = asObject(parseJsonBody(body, source), source, '');
  const servers = asArray(root['Servers'], source, 'Servers').map((s, i) => {
    const path = `Servers[${i}]`;
    const o: JsonObject = asObject(s, source, path);
    const server: RaftServer = {
      id: getString(o, 'ID', source, path),
      node: getString(o, 'Node', source, path),
      address: getString(o, 'Address', source, path),
      leader: getBoolean(o, 'Leader', source, path),
      voter: getBoolean(o, 'Voter', source, path),
    };
    const pv = o['ProtocolVersion'];
    if (typeof pv === 'string' || typeof pv === 'number') server.protocolVersion = String(pv);
    return server;
  });
  const index = root['Index'] === undefined ? 0 : getNumber(root, 'Index', source);
  return { servers, index };
}
