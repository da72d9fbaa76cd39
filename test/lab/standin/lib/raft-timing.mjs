// Raft and autopilot timing, derived the way Consul 1.20 derives it:
//  - hashicorp/raft DefaultConfig: HeartbeatTimeout 1000ms, ElectionTimeout 1000ms,
//    LeaderLeaseTimeout 500ms, CommitTimeout 50ms, MaxAppendEntries 64;
//  - agent/config/builder.go multiplies the first three (not CommitTimeout) by
//    performance.raft_multiplier, default 5 (consul.DefaultRaftMultiplier), allowed 1..10;
//  - agent/consul/config.go: SnapshotInterval 30s, SnapshotThreshold 16384, TrailingLogs 10240,
//    ServerHealthInterval 2s (autopilot's state refresh), AutopilotInterval 10s (reconcile);
//  - performance.rpc_hold_timeout 7s: how long a server holds an RPC while there is no leader.
// Autopilot's LastContactThreshold (200ms) is NOT scaled: it is plain agent config.
import { parseDuration } from './duration.mjs';

export const DEFAULT_RAFT_MULTIPLIER = 5;

function durationOr(text, fallback) {
  if (text === undefined || text === null || text === '') return fallback;
  try { return parseDuration(String(text)); } catch { return fallback; }
}

/** The multiplier from the runtime config (config.mjs validates it and sets Consul's default). */
export function raftMultiplierOf(rt) {
  return rt.performance?.raftMultiplier ?? DEFAULT_RAFT_MULTIPLIER;
}

/** Every timing the stand-in's raft, RPC forwarding and autopilot use, for one agent. */
export function raftTiming(rt, env = process.env) {
  const m = raftMultiplierOf(rt);
  return {
    multiplier: m,
    heartbeatTimeoutMs: 1000 * m,
    electionTimeoutMs: 1000 * m,
    leaderLeaseTimeoutMs: 500 * m,
    commitTimeoutMs: 50,
    maxAppendEntries: 64,
    // hashicorp/raft's NetworkTransport timeout as Consul configures it.
    rpcTimeoutMs: 10000,
    // From the runtime config (lib/config.mjs sets Consul's defaults), never from the raw files.
    snapshotIntervalMs: rt.raftSnapshotIntervalMs ?? 30000,
    snapshotThreshold: rt.raftSnapshotThreshold ?? 16384,
    trailingLogs: rt.raftTrailingLogs ?? 10240,
    rpcHoldTimeoutMs: rt.performance?.rpcHoldTimeoutMs ?? 7000,
    serverHealthIntervalMs: durationOr(env.CONSUL_STANDIN_SERVER_HEALTH_INTERVAL, 2000),
    autopilotIntervalMs: durationOr(env.CONSUL_STANDIN_AUTOPILOT_INTERVAL, 10000),
    // agent/consul/config.go ReconcileInterval: the leader's full serf -> catalog reconcile.
    reconcileIntervalMs: 60000,
  };
}

/** hashicorp/raft's randomTimeout: somewhere in [min, 2*min). */
export function randomTimeout(minMs) {
  return minMs + Math.random() * minMs;
}

/** hashicorp/raft's backoff(10ms, failures, 12): doubles after the second failure, up to ~10 s. */
export function replicationBackoff(failures) {
  let base = 10;
  for (let power = Math.min(failures, 12); power > 2; power--) base *= 2;
  return base;
}
