// A simulated Raft: real elections (pre-vote, terms, votes, quorum, leader lease) and a
// real replicated peer configuration, over the server RPC port; the "log" is only a pair of
// indexes that the leader advances over time, which is all Consul's outputs expose.
import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { formatDuration } from './duration.mjs';

export const RAFT_TIMING = {
  heartbeatMs: 100,
  // Randomised election timeout: long enough for a stalled event loop on a busy two-core
  // box, short enough that a new leader shows up "within a few seconds".
  electionMinMs: 1200,
  electionMaxMs: 2400,
  leaseMs: 1600,
  entryIntervalMs: 1000,
  catchUpMs: 2000,
  rpcTimeoutMs: 800,
};

const LOG = 'agent.server.raft';

export class Raft extends EventEmitter {
  constructor({ id, name, address, dataDir, logger, pool, timing = RAFT_TIMING }) {
    super();
    Object.assign(this, { id, name, address, logger, pool, timing });
    this.file = path.join(dataDir, 'raft', 'standin-raft.json');
    this.state = 'Follower';
    this.term = 0;
    this.votedFor = null;
    this.lastLogIndex = 0;
    this.lastLogTerm = 0;
    this.commitIndex = 0;
    this.lastSnapshotIndex = 0;
    this.config = { servers: [], index: 0 };
    this.leaderId = null;
    this.leaderAddr = '';
    this.lastContactAt = 0;
    this.followers = new Map();
    this.firstAppendSeen = false;
    this.catchUpUntil = 0;
    this.lastEntryAt = Date.now();
    this.electionRound = 0;
    this.dirty = false;
    this.stopped = false;
    this.load();
    this.resetElectionTimer();
  }

  // --- persistence ------------------------------------------------------------------------

  load() {
    try {
      const s = JSON.parse(fs.readFileSync(this.file, 'utf8'));
      Object.assign(this, {
        term: s.term, votedFor: s.votedFor, lastLogIndex: s.lastLogIndex, lastLogTerm: s.lastLogTerm,
        commitIndex: s.commitIndex, config: s.config, lastSnapshotIndex: s.lastSnapshotIndex ?? 0,
      });
    } catch {
      // first start: empty raft state
    }
  }

  get hasState() { return this.config.servers.length > 0 || this.term > 0; }

  /** Whether this server already ran a cluster (more than the bootstrap configuration). */
  get hasHistory() { return this.term > 0 || this.config.index > 1; }

  save() {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({
      term: this.term, votedFor: this.votedFor, lastLogIndex: this.lastLogIndex, lastLogTerm: this.lastLogTerm,
      commitIndex: this.commitIndex, config: this.config, lastSnapshotIndex: this.lastSnapshotIndex,
    }));
    fs.renameSync(tmp, this.file);
    this.dirty = false;
  }

  // --- configuration ------------------------------------------------------------------------

  voters() { return this.config.servers.filter((s) => s.voter); }
  quorum() { return Math.floor(this.voters().length / 2) + 1; }
  isVoter() { return this.voters().some((s) => s.id === this.id); }
  others() { return this.config.servers.filter((s) => s.id !== this.id); }

  bootstrap(servers) {
    this.config = { servers: servers.map((s) => ({ ...s, voter: true })), index: 1 };
    this.lastLogIndex = Math.max(this.lastLogIndex, 1);
    this.lastLogTerm = Math.max(this.lastLogTerm, 1);
    this.commitIndex = Math.max(this.commitIndex, 1);
    this.save();
    this.resetElectionTimer(true);
  }

  changeConfig(mutator, what) {
    if (this.state !== 'Leader') throw new Error('node is not the leader');
    const servers = this.config.servers.map((s) => ({ ...s }));
    mutator(servers);
    this.append();
    this.config = { servers, index: this.lastLogIndex };
    this.logger.info(LOG, 'updating configuration', { ...what, servers: this.configString() });
    this.save();
  }

  addNonvoter(server) {
    this.changeConfig((list) => list.push({ ...server, voter: false }), { command: 'AddNonvoter', 'server-id': server.id, 'server-addr': server.address });
  }

  promote(id) {
    const s = this.config.servers.find((x) => x.id === id);
    this.changeConfig((list) => { const x = list.find((y) => y.id === id); if (x) x.voter = true; }, { command: 'AddVoter', 'server-id': id, 'server-addr': s?.address ?? '' });
  }

  removeServer(id) {
    this.changeConfig((list) => { const i = list.findIndex((y) => y.id === id); if (i >= 0) list.splice(i, 1); }, { command: 'RemoveServer', 'server-id': id, 'server-addr': '' });
    this.followers.delete(id);
    if (id === this.id) this.stepDown('removed ourself from the configuration');
  }

  configString() {
    return `[${this.config.servers.map((s) => `{Suffrage:${s.voter ? 'Voter' : 'Nonvoter'} ID:${s.id} Address:${s.address}}`).join(' ')}]`;
  }

  // --- timers ---------------------------------------------------------------------------------

  start() {
    this.timer = setInterval(() => this.tick(), this.timing.heartbeatMs);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    this.save();
  }

  resetElectionTimer(soon = false) {
    const { electionMinMs, electionMaxMs } = this.timing;
    const span = soon ? electionMinMs / 2 : electionMinMs;
    this.electionDeadline = Date.now() + span + Math.random() * (electionMaxMs - electionMinMs);
  }

  tick() {
    if (this.stopped) return;
    const now = Date.now();
    if (this.state === 'Leader') {
      this.leaderTick(now);
    } else if (now >= this.electionDeadline) {
      if (this.leaderId) {
        this.logger.warn(LOG, 'heartbeat timeout reached, starting election', { 'last-leader-addr': this.leaderAddr, 'last-leader-id': this.leaderId });
        this.setLeader(null, '');
      }
      this.resetElectionTimer();
      if (this.isVoter()) this.campaign();
    }
    if (this.dirty && now - (this.savedAt ?? 0) > 500) { this.save(); this.savedAt = now; }
  }

  setLeader(id, addr, name = '') {
    if (this.leaderId === id) return;
    this.leaderId = id;
    this.leaderAddr = addr;
    this.emit('leader-change', id, addr, name);
  }

  // --- elections ----------------------------------------------------------------------------

  async campaign() {
    const round = ++this.electionRound;
    if (this.state !== 'Candidate') {
      this.state = 'Candidate';
      this.logger.info(LOG, 'entering candidate state', { node: `Node at ${this.address} [Candidate]`, term: this.term + 1 });
    }
    // Pre-vote first (as hashicorp/raft 1.7 does): a server that cannot win does not bump terms.
    const pre = await this.requestVotes(true);
    if (round !== this.electionRound || this.state !== 'Candidate' || this.stopped) return;
    if (pre < this.quorum()) { this.logger.debug(LOG, 'pre-vote campaign failed', { term: this.term + 1, tally: pre }); return; }
    this.term += 1;
    this.votedFor = this.id;
    this.save();
    const votes = await this.requestVotes(false);
    if (round !== this.electionRound || this.state !== 'Candidate' || this.stopped) return;
    if (votes >= this.quorum()) {
      this.logger.info(LOG, 'election won', { term: this.term, tally: votes });
      this.becomeLeader();
    }
  }

  async requestVotes(pre) {
    const params = { pre, term: this.term + (pre ? 1 : 0), candidateId: this.id, candidateAddr: this.address, lastLogIndex: this.lastLogIndex, lastLogTerm: this.lastLogTerm };
    const voters = this.voters().filter((s) => s.id !== this.id);
    const replies = await Promise.all(voters.map((s) => this.pool.call(s.address, 'Raft.RequestVote', params, this.timing.rpcTimeoutMs).catch(() => null)));
    let granted = 1;
    for (const r of replies) {
      if (!r) continue;
      if (!pre && r.term > this.term) { this.becomeFollower(r.term); return 0; }
      if (r.granted) granted++;
    }
    return granted;
  }

  handleRequestVote(p) {
    const now = Date.now();
    const logOk = p.lastLogTerm > this.lastLogTerm || (p.lastLogTerm === this.lastLogTerm && p.lastLogIndex >= this.lastLogIndex);
    const haveLeader = (this.state === 'Leader') || (this.leaderId && this.leaderId !== p.candidateId && now - this.lastContactAt < this.timing.electionMinMs);
    if (p.term < this.term) return { term: this.term, granted: false };
    if (haveLeader) {
      this.logger.debug(LOG, 'rejecting vote request since we have a leader', { from: p.candidateAddr, leader: this.leaderAddr });
      return { term: this.term, granted: false };
    }
    if (p.pre) return { term: this.term, granted: logOk };
    if (p.term > this.term) this.becomeFollower(p.term);
    if ((this.votedFor === null || this.votedFor === p.candidateId) && logOk) {
      this.votedFor = p.candidateId;
      this.save();
      this.resetElectionTimer();
      return { term: this.term, granted: true };
    }
    return { term: this.term, granted: false };
  }

  becomeFollower(term) {
    const wasLeader = this.state === 'Leader';
    if (term > this.term) { this.term = term; this.votedFor = null; this.save(); }
    if (this.state !== 'Follower') {
      this.state = 'Follower';
      this.electionRound++;
      this.logger.info(LOG, 'entering follower state', { follower: `Node at ${this.address} [Follower]`, leader: this.leaderAddr, 'leader-id': this.leaderId ?? '' });
    }
    if (wasLeader) { this.setLeader(null, ''); this.emit('leadership', false); }
  }

  stepDown(reason) {
    if (this.state !== 'Leader') return;
    this.logger.warn(LOG, reason);
    this.becomeFollower(this.term);
    this.resetElectionTimer();
  }

  becomeLeader() {
    this.state = 'Leader';
    this.logger.info(LOG, 'entering leader state', { leader: `Node at ${this.address} [Leader]` });
    const now = Date.now();
    this.followers = new Map(this.others().map((s) => [s.id, { lastAck: now, lastIndex: 0, lastTerm: 0, inflight: false, catchingUp: false }]));
    this.setLeader(this.id, this.address, this.name);
    this.append();
    this.save();
    this.emit('leadership', true);
    this.leaderTick(now);
  }

  // --- replication --------------------------------------------------------------------------

  /** Appends one (simulated) log entry on the leader; it commits once a quorum acknowledged it. */
  append() {
    this.lastLogIndex += 1;
    this.lastLogTerm = this.term;
    this.commitIndex = this.lastLogIndex;
    this.lastEntryAt = Date.now();
    this.dirty = true;
    if (this.lastLogIndex - this.lastSnapshotIndex > 16384) this.lastSnapshotIndex = this.lastLogIndex;
  }

  leaderTick(now) {
    if (now - this.lastEntryAt >= this.timing.entryIntervalMs) this.append();
    for (const s of this.others()) {
      let f = this.followers.get(s.id);
      if (!f) { f = { lastAck: now, lastIndex: 0, lastTerm: 0, inflight: false, catchingUp: false }; this.followers.set(s.id, f); }
      if (f.inflight) continue;
      f.inflight = true;
      const params = {
        term: this.term, leaderId: this.id, leaderAddr: this.address, leaderName: this.name, lastIndex: this.lastLogIndex,
        lastTerm: this.lastLogTerm, commitIndex: this.commitIndex, config: this.config,
      };
      this.pool.call(s.address, 'Raft.AppendEntries', params, this.timing.rpcTimeoutMs).then((r) => {
        f.inflight = false;
        if (this.state !== 'Leader') return;
        if (r.term > this.term) { this.becomeFollower(r.term); return; }
        if (!r.success) return;
        Object.assign(f, { lastAck: Date.now(), lastIndex: r.lastIndex, lastTerm: r.lastTerm, catchingUp: r.catchingUp });
      }, () => { f.inflight = false; });
    }
    // Leader lease: without contact to a quorum of voters, a leader steps down (no split brain).
    let reachable = 0;
    for (const v of this.voters()) {
      if (v.id === this.id) reachable++;
      else if (now - (this.followers.get(v.id)?.lastAck ?? 0) < this.timing.leaseMs) reachable++;
    }
    if (this.isVoter() && reachable < this.quorum()) this.stepDown('failed to contact quorum of nodes, stepping down');
  }

  handleAppendEntries(p) {
    if (p.term < this.term) return { term: this.term, success: false };
    if (p.term > this.term) { this.term = p.term; this.votedFor = null; this.dirty = true; }
    if (this.state !== 'Follower') this.becomeFollower(p.term);
    const now = Date.now();
    this.lastContactAt = now;
    this.resetElectionTimer();
    this.setLeader(p.leaderId, p.leaderAddr, p.leaderName);
    this.config = p.config;
    if (!this.firstAppendSeen) {
      this.firstAppendSeen = true;
      // A restarted or new server has to fetch and apply what it missed: for a moment its
      // commit index trails the last log index it has received.
      if (p.lastIndex > this.commitIndex) this.catchUpUntil = now + this.timing.catchUpMs;
    }
    this.lastLogIndex = p.lastIndex;
    this.lastLogTerm = p.lastTerm;
    if (now >= this.catchUpUntil) this.commitIndex = Math.min(p.commitIndex, this.lastLogIndex);
    this.dirty = true;
    return { term: this.term, success: true, lastIndex: this.lastLogIndex, lastTerm: this.lastLogTerm, catchingUp: now < this.catchUpUntil };
  }

  // --- views ----------------------------------------------------------------------------------

  knownLeaderAddr() {
    return this.state === 'Leader' ? this.address : this.leaderAddr;
  }

  lastContactText() {
    if (this.state === 'Leader') return '0';
    if (!this.lastContactAt) return 'never';
    return formatDuration(Date.now() - this.lastContactAt);
  }

  stats() {
    return {
      applied_index: String(this.commitIndex),
      commit_index: String(this.commitIndex),
      fsm_pending: '0',
      last_contact: this.lastContactText(),
      last_log_index: String(this.lastLogIndex),
      last_log_term: String(this.lastLogTerm),
      last_snapshot_index: String(this.lastSnapshotIndex),
      last_snapshot_term: String(this.lastSnapshotIndex ? this.lastLogTerm : 0),
      latest_configuration: this.configString(),
      latest_configuration_index: String(this.config.index),
      num_peers: String(this.voters().filter((s) => s.id !== this.id).length),
      protocol_version: '3',
      protocol_version_max: '3',
      protocol_version_min: '0',
      snapshot_version_max: '1',
      snapshot_version_min: '0',
      state: this.state,
      term: String(this.term),
    };
  }
}
