// Raft in the shape of hashicorp/raft 1.7 (what Consul 1.20 runs), over the server RPC port:
// pre-vote and elections with randomised timeouts, a replicated log of real entries
// (commands, configuration changes, no-ops, barriers) persisted in data_dir/raft/, commitment
// by quorum, a state machine applied on every server after commit, a leader lease, snapshots
// with log compaction, and InstallSnapshot for followers too far behind.
// Timing comes from raft-timing.mjs (Consul's defaults scaled by raft_multiplier).
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { formatDuration } from './duration.mjs';
import { RaftLog } from './raft-log.mjs';
import { randomTimeout, replicationBackoff } from './raft-timing.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const LOG = 'agent.server.raft';
const now = () => performance.now();
const clone = (servers) => servers.map((s) => ({ ...s }));
export const ERR_NOT_LEADER = 'node is not the leader';
export const ERR_LEADERSHIP_LOST = 'leadership lost while committing log';
export const ERR_TRANSFER_IN_PROGRESS = 'leadership transfer in progress';
export const ERR_ABORTED_BY_RESTORE = 'snapshot restored while committing log';
export const ERR_NOTHING_NEW = 'nothing new to snapshot';

export class Raft extends EventEmitter {
  constructor({ id, name, address, dataDir, logger, pool, fsm, timing }) {
    super();
    Object.assign(this, { id, name, address, logger, pool, fsm, timing });
    this.log = new RaftLog(dataDir);
    const snap = this.log.snapshot;
    fsm.restore(snap?.state ?? null);
    // As in hashicorp/raft: after a restart the FSM holds the snapshot and nothing else, and the
    // commit index is 0 until a leader says otherwise; the log on disk is replayed after commit.
    this.lastApplied = snap?.index ?? 0;
    this.commitIndex = 0;
    this.configs = [{ index: snap?.configIndex ?? 0, servers: snap?.config?.servers ?? [] }];
    for (const e of this.log.entries) if (e.type === 'config') this.configs.push({ index: e.index, servers: e.data.servers });
    this.state = 'Follower';
    this.leaderId = null;
    this.leaderAddr = '';
    this.leaderName = '';
    this.lastContactAt = 0;
    this.replicators = new Map();
    this.futures = new Map();
    this.configQueue = [];
    this.pendingAppend = [];
    this.fsmPending = 0;
    this.electionRound = 0;
    this.warned = new Set();
    this.transferring = false;
    this.stopped = false;
    this.hbDeadline = now() + randomTimeout(timing.heartbeatTimeoutMs);
    this.snapshotDeadline = now() + randomTimeout(timing.snapshotIntervalMs);
  }

  // --- configuration ----------------------------------------------------------------------------

  get term() { return this.log.term; }
  get latest() { return this.configs[this.configs.length - 1]; }
  get committed() {
    for (let i = this.configs.length - 1; i > 0; i--) if (this.configs[i].index <= this.commitIndex) return this.configs[i];
    return this.configs[0];
  }

  /** The latest configuration, as the rest of the agent reads it. */
  get config() { return { servers: this.latest.servers, index: this.latest.index }; }

  voters(config = this.latest) { return config.servers.filter((s) => s.voter); }
  quorum(config = this.latest) { return Math.floor(this.voters(config).length / 2) + 1; }
  isVoter(config = this.latest) { return config.servers.some((s) => s.id === this.id && s.voter); }
  others() { return this.latest.servers.filter((s) => s.id !== this.id); }

  /** hashicorp/raft HasExistingState: a term, a log or a snapshot. */
  get hasState() { return this.term > 0 || this.log.lastIndex > 0 || Boolean(this.log.snapshot); }

  /** BootstrapCluster: the same configuration entry (index 1, term 1) on every server. */
  bootstrap(servers) {
    if (this.hasState) throw new Error('bootstrap only works on new clusters');
    const entry = { index: 1, term: 1, type: 'config', data: { servers: servers.map((s) => ({ ...s, voter: true })) } };
    this.log.append([entry]);
    this.log.setTerm(1, null);
    this.configs.push({ index: 1, servers: entry.data.servers });
  }

  configString(config = this.latest) {
    return `[${config.servers.map((s) => `{Suffrage:${s.voter ? 'Voter' : 'Nonvoter'} ID:${s.id} Address:${s.address}}`).join(' ')}]`;
  }

  // --- lifecycle ---------------------------------------------------------------------------------

  start() {
    this.logger.info(LOG, 'initial configuration', { index: this.latest.index, servers: this.configString() });
    this.logger.info(LOG, 'entering follower state', { follower: `Node at ${this.address} [Follower]`, leader: '', 'leader-id': '' });
    this.timer = setInterval(() => this.tick(), 20);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    this.failPending(ERR_LEADERSHIP_LOST);
    this.log.close();
  }

  tick() {
    if (this.stopped) return;
    const t = now();
    try {
      if (this.state === 'Leader') this.leaderTick(t);
      else if (this.state === 'Candidate' && t >= this.electionDeadline) {
        this.logger.warn(LOG, 'Election timeout reached, restarting election');
        this.campaign();
      } else if (this.state === 'Follower' && t >= this.hbDeadline) this.heartbeatTimeout(t);
      if (t >= this.snapshotDeadline) this.maybeSnapshot(t);
    } catch (e) {
      this.logger.error(LOG, 'raft tick failed', { error: e.stack ?? e.message });
    }
  }

  warnOnce(key, msg) {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn(LOG, msg);
  }

  // --- follower and candidate --------------------------------------------------------------------

  heartbeatTimeout(t) {
    this.hbDeadline = t + randomTimeout(this.timing.heartbeatTimeoutMs);
    if (t - this.lastContactAt < this.timing.heartbeatTimeoutMs) return;
    const lastAddr = this.leaderAddr;
    const lastId = this.leaderId;
    this.setLeader(null, '', '');
    if (this.latest.servers.length === 0) return this.warnOnce('no-peers', 'no known peers, aborting election');
    if (!this.isVoter()) return this.warnOnce('not-voter', 'not part of stable configuration, aborting election');
    this.warned.clear();
    this.logger.warn(LOG, 'heartbeat timeout reached, starting election', { 'last-leader-addr': lastAddr, 'last-leader-id': lastId ?? '' });
    this.state = 'Candidate';
    this.campaign();
  }

  setLeader(id, addr, name) {
    if (this.leaderId === id && this.leaderAddr === addr) return;
    this.leaderId = id;
    this.leaderAddr = addr;
    this.leaderName = name;
    this.emit('leader-change', id, addr, name);
  }

  /**
   * One election round: pre-vote first (no term bump), then the real vote. A round the leader
   * asked for (TimeoutNow, a leadership transfer) skips the pre-vote, and its vote requests say
   * so: voters grant them although they still know a leader.
   */
  async campaign({ transfer = false } = {}) {
    const round = ++this.electionRound;
    this.electionDeadline = now() + randomTimeout(this.timing.electionTimeoutMs);
    this.logger.info(LOG, 'entering candidate state', { node: `Node at ${this.address} [Candidate]`, term: this.term + 1 });
    const alive = () => round === this.electionRound && this.state === 'Candidate' && !this.stopped;
    const pre = transfer ? { won: true, granted: 0, refused: 0 } : await this.collectVotes(true, alive);
    if (!alive()) return;
    if (!pre.won) {
      this.logger.info(LOG, 'pre-vote campaign failed, waiting for election timeout', { term: this.term + 1, tally: pre.granted, refused: pre.refused, votesNeeded: this.quorum() });
      return;
    }
    this.logger.info(LOG, 'pre-vote successful, starting election', { term: this.term + 1, tally: pre.granted, refused: pre.refused, votesNeeded: this.quorum() });
    this.log.setTerm(this.term + 1, this.id);
    const vote = await this.collectVotes(false, alive, transfer);
    if (!alive()) return;
    if (vote.won) {
      this.logger.info(LOG, 'election won', { term: this.term, tally: vote.granted });
      this.becomeLeader();
    }
  }

  /** Asks every other voter; resolves as soon as a quorum granted, or when that became impossible. */
  collectVotes(pre, alive, leadershipTransfer = false) {
    const voters = this.voters();
    const need = this.quorum();
    const params = { pre, term: this.term + (pre ? 1 : 0), candidateId: this.id, candidateAddr: this.address, lastLogIndex: this.log.lastIndex, lastLogTerm: this.log.lastTerm, leadershipTransfer };
    let granted = this.isVoter() ? 1 : 0;
    let refused = 0;
    return new Promise((resolve) => {
      let done = false;
      const settle = () => {
        if (done) return;
        if (granted >= need) { done = true; resolve({ won: true, granted, refused }); }
        else if (refused > voters.length - need) { done = true; resolve({ won: false, granted, refused }); }
      };
      settle();
      for (const s of voters) {
        if (s.id === this.id) continue;
        this.pool.call(s.address, 'Raft.RequestVote', params, this.timing.electionTimeoutMs).then((r) => {
          if (!alive()) return;
          if (r.term > this.term) { this.logger.info(LOG, 'newer term discovered, fallback to follower', { term: r.term }); this.becomeFollower(r.term); return; }
          if (r.granted) granted++; else refused++;
          settle();
        }, () => { refused++; settle(); });
      }
      // Unanswered votes are decided by the election timer (the round is simply abandoned).
    });
  }

  handleRequestVote(p) {
    const reply = { term: this.term, granted: false };
    if (this.latest.servers.length > 0 && !this.latest.servers.some((s) => s.id === p.candidateId)) {
      this.logger.warn(LOG, 'rejecting vote request since node is not in configuration', { from: p.candidateAddr });
      return reply;
    }
    const leader = this.knownLeaderAddr();
    if (leader && leader !== p.candidateAddr && !p.leadershipTransfer) {
      this.logger.warn(LOG, 'rejecting vote request since we have a leader', { from: p.candidateAddr, leader });
      return reply;
    }
    if (p.term < this.term) return reply;
    const logOk = p.lastLogTerm > this.log.lastTerm || (p.lastLogTerm === this.log.lastTerm && p.lastLogIndex >= this.log.lastIndex);
    if (p.pre) return { term: this.term, granted: logOk };
    if (p.term > this.term) {
      if (this.state !== 'Follower') this.logger.debug(LOG, 'lost leadership because received a requestVote with a newer term');
      this.becomeFollower(p.term);
      reply.term = p.term;
    }
    if (this.log.votedFor && this.log.votedFor !== p.candidateId) {
      this.logger.info(LOG, 'duplicate requestVote for same term', { term: p.term });
      return reply;
    }
    if (!logOk) {
      this.logger.warn(LOG, 'rejecting vote request since our last index is greater', { candidate: p.candidateAddr, 'last-index': this.log.lastIndex, 'last-candidate-index': p.lastLogIndex });
      return reply;
    }
    this.log.setTerm(this.term, p.candidateId);
    this.lastContactAt = now();
    return { term: this.term, granted: true };
  }

  /** hashicorp/raft timeoutNow: the leader hands over; start an election at once. */
  handleTimeoutNow(p) {
    if (p.term < this.term || !this.isVoter()) return { term: this.term, success: false };
    this.setLeader(null, '', '');
    this.state = 'Candidate';
    this.logger.info(LOG, 'received TimeoutNow, starting election (leadership transfer)');
    this.campaign({ transfer: true });
    return { term: this.term, success: true };
  }

  becomeFollower(term) {
    const was = this.state;
    if (term > this.term) this.log.setTerm(term, null);
    if (was === 'Follower') return;
    this.state = 'Follower';
    this.electionRound++;
    this.hbDeadline = now() + randomTimeout(this.timing.heartbeatTimeoutMs);
    if (was === 'Leader') {
      this.replicators.clear();
      this.failPending(ERR_LEADERSHIP_LOST);
      this.setLeader(null, '', '');
      this.emit('leadership', false);
    }
    this.logger.info(LOG, 'entering follower state', { follower: `Node at ${this.address} [Follower]`, leader: this.leaderAddr, 'leader-id': this.leaderId ?? '' });
  }

  failPending(message) {
    // Entries already committed are still applied (and their callers answered) by applyBatch.
    for (const [index, f] of this.futures) {
      if (index <= this.commitIndex && !this.stopped) continue;
      this.futures.delete(index);
      f.reject(new Error(message));
    }
    this.configInFlight = false;
    for (const c of this.configQueue.splice(0)) c.reject(new Error(message));
    for (const e of this.pendingAppend.splice(0)) e.reject?.(new Error(message));
  }

  handleAppendEntries(p) {
    const reply = { term: this.term, success: false, lastLog: this.log.lastIndex, noRetryBackoff: false };
    if (p.term < this.term) return reply;
    if (p.term > this.term || this.state !== 'Follower') {
      this.becomeFollower(p.term);
      reply.term = p.term;
    }
    this.setLeader(p.leaderId, p.leaderAddr, p.leaderName);
    if (p.heartbeat) {
      this.lastContactAt = now();
      reply.success = true;
      return reply;
    }
    const prevOk = p.prevLogIndex <= this.log.base || this.log.termAt(p.prevLogIndex) === p.prevLogTerm;
    if (!prevOk) {
      const have = this.log.termAt(p.prevLogIndex);
      this.logger.warn(LOG, have === undefined ? 'failed to get previous log' : 'previous log term mis-match', { 'previous-index': p.prevLogIndex, last: this.log.lastIndex, ours: have ?? 0, remote: p.prevLogTerm });
      reply.noRetryBackoff = true;
      return reply;
    }
    this.storeEntries(p.entries);
    // Entries up to the last one the leader sent are known to match the leader's log.
    const verified = p.prevLogIndex + p.entries.length;
    if (p.leaderCommit > this.commitIndex) this.setCommitIndex(Math.min(p.leaderCommit, Math.max(verified, this.commitIndex)));
    this.lastContactAt = now();
    reply.success = true;
    reply.lastLog = this.log.lastIndex;
    return reply;
  }

  /** Appends what the leader sent, dropping our conflicting suffix first. */
  storeEntries(entries) {
    let i = 0;
    for (; i < entries.length; i++) {
      const e = entries[i];
      if (e.index <= this.log.base) continue;
      const have = this.log.termAt(e.index);
      if (have === e.term) continue;
      if (have !== undefined) {
        this.logger.warn(LOG, 'clearing log suffix', { from: e.index, to: this.log.lastIndex });
        this.log.truncateAfter(e.index - 1);
        this.configs = this.configs.filter((c, n) => n === 0 || c.index < e.index);
      }
      break;
    }
    const fresh = entries.slice(i).filter((e) => e.index > this.log.lastIndex);
    this.log.append(fresh);
    for (const e of fresh) if (e.type === 'config') this.configs.push({ index: e.index, servers: e.data.servers });
  }

  handleInstallSnapshot(p) {
    const reply = { term: this.term, success: false };
    if (p.term < this.term) return reply;
    if (p.term > this.term || this.state !== 'Follower') this.becomeFollower(p.term);
    this.setLeader(p.leaderId, p.leaderAddr, p.leaderName);
    const snap = p.snapshot;
    this.lastContactAt = now();
    // Already applied further (a stale resend): nothing to install.
    if (snap.index <= this.lastApplied) return { term: this.term, success: true };
    this.fsm.restore(snap.state);
    this.log.resetTo(snap);
    this.lastApplied = snap.index;
    this.commitIndex = Math.max(this.commitIndex, snap.index);
    this.configs = [{ index: snap.configIndex, servers: snap.config.servers }];
    for (const e of this.log.entries) if (e.type === 'config') this.configs.push({ index: e.index, servers: e.data.servers });
    this.logger.info(LOG, 'Installed remote snapshot', { index: snap.index, term: snap.term });
    this.lastContactAt = now();
    return { term: this.term, success: true };
  }

  // --- leader --------------------------------------------------------------------------------------

  becomeLeader() {
    this.state = 'Leader';
    this.logger.info(LOG, 'entering leader state', { leader: `Node at ${this.address} [Leader]` });
    this.setLeader(this.id, this.address, this.name);
    this.replicators.clear();
    this.syncReplicators();
    this.leaseDeadline = now() + this.timing.leaderLeaseTimeoutMs;
    // Entries of earlier terms commit only together with one of ours: the no-op.
    this.startIndex = this.log.lastIndex + 1;
    this.enqueue({ type: 'noop' });
    this.emit('leadership', true);
  }

  syncReplicators() {
    const t = now();
    for (const s of this.others()) {
      const r = this.replicators.get(s.id);
      if (r) { r.address = s.address; continue; }
      this.replicators.set(s.id, {
        id: s.id, address: s.address, nextIndex: this.log.lastIndex + 1, matchIndex: 0, lastContact: t,
        inflight: false, failures: 0, backoffUntil: 0, nextTick: 0, hb: { inflight: false, failures: 0, next: t },
      });
    }
    for (const [id, r] of this.replicators) {
      if (this.others().some((s) => s.id === id)) continue;
      this.replicators.delete(id);
      // Best effort, as hashicorp/raft does: the removed server still gets the entry removing it.
      const prevLogTerm = this.log.termAt(r.nextIndex - 1);
      if (prevLogTerm === undefined) continue;
      const entries = this.log.slice(r.nextIndex, this.log.lastIndex, this.timing.maxAppendEntries, 4 << 20);
      this.pool.call(r.address, 'Raft.AppendEntries', { ...this.baseRequest(), prevLogIndex: r.nextIndex - 1, prevLogTerm, entries, leaderCommit: this.commitIndex }, this.timing.rpcTimeoutMs).catch(() => {});
    }
  }

  leaderTick(t) {
    for (const r of this.replicators.values()) {
      if (!r.inflight && t >= r.backoffUntil && (r.nextIndex <= this.log.lastIndex || t >= r.nextTick)) this.replicate(r);
      if (!r.hb.inflight && t >= r.hb.next) this.heartbeat(r);
    }
    if (t >= this.leaseDeadline) this.checkLease(t);
  }

  /** hashicorp/raft checkLeaderLease: without contact to a quorum of voters, step down. */
  checkLease(t) {
    const lease = this.timing.leaderLeaseTimeoutMs;
    let contacted = 0;
    let maxDiff = 0;
    for (const v of this.voters()) {
      if (v.id === this.id) { contacted++; continue; }
      const diff = t - (this.replicators.get(v.id)?.lastContact ?? 0);
      if (diff <= lease) { contacted++; maxDiff = Math.max(maxDiff, diff); }
      else this.logger.limited(`lease:${v.id}`, 10000, diff <= 3 * lease ? 'warn' : 'debug', LOG, 'failed to contact', { 'server-id': v.id, time: formatDuration(diff) });
    }
    if (contacted < this.quorum()) {
      this.logger.warn(LOG, 'failed to contact quorum of nodes, stepping down');
      this.becomeFollower(this.term);
      return;
    }
    this.leaseDeadline = t + Math.max(lease - maxDiff, 10);
  }

  baseRequest() {
    return { term: this.term, leaderId: this.id, leaderAddr: this.address, leaderName: this.name };
  }

  replicate(r) {
    const prevLogIndex = r.nextIndex - 1;
    const prevLogTerm = this.log.termAt(prevLogIndex);
    // Entries before the log's base are in the snapshot only (index 0 included, once compacted).
    if (prevLogTerm === undefined || prevLogIndex < this.log.base) return this.sendSnapshot(r);
    // MaxAppendEntries (64), and a few MB at most so that one RPC frame carries them.
    const entries = this.log.slice(r.nextIndex, this.log.lastIndex, this.timing.maxAppendEntries, 4 << 20);
    const term = this.term;
    r.inflight = true;
    // CommitTimeout: followers learn the commit index within 50-100 ms even without new writes.
    r.nextTick = now() + randomTimeout(this.timing.commitTimeoutMs);
    const req = { ...this.baseRequest(), prevLogIndex, prevLogTerm, entries, leaderCommit: this.commitIndex };
    this.pool.call(r.address, 'Raft.AppendEntries', req, this.timing.rpcTimeoutMs).then((resp) => {
      r.inflight = false;
      if (this.state !== 'Leader' || this.term !== term) return;
      if (resp.term > term) {
        this.logger.error(LOG, 'peer has newer term, stopping replication', { peer: r.address });
        this.becomeFollower(resp.term);
        return;
      }
      r.lastContact = now();
      if (resp.success) {
        if (entries.length) {
          r.matchIndex = entries[entries.length - 1].index;
          r.nextIndex = r.matchIndex + 1;
        }
        if (r.failures) this.logger.info(LOG, 'pipelining replication', { peer: `{${r.id} ${r.address}}` });
        r.failures = 0;
        this.updateCommit();
      } else {
        r.nextIndex = Math.max(Math.min(r.nextIndex - 1, resp.lastLog + 1), 1);
        if (!resp.noRetryBackoff) r.failures++;
        this.logger.warn(LOG, 'appendEntries rejected, sending older logs', { peer: `{${r.id} ${r.address}}`, next: r.nextIndex });
      }
      if (r.nextIndex <= this.log.lastIndex) setImmediate(() => { if (this.state === 'Leader' && !r.inflight) this.replicate(r); });
    }, (err) => {
      r.inflight = false;
      r.failures++;
      r.backoffUntil = now() + replicationBackoff(r.failures);
      this.logger.limited(`append:${r.id}`, 10000, 'error', LOG, 'failed to appendEntries to', { peer: `{${r.id} ${r.address}}`, error: err.message });
    });
  }

  /** The leader's separate heartbeat: keeps followers (and the lease) alive while replication backs off. */
  heartbeat(r) {
    const term = this.term;
    r.hb.inflight = true;
    this.pool.call(r.address, 'Raft.AppendEntries', { ...this.baseRequest(), heartbeat: true }, this.timing.rpcTimeoutMs).then((resp) => {
      r.hb.inflight = false;
      r.hb.failures = 0;
      r.hb.next = now() + randomTimeout(this.timing.heartbeatTimeoutMs / 10);
      if (this.state !== 'Leader' || this.term !== term) return;
      if (resp.term > term) { this.becomeFollower(resp.term); return; }
      r.lastContact = now();
    }, (err) => {
      r.hb.inflight = false;
      r.hb.failures++;
      r.hb.next = now() + Math.min(replicationBackoff(r.hb.failures), this.timing.heartbeatTimeoutMs / 2);
      this.logger.limited(`hb:${r.id}`, 10000, 'error', LOG, 'failed to heartbeat to', { peer: r.address, 'backoff time': formatDuration(r.hb.next - now()), error: err.message });
    });
  }

  sendSnapshot(r) {
    const snap = this.log.snapshot;
    if (!snap) return;
    const term = this.term;
    r.inflight = true;
    this.logger.info(LOG, 'sending snapshot to follower', { peer: r.address, index: snap.index });
    this.pool.call(r.address, 'Raft.InstallSnapshot', { ...this.baseRequest(), snapshot: snap }, this.timing.rpcTimeoutMs * 3).then((resp) => {
      r.inflight = false;
      if (this.state !== 'Leader' || this.term !== term) return;
      if (resp.term > term) { this.becomeFollower(resp.term); return; }
      r.lastContact = now();
      if (resp.success) { r.matchIndex = snap.index; r.nextIndex = snap.index + 1; r.failures = 0; this.updateCommit(); }
    }, (err) => {
      r.inflight = false;
      r.failures++;
      r.backoffUntil = now() + replicationBackoff(r.failures);
      this.logger.error(LOG, 'failed to install snapshot', { peer: r.address, error: err.message });
    });
  }

  /** The highest index a quorum of voters has stored, if it is from our term, becomes committed. */
  updateCommit() {
    const voters = this.voters();
    if (!voters.length) return;
    const matches = voters.map((s) => (s.id === this.id ? this.log.lastIndex : this.replicators.get(s.id)?.matchIndex ?? 0)).sort((a, b) => b - a);
    const n = matches[this.quorum() - 1];
    if (n > this.commitIndex && n >= this.startIndex) this.setCommitIndex(n);
  }

  setCommitIndex(index) {
    const before = this.committed;
    this.commitIndex = index;
    this.scheduleApply();
    if (this.committed !== before && this.state === 'Leader') {
      if (!this.committed.servers.some((s) => s.id === this.id)) {
        this.logger.info(LOG, 'removed ourself, transitioning to follower');
        this.becomeFollower(this.term);
        return;
      }
      this.processConfigQueue();
    }
  }

  // --- leadership transfer ---------------------------------------------------------------------------

  /**
   * hashicorp/raft LeadershipTransfer(ToServer): new writes are refused while it runs, the target
   * (`targetId`, else the voter holding most of our log) is brought up to date, then told to start
   * an election (TimeoutNow) which it wins at once; done when this server is a follower. Bounded
   * by the election timeout.
   */
  async transferLeadership(targetId) {
    if (this.state !== 'Leader') throw new Error(ERR_NOT_LEADER);
    if (this.transferring) throw new Error(ERR_TRANSFER_IN_PROGRESS);
    const peers = this.voters().filter((v) => v.id !== this.id);
    const target = targetId
      ? peers.find((v) => v.id === targetId)
      : peers.sort((a, b) => (this.replicators.get(b.id)?.matchIndex ?? 0) - (this.replicators.get(a.id)?.matchIndex ?? 0))[0];
    if (!target) throw new Error(targetId ? `cannot find replication state for ${targetId}` : 'cannot find peer');
    const term = this.term;
    const deadline = now() + this.timing.electionTimeoutMs;
    const stillLeading = () => this.state === 'Leader' && this.term === term;
    this.transferring = true;
    this.logger.info(LOG, 'starting leadership transfer', { id: target.id, address: target.address });
    try {
      while (stillLeading() && (this.replicators.get(target.id)?.matchIndex ?? 0) < this.log.lastIndex) {
        if (now() >= deadline) throw new Error('leadership transfer timeout');
        await sleep(5);
      }
      if (!stillLeading()) return;
      await this.pool.call(target.address, 'Raft.TimeoutNow', { term, leaderId: this.id }, this.timing.rpcTimeoutMs);
      while (stillLeading()) {
        if (now() >= deadline) throw new Error('leadership transfer timeout');
        await sleep(5);
      }
    } finally {
      this.transferring = false;
    }
  }

  // --- writes ----------------------------------------------------------------------------------------

  /** Appends a command on the leader; resolves with the FSM's result once it is committed and applied. */
  apply(command) {
    return this.enqueue({ type: 'command', data: command });
  }

  /** Resolves once everything before it is applied (Consul's raft.Barrier). */
  barrier() {
    return this.enqueue({ type: 'barrier' });
  }

  enqueue(entry) {
    if (this.state !== 'Leader') return Promise.reject(new Error(ERR_NOT_LEADER));
    if (this.transferring) return Promise.reject(new Error(ERR_TRANSFER_IN_PROGRESS));
    return new Promise((resolve, reject) => {
      // The index is given when the batch is appended (a restore may have moved the log on).
      this.pendingAppend.push({ entry: { index: 0, term: this.term, ...entry }, resolve, reject });
      // Entries arriving in the same turn of the event loop share one fsync and one RPC.
      if (this.pendingAppend.length === 1) setImmediate(() => this.flushAppends());
    });
  }

  flushAppends() {
    if (this.stopped) return;
    const batch = this.pendingAppend.splice(0);
    if (!batch.length || this.state !== 'Leader') { for (const b of batch) b.reject(new Error(ERR_LEADERSHIP_LOST)); return; }
    batch.forEach((b, i) => { b.entry.index = this.log.lastIndex + 1 + i; });
    this.log.append(batch.map((b) => b.entry));
    for (const b of batch) {
      this.futures.set(b.entry.index, b);
      if (b.entry.type === 'config') { this.configs.push({ index: b.entry.index, servers: b.entry.data.servers }); this.syncReplicators(); }
    }
    this.updateCommit();
    for (const r of this.replicators.values()) if (!r.inflight && now() >= r.backoffUntil) this.replicate(r);
  }

  scheduleApply() {
    if (this.applyScheduled) return;
    this.applyScheduled = true;
    this.fsmPending++;
    setImmediate(() => this.applyBatch());
  }

  /** Applies committed entries to the state machine, in batches, like hashicorp/raft's runFSM. */
  applyBatch() {
    this.applyScheduled = false;
    this.fsmPending = Math.max(0, this.fsmPending - 1);
    if (this.stopped) return;
    this.applyUpTo(Math.min(this.commitIndex, this.lastApplied + 512));
    this.emit('applied', this.lastApplied);
    if (this.lastApplied < this.commitIndex) this.scheduleApply();
  }

  applyUpTo(upTo) {
    for (let i = this.lastApplied + 1; i <= upTo; i++) {
      const e = this.log.get(i);
      if (!e) break;
      let result = null;
      let error = null;
      if (e.type === 'command') {
        try { result = this.fsm.apply(i, e.data); } catch (err) { error = err; }
      }
      this.lastApplied = i;
      const f = this.futures.get(i);
      if (f) { this.futures.delete(i); if (error) f.reject(error); else f.resolve(result); }
    }
  }

  // --- membership changes (one at a time, each committed before the next, as hashicorp/raft) ---------

  changeConfig(mutator, what) {
    if (this.state !== 'Leader') return Promise.reject(new Error(ERR_NOT_LEADER));
    return new Promise((resolve, reject) => {
      this.configQueue.push({ mutator, what, resolve, reject });
      this.processConfigQueue();
    });
  }

  processConfigQueue() {
    if (this.state !== 'Leader' || this.configInFlight || !this.configQueue.length) return;
    if (this.latest.index > this.commitIndex) return;
    const { mutator, what, resolve, reject } = this.configQueue.shift();
    const servers = clone(this.latest.servers);
    mutator(servers);
    if (JSON.stringify(servers) === JSON.stringify(this.latest.servers)) { resolve(); this.processConfigQueue(); return; }
    this.logger.info(LOG, 'updating configuration', { ...what, servers: this.configString({ servers }) });
    this.configInFlight = true;
    const next = () => { this.configInFlight = false; this.processConfigQueue(); };
    this.enqueue({ type: 'config', data: { servers } }).then((r) => { resolve(r); next(); }, (e) => { reject(e); next(); });
  }

  addNonvoter(server) {
    return this.changeConfig((list) => { if (!list.some((s) => s.id === server.id)) list.push({ ...server, voter: false }); }, { command: 'AddNonvoter', 'server-id': server.id, 'server-addr': server.address });
  }

  promote(id) {
    const s = this.latest.servers.find((x) => x.id === id);
    return this.changeConfig((list) => { const x = list.find((y) => y.id === id); if (x) x.voter = true; }, { command: 'AddVoter', 'server-id': id, 'server-addr': s?.address ?? '' });
  }

  removeServer(id) {
    return this.changeConfig((list) => { const i = list.findIndex((y) => y.id === id); if (i >= 0) list.splice(i, 1); }, { command: 'RemoveServer', 'server-id': id, 'server-addr': '' });
  }

  /** For ?consistent reads: a round of heartbeats must reach a quorum (hashicorp/raft VerifyLeader). */
  async verifyLeader() {
    if (this.state !== 'Leader') throw new Error(ERR_NOT_LEADER);
    const need = this.quorum() - (this.isVoter() ? 1 : 0);
    if (need <= 0) return;
    const voters = this.voters().filter((v) => v.id !== this.id);
    let acks = 0;
    await new Promise((resolve, reject) => {
      let failed = 0;
      for (const v of voters) {
        this.pool.call(v.address, 'Raft.AppendEntries', { ...this.baseRequest(), heartbeat: true }, this.timing.leaderLeaseTimeoutMs).then((r) => {
          if (r.term > this.term) { this.becomeFollower(r.term); return reject(new Error(ERR_LEADERSHIP_LOST)); }
          if (++acks >= need) resolve();
        }, () => { if (++failed > voters.length - need) reject(new Error(ERR_LEADERSHIP_LOST)); });
      }
    });
  }

  // --- snapshots -------------------------------------------------------------------------------------

  maybeSnapshot(t) {
    this.snapshotDeadline = t + randomTimeout(this.timing.snapshotIntervalMs);
    const last = this.log.snapshot?.index ?? 0;
    if (this.lastApplied - last < this.timing.snapshotThreshold) return;
    const index = this.lastApplied;
    const config = [...this.configs].reverse().find((c) => c.index <= index) ?? this.configs[0];
    this.logger.info(LOG, 'starting snapshot up to', { index });
    this.log.compact({ index, term: this.log.termAt(index), config: { servers: config.servers }, configIndex: config.index, state: structuredClone(this.fsm.snapshot()) }, this.timing.trailingLogs);
    this.logger.info(LOG, 'snapshot complete up to', { index });
  }

  /**
   * A user snapshot (hashicorp/raft Snapshot() -> takeSnapshot, run at once): the state machine at
   * the applied index with the committed configuration, stored as this server's snapshot (the
   * log compacted as for a scheduled one). Fails only when nothing was ever applied, or while a
   * committed configuration change is not applied yet.
   */
  userSnapshot() {
    const index = this.lastApplied;
    if (index === 0) throw new Error(ERR_NOTHING_NEW);
    const committed = this.committed;
    if (index < committed.index) throw new Error(`cannot take snapshot now, wait until the configuration entry at ${committed.index} has been applied (have applied ${index})`);
    const term = this.log.termAt(index);
    this.logger.info(LOG, 'starting snapshot up to', { index });
    const snap = {
      index, term, config: { servers: clone(committed.servers) }, configIndex: committed.index,
      // A copy: the state store's tables keep changing after the snapshot is taken.
      state: structuredClone(this.fsm.snapshot()), id: `${term}-${index}-${Date.now()}`,
    };
    this.log.compact(snap, this.timing.trailingLogs);
    this.logger.info(LOG, 'snapshot complete up to', { index });
    return snap;
  }

  /**
   * hashicorp/raft Restore(): restoreUserSnapshot on the leader, then a no-op it waits for, which
   * commits only once a quorum has the new state (followers get it by InstallSnapshot).
   * `meta` is the archive's SnapshotMeta, `size` the length of its state.bin, `decode()` returns
   * the state it holds (or throws what the state machine refuses).
   */
  async restore(meta, size, decode) {
    this.restoreUserSnapshot(meta, size, decode);
    await this.enqueue({ type: 'noop' });
  }

  /**
   * restoreUserSnapshot: in-flight entries fail (`snapshot restored while committing log`), the
   * state machine takes the snapshot's state wholesale, and a snapshot of it is stored at
   * max(last index, meta.Index) + 1 in the current term with the CURRENT configuration (not the
   * snapshot's), which leaves a hole in the log: followers fault on it and are sent the snapshot.
   */
  restoreUserSnapshot(meta, size, decode) {
    if (this.state !== 'Leader') throw new Error(ERR_NOT_LEADER);
    if (this.transferring) throw new Error(ERR_TRANSFER_IN_PROGRESS);
    if (meta.Version < 0 || meta.Version > 1) throw new Error(`unsupported snapshot version ${meta.Version}`);
    const committed = this.committed;
    if (committed.index !== this.latest.index) {
      throw new Error(`cannot restore snapshot now, wait until the configuration entry at ${this.latest.index} has been applied (have applied ${committed.index})`);
    }
    // Committed entries are ahead of the restore in the state machine's queue: they apply first.
    this.applyCommitted();
    for (const [index, f] of this.futures) {
      if (index <= this.commitIndex) continue;
      this.futures.delete(index);
      f.reject(new Error(ERR_ABORTED_BY_RESTORE));
    }
    const term = this.term;
    const index = Math.max(this.log.lastIndex, meta.Index) + 1;
    if (size !== meta.Size) throw new Error(`failed to write snapshot, size didn't match (${size} != ${meta.Size})`);
    this.logger.info(LOG, 'copied to local snapshot', { bytes: size });
    const state = decode();
    const config = { index: this.latest.index, servers: clone(this.latest.servers) };
    const snap = { index, term, config: { servers: config.servers }, configIndex: config.index, state, id: `${term}-${index}-${Date.now()}` };
    this.fsm.restore(structuredClone(state));
    this.log.resetTo(snap);
    this.lastApplied = index;
    this.commitIndex = Math.max(this.commitIndex, index);
    this.configs = [config];
    for (const r of this.replicators.values()) r.nextIndex = Math.min(r.nextIndex, index);
    this.logger.info(LOG, 'restored user snapshot', { index });
  }

  /** Applies what is committed and not applied yet, now (before the state machine is replaced). */
  applyCommitted() {
    this.applyUpTo(this.commitIndex);
  }

  // --- views -------------------------------------------------------------------------------------------

  knownLeaderAddr() {
    return this.state === 'Leader' ? this.address : this.leaderAddr;
  }

  /** Milliseconds since a leader last contacted this server (0 on the leader, null when never). */
  lastContactMs() {
    if (this.state === 'Leader') return 0;
    return this.lastContactAt ? now() - this.lastContactAt : null;
  }

  /** The raft section of `consul info`, as hashicorp/raft Stats() prints it. */
  stats() {
    const contact = this.lastContactMs();
    const hasUs = this.isVoter();
    const snap = this.log.snapshot;
    return {
      applied_index: String(this.lastApplied),
      commit_index: String(this.commitIndex),
      fsm_pending: String(this.fsmPending),
      last_contact: this.state === 'Leader' ? '0' : contact === null ? 'never' : formatDuration(contact),
      last_log_index: String(this.log.lastIndex),
      last_log_term: String(this.log.lastTerm),
      last_snapshot_index: String(snap?.index ?? 0),
      last_snapshot_term: String(snap?.term ?? 0),
      latest_configuration: this.configString(),
      latest_configuration_index: String(this.latest.index),
      num_peers: String(hasUs ? this.voters().filter((s) => s.id !== this.id).length : 0),
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
