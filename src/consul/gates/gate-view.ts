import type { AgentMember, AutopilotHealth } from '../api/api-responses.js';

/**
 * What one agent told a health gate about the cluster in one check. Plain data: gate-observe.ts
 * fills it over HTTP, gates.ts judges it, tests build it by hand.
 */
export interface ClusterView {
  /** Which agent answered, e.g. `127.0.1.12:8500 via s1`; absent when none did. */
  via?: string;
  /** The leader's `ip:port`; `""` when the agent knows no leader; absent when no agent answered. */
  leader?: string;
  autopilot?: AutopilotHealth;
  /** Raft peers: with Voter flags from the Raft configuration, or bare addresses from /v1/status/peers. */
  peers?: PeerEntry[];
  members?: AgentMember[];
  /** Why each agent that was tried did not answer at all. */
  errors: string[];
  /** Why a read failed after the agent answered, by read. */
  readErrors?: { autopilot?: string; peers?: string; members?: string };
}

export interface PeerEntry {
  /** `ip:8300`. */
  address: string;
  node?: string;
  /** Unknown when only /v1/status/peers answered. */
  voter?: boolean;
}

/** A server's own Raft progress, from its /v1/agent/self Stats or `consul info`. */
export interface NodeProgress {
  answered: boolean;
  error?: string;
  commitIndex?: number;
  lastLogIndex?: number;
  /** Where the indexes came from: `GET /v1/agent/self Stats` or `consul info`. */
  source?: string;
}
