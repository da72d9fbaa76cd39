// Server-only behaviour layered on gossip and raft: bootstrap_expect, the leader's member
// reconciliation (add non-voters, promote when stable, drop servers that left), autopilot
// (health, dead-server cleanup) and the catalog, plus the reads clients forward to servers.
import { formatDuration } from './duration.mjs';
import { aggregateStatus } from './checks.mjs';

const LOG = 'agent.server';
const LEADER_QUERIES = new Set(['raft.configuration', 'autopilot.health', 'catalog.nodes', 'catalog.services', 'catalog.service', 'health.service', 'raft.removePeer']);

export function isServerMember(m, dc) {
  return m.tags?.role === 'consul' && m.tags?.dc === dc;
}

export class ServerRole {
  constructor({ rt, nodeId, gossip, raft, pool, logger, build, autopilotIntervalMs, wan = () => undefined }) {
    Object.assign(this, { rt, nodeId, gossip, raft, pool, logger, build, autopilotIntervalMs, wan });
    this.health = new Map();
    this.catalogIndex = new Map();
    this.lastPrune = Date.now();
    this.bootstrapBusy = false;
    this.bootstrapDisabled = false;
    this.expectConflictLogged = new Set();
  }

  start() {
    this.gossip.on('change', (m, from, to) => this.onMemberChange(m, from, to));
    this.raft.on('leadership', (leader) => {
      this.logger.info(LOG, leader ? 'cluster leadership acquired' : 'cluster leadership lost');
      if (leader) { this.health.clear(); this.lastPrune = Date.now(); }
    });
    this.raft.on('leader-change', (id, _addr, name) => {
      if (!id) return;
      this.logger.info(LOG, 'New leader elected', { payload: name || id });
    });
    this.timer = setInterval(() => this.tick(), 1000);
  }

  stop() { clearInterval(this.timer); }

  tick() {
    try {
      if (!this.raft.hasState) this.maybeBootstrap();
      if (this.raft.state === 'Leader') this.reconcile();
    } catch (e) {
      this.logger.error(LOG, 'reconcile failed', { error: e.message });
    }
  }

  onMemberChange(m, from, to) {
    if (this.raft.state === 'Leader' && from !== to) {
      // Catalog register/deregister writes go through the raft log.
      this.raft.append();
      const idx = this.raft.lastLogIndex;
      const cur = this.catalogIndex.get(m.name);
      if (to === 'left' || to === 'reaped') this.catalogIndex.delete(m.name);
      else this.catalogIndex.set(m.name, { create: cur?.create ?? idx, modify: idx });
      if (to === 'alive' && isServerMember(m, this.rt.datacenter)) this.logger.info(LOG, 'member joined, marking health alive', { member: m.name, partition: 'default' });
      if (to === 'failed') this.logger.info(LOG, 'member failed, marking health critical', { member: m.name, partition: 'default' });
      if (to === 'left') this.logger.info(LOG, 'deregistering member', { member: m.name, partition: 'default', reason: 'left' });
    }
    if (!this.raft.hasState && to === 'alive') setTimeout(() => { try { this.maybeBootstrap(); } catch {} }, 50);
  }

  serverMembers() {
    return this.gossip.list().filter((m) => isServerMember(m, this.rt.datacenter));
  }

  raftEntryFor(m) {
    return { id: m.tags.id, name: m.name, address: `${m.addr}:${m.tags.port}` };
  }

  // --- bootstrap ------------------------------------------------------------------------------

  async maybeBootstrap() {
    if (this.bootstrapBusy || this.bootstrapDisabled || this.raft.hasState) return;
    if (this.rt.bootstrap) {
      this.logger.info(LOG, 'bootstrap = true: bootstrapping a single-server cluster');
      this.raft.bootstrap([this.raftEntryFor(this.gossip.me)]);
      return;
    }
    const expect = this.rt.bootstrapExpect;
    if (!expect) return;
    const servers = this.serverMembers().filter((m) => m.status === 'alive');
    for (const m of servers) {
      if (m.tags.expect && m.tags.expect !== String(expect)) {
        if (!this.expectConflictLogged.has(m.name)) {
          this.expectConflictLogged.add(m.name);
          this.logger.error(LOG, 'Member has a conflicting expect value. All nodes should expect the same number.', { member: m.name });
        }
        return;
      }
    }
    if (servers.length < expect) return;
    this.bootstrapBusy = true;
    try {
      for (const m of servers) {
        if (m.name === this.gossip.me.name) continue;
        const peer = this.raftEntryFor(m);
        let st;
        try { st = await this.pool.call(peer.address, 'Status.RaftState', {}, 1000); } catch (e) {
          this.logger.error(LOG, 'Failed to confirm peer status', { peer: m.name, error: e.message });
          return;
        }
        if (st.hasState) {
          this.logger.warn(LOG, 'Existing Raft peers reported by server, disabling bootstrap mode', { server: m.name });
          this.bootstrapDisabled = true;
          return;
        }
      }
      if (this.raft.hasState) return;
      const peers = servers.map((m) => this.raftEntryFor(m));
      this.logger.info(LOG, 'found expected number of peers, attempting bootstrap', { peers: peers.map((p) => p.address).join(',') });
      this.raft.bootstrap(peers);
    } finally {
      this.bootstrapBusy = false;
    }
  }

  // --- leader reconciliation and autopilot ------------------------------------------------------

  reconcile() {
    const now = Date.now();
    const raft = this.raft;
    const members = this.serverMembers();
    for (const m of members) {
      if (m.status !== 'alive' || raft.state !== 'Leader') continue;
      const entry = this.raftEntryFor(m);
      if (raft.config.servers.some((s) => s.id === entry.id)) continue;
      const clash = raft.config.servers.find((s) => s.address === entry.address || s.name === entry.name);
      if (clash) {
        this.logger.info(LOG, 'removing server with duplicate address or name', { id: clash.id, address: clash.address });
        raft.removeServer(clash.id);
      }
      this.logger.info(LOG, 'Adding LAN server', { server: `${m.name} (Addr: tcp/${entry.address}) (DC: ${this.rt.datacenter})` });
      raft.addNonvoter(entry);
    }
    for (const s of [...raft.config.servers]) {
      if (s.id === raft.id || raft.state !== 'Leader') continue;
      const m = this.gossip.get(s.name);
      const gone = (m && m.status === 'left' && m.tags.id === s.id) || (!m && this.gossip.pruned.has(s.name));
      if (gone) {
        this.logger.info(LOG, 'removing server by ID', { id: s.id });
        raft.removeServer(s.id);
      }
    }
    if (raft.state !== 'Leader') return;
    this.sampleHealth(now);
    const stabilization = this.rt.autopilot.serverStabilizationMs;
    for (const s of raft.config.servers) {
      const h = this.health.get(s.id);
      if (!s.voter && h?.healthy && now - h.stableSince >= stabilization) {
        this.logger.info('agent.server.autopilot', 'Promoting server', { id: s.id, address: s.address, name: s.name });
        raft.promote(s.id);
      }
    }
    if (now - this.lastPrune >= this.autopilotIntervalMs) {
      this.lastPrune = now;
      this.pruneDeadServers();
    }
  }

  /** Autopilot's dead server cleanup: force-leave failed servers, but never a majority. */
  pruneDeadServers() {
    const ap = this.rt.autopilot;
    if (!ap.cleanupDeadServers) return;
    const raft = this.raft;
    const failed = raft.config.servers.filter((s) => s.id !== raft.id && this.gossip.get(s.name)?.status === 'failed');
    const voters = raft.voters().length;
    let maxRemoval = Math.floor((voters - 1) / 2);
    for (const s of failed) {
      if (s.voter) {
        if (maxRemoval < 1 || (ap.minQuorum && voters - 1 < ap.minQuorum)) {
          this.logger.warn('agent.server.autopilot', 'Will not remove server node as removal of a majority of servers is not safe', { id: s.id, name: s.name });
          continue;
        }
        maxRemoval--;
      }
      this.logger.info('agent.server.autopilot', 'Attempting removal of failed server node', { id: s.id, name: s.name, address: s.address });
      try { this.gossip.forceLeave(s.name, false); } catch {}
      raft.removeServer(s.id);
    }
  }

  sampleHealth(now = Date.now()) {
    const raft = this.raft;
    const ap = this.rt.autopilot;
    const seen = new Set();
    for (const s of raft.config.servers) {
      seen.add(s.id);
      const m = this.gossip.get(s.name);
      const self = s.id === raft.id;
      const f = raft.followers.get(s.id);
      const contactMs = self ? 0 : f?.lastAck ? now - f.lastAck : Infinity;
      const lastIndex = self ? raft.lastLogIndex : f?.lastIndex ?? 0;
      const lastTerm = self ? raft.lastLogTerm : f?.lastTerm ?? 0;
      const ok = m?.status === 'alive'
        && (self || (contactMs < ap.lastContactThresholdMs && lastTerm === raft.term && lastIndex + ap.maxTrailingLogs >= raft.lastLogIndex));
      const prev = this.health.get(s.id);
      // One slow heartbeat on a loaded machine should not restart the stabilization clock:
      // a server counts as unhealthy after two bad samples in a row.
      const misses = ok ? 0 : (prev?.misses ?? 0) + 1;
      const healthy = ok || (prev?.healthy === true && misses < 2);
      const stableSince = prev && prev.healthy === healthy ? prev.stableSince : now;
      this.health.set(s.id, {
        id: s.id, name: s.name, address: s.address, serfStatus: m?.status ?? 'none',
        version: (m?.tags.build ?? '').split(':')[0], leader: self && raft.state === 'Leader',
        lastContactMs: Number.isFinite(contactMs) ? contactMs : null, lastTerm, lastIndex, healthy, misses,
        voter: s.voter, stableSince, sampledAt: now,
      });
    }
    for (const id of this.health.keys()) if (!seen.has(id)) this.health.delete(id);
  }

  // --- reads (run on the leader, or locally with ?stale) ----------------------------------------

  async query(kind, params = {}) {
    if (params.dc && params.dc !== this.rt.datacenter) return this.forwardToDatacenter(kind, params);
    if (kind === 'catalog.datacenters') return { status: 200, body: this.wan()?.datacenters() ?? [this.rt.datacenter], meta: this.meta() };
    if (LEADER_QUERIES.has(kind) && (!params.stale || kind === 'autopilot.health') && this.raft.state !== 'Leader') {
      const leader = this.raft.knownLeaderAddr();
      if (!leader || params.forwarded) return { status: 500, body: 'No cluster leader' };
      try {
        return await this.pool.call(leader, 'Server.Query', { kind, params: { ...params, forwarded: true } }, 2000);
      } catch (e) {
        return { status: 500, body: `rpc error making call: ${e.message}` };
      }
    }
    return this.local(kind, params);
  }

  /** A read for another datacenter goes to one of its servers, found in the WAN pool. */
  async forwardToDatacenter(kind, params) {
    const servers = [...(this.wan()?.serversIn(params.dc) ?? [])].sort(() => Math.random() - 0.5);
    if (!servers.length) return { status: 500, body: 'No path to datacenter' };
    let last = '';
    for (const m of servers.slice(0, 3)) {
      try {
        return await this.pool.call(`${m.addr}:${m.tags.port}`, 'Server.Query', { kind, params: { ...params, forwarded: false } }, 2500);
      } catch (e) { last = e.message; }
    }
    return { status: 500, body: `rpc error making call: ${last}` };
  }

  meta() {
    return { index: this.raft.lastLogIndex, knownLeader: Boolean(this.raft.knownLeaderAddr()), lastContact: this.raft.state === 'Leader' ? 0 : Math.max(0, Date.now() - this.raft.lastContactAt) };
  }

  local(kind, params) {
    const raft = this.raft;
    const ok = (body) => ({ status: 200, body, meta: this.meta() });
    switch (kind) {
      case 'status.leader': return ok(raft.knownLeaderAddr());
      case 'status.peers': return ok(raft.config.servers.map((s) => s.address));
      case 'raft.configuration': return ok(this.raftConfiguration());
      case 'autopilot.health': return this.autopilotHealth();
      case 'catalog.nodes': return ok(this.catalogNodes());
      case 'catalog.services': return ok(this.catalogServices());
      case 'catalog.service': return ok(this.catalogService(params.name));
      case 'health.service': return ok(this.healthService(params.name, params.passing));
      case 'raft.removePeer': {
        const s = raft.config.servers.find((x) => (params.id ? x.id === params.id : x.address === params.address));
        if (!s) return { status: 500, body: params.id ? `id "${params.id}" was not found in the Raft configuration` : `address "${params.address}" was not found in the Raft configuration` };
        raft.removeServer(s.id);
        return ok(null);
      }
      default: return { status: 404, body: `unknown query ${kind}` };
    }
  }

  raftConfiguration() {
    const raft = this.raft;
    return {
      Servers: raft.config.servers.map((s) => ({
        ID: s.id, Node: s.name, Address: s.address, Leader: raft.knownLeaderAddr() === s.address,
        ProtocolVersion: '3', Voter: s.voter, LastIndex: s.id === raft.id ? raft.lastLogIndex : raft.followers.get(s.id)?.lastIndex ?? 0,
      })),
      Index: raft.config.index,
    };
  }

  autopilotHealth() {
    const now = Date.now();
    const newest = Math.max(0, ...[...this.health.values()].map((h) => h.sampledAt));
    if (now - newest > 1000 || this.health.size !== this.raft.config.servers.length) this.sampleHealth(now);
    // Suffrage comes from the live configuration: a promotion since the last sample counts at once.
    const servers = this.raft.config.servers.map((s) => { const h = this.health.get(s.id); return h && { ...h, voter: s.voter }; }).filter(Boolean);
    const voters = servers.filter((h) => h.voter);
    const quorum = Math.floor(voters.length / 2) + 1;
    const healthyVoters = voters.filter((h) => h.healthy).length;
    const healthy = servers.every((h) => h.healthy);
    const body = {
      Healthy: healthy,
      FailureTolerance: Math.max(0, healthyVoters - quorum),
      Servers: servers.map((h) => ({
        ID: h.id, Name: h.name, Address: h.address, SerfStatus: h.serfStatus, Version: h.version, Leader: h.leader,
        LastContact: h.lastContactMs === null ? '' : formatDuration(h.lastContactMs),
        LastTerm: h.lastTerm, LastIndex: h.lastIndex, Healthy: h.healthy, Voter: h.voter,
        StableSince: new Date(h.stableSince).toISOString(),
      })),
    };
    return { status: healthy ? 200 : 429, body, meta: this.meta() };
  }

  catalogMembers() {
    return this.gossip.list().filter((m) => m.status !== 'left').sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  indexOf(m) {
    return this.catalogIndex.get(m.name) ?? { create: 1, modify: 1 };
  }

  catalogNodes() {
    return this.catalogMembers().map((m) => ({
      ID: m.tags.id, Node: m.name, Address: m.addr, Datacenter: this.rt.datacenter,
      TaggedAddresses: { lan: m.addr, lan_ipv4: m.addr, wan: m.addr, wan_ipv4: m.addr },
      Meta: { 'consul-network-segment': '', 'consul-version': (m.tags.build ?? '').split(':')[0] },
      CreateIndex: this.indexOf(m).create, ModifyIndex: this.indexOf(m).modify,
    }));
  }

  catalogServices() {
    const out = { consul: [] };
    for (const m of this.catalogMembers()) {
      for (const s of m.services ?? []) out[s.name] = [...new Set([...(out[s.name] ?? []), ...s.tags])].sort();
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  catalogService(name) {
    const rows = [];
    for (const m of this.catalogMembers()) {
      const svcs = name === 'consul' && isServerMember(m, this.rt.datacenter)
        ? [{ id: 'consul', name: 'consul', tags: [], port: Number(m.tags.port), address: '', meta: {} }]
        : (m.services ?? []).filter((s) => s.name === name);
      for (const s of svcs) {
        rows.push({
          ID: m.tags.id, Node: m.name, Address: m.addr, Datacenter: this.rt.datacenter,
          TaggedAddresses: { lan: m.addr, lan_ipv4: m.addr, wan: m.addr, wan_ipv4: m.addr },
          NodeMeta: { 'consul-network-segment': '', 'consul-version': (m.tags.build ?? '').split(':')[0] },
          ServiceKind: '', ServiceID: s.id, ServiceName: s.name, ServiceTags: s.tags, ServiceAddress: s.address,
          ServiceWeights: { Passing: 1, Warning: 1 }, ServiceMeta: s.meta, ServicePort: s.port,
          ServiceEnableTagOverride: false, CreateIndex: this.indexOf(m).create, ModifyIndex: this.indexOf(m).modify,
        });
      }
    }
    return rows;
  }

  /** `/v1/health/service/:name`: each instance with its node, its checks and the node's serfHealth. */
  healthService(name, passingOnly) {
    const out = [];
    for (const m of this.catalogMembers()) {
      const node = {
        ID: m.tags.id, Node: m.name, Address: m.addr, Datacenter: this.rt.datacenter,
        TaggedAddresses: { lan: m.addr, lan_ipv4: m.addr, wan: m.addr, wan_ipv4: m.addr },
        Meta: { 'consul-network-segment': '', 'consul-version': (m.tags.build ?? '').split(':')[0] },
        CreateIndex: this.indexOf(m).create, ModifyIndex: this.indexOf(m).modify,
      };
      const serf = {
        Node: m.name, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: m.status === 'alive' ? 'passing' : 'critical',
        Notes: '', Output: m.status === 'alive' ? 'Agent alive and reachable' : 'Agent not live or unreachable',
        ServiceID: '', ServiceName: '', ServiceTags: [], Type: '', CreateIndex: node.CreateIndex, ModifyIndex: node.ModifyIndex,
      };
      const svcs = name === 'consul' && isServerMember(m, this.rt.datacenter)
        ? [{ id: 'consul', name: 'consul', tags: [], port: Number(m.tags.port), address: '', meta: {}, checks: [] }]
        : (m.services ?? []).filter((s) => s.name === name);
      for (const s of svcs) {
        const checks = [serf, ...(s.checks ?? []).map((c) => ({
          Node: m.name, CheckID: c.id, Name: c.name, Status: c.status, Notes: '', Output: '', ServiceID: s.id,
          ServiceName: s.name, ServiceTags: s.tags, Type: c.type, CreateIndex: node.CreateIndex, ModifyIndex: node.ModifyIndex,
        }))];
        if (passingOnly && (serf.Status !== 'passing' || aggregateStatus(s.checks) !== 'passing')) continue;
        out.push({
          Node: node,
          Service: {
            ID: s.id, Service: s.name, Tags: s.tags, Address: s.address, Meta: s.meta, Port: s.port,
            Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Datacenter: this.rt.datacenter,
            CreateIndex: node.CreateIndex, ModifyIndex: node.ModifyIndex,
          },
          Checks: checks,
        });
      }
    }
    return out;
  }

  // --- server RPC ---------------------------------------------------------------------------------

  handleRpc(method, params) {
    switch (method) {
      case 'Raft.RequestVote': return this.raft.handleRequestVote(params);
      case 'Raft.AppendEntries': return this.raft.handleAppendEntries(params);
      case 'Status.RaftState': return { hasState: this.raft.hasHistory, term: this.raft.term };
      case 'Server.Query': return this.query(params.kind, params.params);
      default: throw new Error(`rpc: can't find method ${method}`);
    }
  }
}
