import type { AclReplication, AutopilotHealth, MemberRole } from '../api/api-responses.js';
import type { MemberStatus } from '../parse/members-table.js';

/**
 * The data cluster verification works on: what the inventory says the cluster should be, and
 * what each node's agent reported. Plain JSON-friendly data, so a report can be registered,
 * printed as JSON, and built by hand in tests.
 */
export type ConsulRole = 'server' | 'client';

export interface ExpectedNode {
  /** Inventory host name. */
  host: string;
  /** Consul node name (`consul_node_name`, default the host name). */
  nodeName: string;
  /** The node's bind_addr: Serf and Raft listen here. */
  address: string;
  role: ConsulRole;
  datacenter?: string;
  /** Consul's DNS domain (`consul_domain`), when not `consul`. */
  domain?: string;
}

/** One member as seen in some agent's gossip view. */
export interface MemberView {
  name: string;
  address: string;
  status: MemberStatus;
  role: MemberRole;
}

/** One Raft peer as seen by some server. `voter` is unknown when only /v1/status/peers answered. */
export interface PeerView {
  address: string;
  voter?: boolean;
  node?: string;
}

export interface AgentView {
  nodeName: string;
  datacenter: string;
  role: ConsulRole;
}

export type NodeObservation =
  | { reachable: false; error: string }
  | {
      reachable: true;
      self: AgentView;
      /** The leader's `ip:port` as this agent sees it; `""` = no leader; absent = could not ask. */
      leader?: string;
      /** Servers only: the Raft configuration as this server holds it. */
      peers?: PeerView[];
      members?: MemberView[];
      /** Servers only: autopilot's last look at the servers (the leader's, forwarded). */
      autopilot?: AutopilotHealth;
      /** Servers only: why autopilot health could not be read (403 without operator:read, no leader). */
      autopilotError?: string;
      /** Servers with ACLs only: how their datacenter replicates ACLs from the primary. */
      aclReplication?: AclReplication;
      /** Reads that failed after the agent answered /v1/agent/self. */
      errors: string[];
    };

/** Observations keyed by inventory host name. */
export type Observations = Readonly<Record<string, NodeObservation>>;

/** `10.0.0.1:8300` → `10.0.0.1`; `[fe80::1]:8300` → `fe80::1`; a bare IP stays as it is. */
export function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1] as string;
  const parts = address.split(':');
  return parts.length === 2 ? (parts[0] as string) : address;
}
