// Autopilot as hashicorp/raft-autopilot runs it inside Consul's leader:
//  - every ServerHealthInterval (2s) the state is recomputed from each alive server's own raft
//    stats (the Status.RaftStats RPC: its last_contact, last_log_index, last_log_term), fetched
//    with a deadline of half the interval; /v1/operator/autopilot/health serves the last state;
//  - every AutopilotInterval (10s) non-voters that are healthy and stable are promoted, then
//    dead servers are pruned (never a majority of voters, never below min_quorum).
// The configuration is the one stored in raft (seeded from the agent config by the first leader).
import { formatDuration, parseDuration } from './duration.mjs';

const LOG = 'agent.server.autopilot';
const SERF_STATUS = { alive: 'alive', failed: 'failed', left: 'left' };

/** raft-autopilot's isHealthy, applied to one server's last fetched stats. */
function isHealthy(s, leaderTerm, leaderIndex, conf) {
  if (!leaderIndex || !leaderTerm) return false;
  if (s.nodeStatus !== 'alive') return false;
  if (s.stats.lastContactMs > conf.lastContactThresholdMs || s.stats.lastContactMs < 0) return false;
  if (s.stats.lastTerm !== leaderTerm) return false;
  return s.stats.lastIndex + conf.maxTrailingLogs >= leaderIndex;
}

/** Consul's RaftStats.ToAutopilotServerStats: an unparsable last_contact ("never") becomes 0. */
function parseStats(r) {
  let lastContactMs = 0;
  try { lastContactMs = r.LastContact === '0' ? 0 : parseDuration(r.LastContact); } catch { lastContactMs = 0; }
  return { lastContactMs, lastTerm: r.LastTerm, lastIndex: r.LastIndex };
}

/** OperatorServerHealth's `StableSince.Round(time.Second).UTC()`, as Go's time.Time marshals it. */
function goTimeSeconds(ms) {
  return new Date(Math.round(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

export class Autopilot {
  constructor({ raft, gossip, pool, logger, timing, config, knownServers, removeFailed, localStats }) {
    Object.assign(this, { raft, gossip, pool, logger, timing, config, knownServers, removeFailed, localStats });
    this.state = null;
    this.inflight = new Set();
  }

  start() {
    this.stop();
    this.running = true;
    this.firstStateTime = 0;
    this.update();
    this.healthTimer = setInterval(() => this.update(), this.timing.serverHealthIntervalMs);
    this.reconcileTimer = setInterval(() => this.reconcile(), this.timing.autopilotIntervalMs);
  }

  stop() {
    this.running = false;
    clearInterval(this.healthTimer);
    clearInterval(this.reconcileTimer);
    this.state = null;
  }

  // --- state ------------------------------------------------------------------------------------

  async fetchStats(known) {
    const out = new Map();
    const deadline = new Promise((r) => setTimeout(r, this.timing.serverHealthIntervalMs / 2).unref());
    const calls = [];
    for (const k of known.values()) {
      if (k.status !== 'alive') continue;
      if (k.id === this.raft.id) { out.set(k.id, parseStats(this.localStats())); continue; }
      if (this.inflight.has(k.id)) {
        this.logger.warn('agent.server.autopilot', 'error getting server health from server', { server: k.name, error: 'last request still outstanding' });
        continue;
      }
      this.inflight.add(k.id);
      calls.push(this.pool.call(k.address, 'Status.RaftStats', {}, this.timing.rpcTimeoutMs).then((r) => out.set(k.id, parseStats(r)), (e) => {
        this.logger.warn('agent.server.autopilot', 'error getting server health from server', { server: k.name, error: e.message });
      }).finally(() => this.inflight.delete(k.id)));
    }
    await Promise.race([Promise.all(calls), deadline]);
    return new Map(out);
  }

  async update() {
    if (!this.running || this.updating) return;
    this.updating = true;
    try {
      const t = Date.now();
      const conf = this.config();
      const known = this.knownServers();
      // Taken right before the stats so that all indexes are from about the same moment.
      const leaderIndex = this.raft.log.lastIndex;
      const leaderTerm = this.raft.log.lastTerm;
      const fetched = await this.fetchStats(known);
      if (!this.running || this.raft.state !== 'Leader') return;
      const prev = this.state?.servers ?? new Map();
      const servers = new Map();
      for (const rs of this.raft.latest.servers) {
        const old = prev.get(rs.id);
        const k = known.get(rs.id);
        const s = {
          id: rs.id, address: rs.address, name: k?.name ?? old?.name ?? '', version: k?.version ?? old?.version ?? '',
          nodeStatus: k?.status ?? 'left', voter: rs.voter, leader: rs.id === this.raft.id,
          stats: fetched.get(rs.id) ?? old?.stats ?? { lastContactMs: 0, lastTerm: 0, lastIndex: 0 },
        };
        s.healthy = isHealthy(s, leaderTerm, leaderIndex, conf);
        s.stableSince = old && old.healthy === s.healthy ? old.stableSince : t;
        servers.set(rs.id, s);
      }
      const voters = [...servers.values()].filter((s) => s.voter);
      const healthyVoters = voters.filter((s) => s.healthy).length;
      const quorum = Math.floor(voters.length / 2) + 1;
      this.firstStateTime ||= t;
      this.state = {
        at: t, servers, leader: this.raft.id,
        healthy: [...servers.values()].every((s) => s.healthy),
        failureTolerance: healthyVoters > quorum ? healthyVoters - quorum : 0,
      };
    } catch (e) {
      this.logger.error(LOG, 'Error when computing next state', { error: e.message });
    } finally {
      this.updating = false;
    }
  }

  /** `/v1/operator/autopilot/health` from the last computed state (Consul iterates a Go map: any order). */
  healthReply() {
    const st = this.state;
    if (!st) return { status: 429, body: { Healthy: false, FailureTolerance: 0, Servers: null } };
    const list = [...st.servers.values()].sort(() => Math.random() - 0.5).map((s) => ({
      ID: s.id, Name: s.name, Address: s.address, SerfStatus: SERF_STATUS[s.nodeStatus] ?? 'none', Version: s.version,
      Leader: s.leader, LastContact: formatDuration(s.stats.lastContactMs), LastTerm: s.stats.lastTerm, LastIndex: s.stats.lastIndex,
      Healthy: s.healthy, Voter: s.voter, StableSince: goTimeSeconds(s.stableSince),
    }));
    return { status: st.healthy ? 200 : 429, body: { Healthy: st.healthy, FailureTolerance: st.failureTolerance, Servers: list } };
  }

  // --- reconcile: promotions, then dead server cleanup -------------------------------------------------

  async reconcile() {
    if (!this.running) return;
    const st = this.state;
    if (!st || !st.leader) {
      this.logger.error(LOG, 'Failed to reconcile current state with the desired state', { error: 'cannot reconcile Raft server voting rights without a valid autopilot state' });
      return;
    }
    const conf = this.config();
    // raft-autopilot ignores the stabilization time until it has run for 110% of it.
    const stabilization = Date.now() - this.firstStateTime > conf.serverStabilizationMs * 1.1 ? conf.serverStabilizationMs : 0;
    let promoted = false;
    for (const s of st.servers.values()) {
      if (s.voter || !s.healthy || Date.now() - s.stableSince < stabilization) continue;
      this.logger.info(LOG, 'Promoting server', { id: s.id, address: s.address, name: s.name });
      promoted = true;
      try { await this.raft.promote(s.id); } catch (e) { this.logger.error(LOG, 'Failed to reconcile current state with the desired state', { error: `failed promoting server ${s.id}: ${e.message}` }); }
    }
    if (!promoted) await this.pruneDeadServers(conf);
  }

  async pruneDeadServers(conf) {
    if (!conf.cleanupDeadServers) return;
    const known = this.knownServers();
    const servers = this.raft.latest.servers;
    let potential = servers.filter((s) => s.voter).length;
    let maxRemoval = Math.floor((potential - 1) / 2);
    const stale = servers.filter((s) => !known.has(s.id) && s.id !== this.raft.id);
    const failed = servers.filter((s) => known.get(s.id) && known.get(s.id).status !== 'alive' && s.id !== this.raft.id);
    const order = [...stale.filter((s) => !s.voter), ...stale.filter((s) => s.voter), ...failed.filter((s) => !s.voter), ...failed.filter((s) => s.voter)];
    for (const s of order) {
      if (s.voter && conf.minQuorum && potential - 1 < conf.minQuorum) {
        this.logger.debug(LOG, 'will not remove server node as it would leave less voters than the minimum number allowed', { id: s.id, min: conf.minQuorum });
        continue;
      }
      if (s.voter && maxRemoval < 1) {
        this.logger.debug(LOG, 'will not remove server node as removal of a majority of voting servers is not safe', { id: s.id });
        continue;
      }
      if (s.voter) { maxRemoval--; potential--; }
      if (known.has(s.id)) {
        this.logger.info(LOG, 'Attempting removal of failed server node', { id: s.id, name: known.get(s.id).name, address: s.address });
        this.removeFailed(known.get(s.id));
      } else {
        this.logger.debug(LOG, 'removing server by ID', { id: s.id });
      }
      try { await this.raft.removeServer(s.id); this.logger.info(LOG, 'removed server', { id: s.id }); } catch (e) { this.logger.error(LOG, 'failed to remove raft server', { id: s.id, error: e.message }); }
    }
  }
}
