// Server-only behaviour layered on gossip and raft: bootstrap_expect, the leader's raft
// membership changes (add non-voters, drop servers that left), what the leader does when it
// takes over (barrier, autopilot, catalog reconcile), and Consul's RPC forwarding: writes and
// default-consistency reads go to the leader; while there is none a server holds the request
// for up to rpc_hold_timeout (7s) before answering "No cluster leader".
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Autopilot } from './autopilot.mjs';
import { CatalogReconciler } from './catalog-reconcile.mjs';
import { newConnectCa, signAgentCertificate, signPrecheck } from './auto-encrypt.mjs';
import { inPrimaryDatacenter, replicationData, SecondaryAcls, zeroReplicationStatus } from './acl-replication.mjs';
import * as views from './catalog-views.mjs';
import { dispatchSnapshot } from './snapshot-endpoint.mjs';

const LOG = 'agent.server';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Answered from this server's own state, whatever the consistency mode. */
const LOCAL_READS = new Set(['status.leader', 'status.peers', 'catalog.datacenters']);
/** Always the leader's answer, even with ?stale (Consul resets AllowStale for these). */
const LEADER_ONLY = new Set(['autopilot.health', 'raft.removePeer', 'raft.transferLeader', 'acl.bootstrap', 'autoEncrypt.sign', 'acl.replication']);
const NO_LEADER = 'No cluster leader';
const NOT_READY = 'Not ready to serve consistent reads';
const FORWARD_TIMEOUT_MS = 30000;

export function isServerMember(m, dc) {
  return m.tags?.role === 'consul' && m.tags?.dc === dc;
}

/**
 * A structs.CARoot as /v1/connect/ca/roots writes it (IndexedCARoots.Roots): every field, from
 * the certificate itself; SerialNumber is a uint64 in Consul, so the serial's low 52 bits here.
 */
function caRootJson(ca, index) {
  const x = new crypto.X509Certificate(ca.cert);
  const keyId = crypto.createHash('sha256').update(x.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
  return {
    ID: ca.id,
    Name: ca.name,
    SerialNumber: Number(BigInt(`0x${x.serialNumber}`) & ((1n << 52n) - 1n)),
    SigningKeyID: keyId.match(/../g).join(':'),
    ExternalTrustDomain: '',
    NotBefore: new Date(x.validFrom).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    NotAfter: new Date(x.validTo).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    RootCert: ca.cert,
    IntermediateCerts: null,
    Active: true,
    PrivateKeyType: 'ec',
    PrivateKeyBits: 256,
    CreateIndex: index,
    ModifyIndex: index,
  };
}

export class ServerRole {
  constructor({ rt, nodeId, gossip, raft, store, pool, logger, build, timing, wan = () => undefined, poolFor = () => pool, agentCaRoots = () => [], replicationToken = () => '' }) {
    Object.assign(this, { rt, nodeId, gossip, raft, store, pool, logger, build, timing, wan, poolFor, agentCaRoots });
    this.secondaryAcls = inPrimaryDatacenter(rt) ? null : new SecondaryAcls({ rt, server: this, logger, replicationToken });
    this.bootstrapBusy = false;
    this.bootstrapDisabled = false;
    this.expectConflictLogged = new Set();
    this.pendingMembership = new Set();
    this.autopilot = new Autopilot({
      raft, gossip, pool, logger, timing,
      config: () => store.autopilot?.config ?? rt.autopilot,
      knownServers: () => this.knownServers(),
      removeFailed: (k) => { try { this.gossip.forceLeave(k.name, false); } catch { /* already gone */ } },
      localStats: () => this.raftStats(),
    });
    this.catalog = new CatalogReconciler({
      rt, raft, store, gossip, logger, timing,
      apply: (cmd) => raft.apply(cmd),
      isServerMember: (m) => isServerMember(m, rt.datacenter),
    });
  }

  start() {
    this.gossip.on('change', (m, from, to) => this.onMemberChange(m, from, to));
    this.raft.on('leadership', (leader) => this.onLeadership(leader));
    this.raft.on('leader-change', (id, _addr, name) => {
      if (id) this.logger.info(LOG, 'New leader elected', { payload: name || id });
    });
    this.catalog.start();
    this.timer = setInterval(() => this.tick(), 1000);
  }

  stop() {
    clearInterval(this.timer);
    this.secondaryAcls?.stop();
    this.autopilot.stop();
    this.catalog.stop();
  }

  tick() {
    try {
      if (!this.raft.hasState) this.maybeBootstrap();
      if (this.raft.state === 'Leader' && this.leaderReady) this.reconcileRaftMembers();
    } catch (e) {
      this.logger.error(LOG, 'reconcile failed', { error: e.message });
    }
  }

  onMemberChange(m, from, to) {
    if (this.raft.state === 'Leader' && this.leaderReady && from !== to && isServerMember(m, this.rt.datacenter)) this.reconcileRaftMembers();
    if (!this.raft.hasState && to === 'alive') setTimeout(() => { try { this.maybeBootstrap(); } catch {} }, 50);
  }

  /** Consul's establishLeadership: a barrier first (so the state store is current), then the rest. */
  async onLeadership(leader) {
    this.leaderReady = false;
    this.autopilot.stop();
    this.catalog.onLeadership(false);
    this.secondaryAcls?.stop();
    if (!leader) { this.logger.info(LOG, 'cluster leadership lost'); return; }
    this.logger.info(LOG, 'cluster leadership acquired');
    const term = this.raft.term;
    try {
      await this.raft.barrier();
      if (this.raft.state !== 'Leader' || this.raft.term !== term) return;
      await this.establishLeadership();
    } catch (e) {
      this.logger.error(LOG, 'failed to establish leadership', { error: e.message });
      // Consul's leader loop tries again while it is still the leader of the same term.
      setTimeout(() => { if (this.raft.state === 'Leader' && this.raft.term === term && !this.leaderReady) this.onLeadership(true); }, 1000).unref();
      return;
    }
    this.leaderReady = true;
    this.autopilot.start();
    this.catalog.onLeadership(true);
    this.catalog.reconcileAll();
    this.reconcileRaftMembers();
  }

  /** leader.go establishLeadership, on what the state store holds now. */
  async establishLeadership() {
    // The agent's autopilot settings only seed the cluster's: later changes go through the API.
    if (!this.store.autopilot) await this.raft.apply({ type: 'autopilot', config: this.rt.autopilot });
    // leader.go initializeACLs: the primary makes the builtin ACLs; a secondary replicates them.
    if (this.rt.acl.enabled && this.secondaryAcls) this.secondaryAcls.start();
    else if (this.rt.acl.enabled) await this.initializeAcls();
    // leader_connect_ca.go initializeCA: auto_encrypt.allow_tls turns Connect (and its CA) on.
    if ((this.rt.tls.autoEncrypt.allowTls || this.rt.raw.connect?.enabled === true) && !this.store.connectCa) {
      await this.raft.apply({ type: 'connect-ca', ca: newConnectCa() });
      this.logger.info('agent.server.connect', 'initialized primary datacenter CA with provider', { provider: 'consul' });
    }
  }

  /**
   * The leader loop's reassertLeaderCh (after a snapshot restore): revokeLeadership, then
   * establishLeadership again on the restored state (its ACLs, autopilot settings, CA). The
   * member reconcile is not part of it: it comes with the next ReconcileInterval, or with a
   * member event, as in Consul.
   */
  async reassertLeadership() {
    if (!this.leaderReady || this.raft.state !== 'Leader') throw new Error('leadership has not been established');
    const term = this.raft.term;
    this.leaderReady = false;
    this.autopilot.stop();
    this.secondaryAcls?.stop();
    try {
      await this.establishLeadership();
    } catch (e) {
      this.logger.error(LOG, 'failed to establish leadership', { error: e.message });
      setTimeout(() => { if (this.raft.state === 'Leader' && this.raft.term === term && !this.leaderReady) this.onLeadership(true); }, 1000).unref();
      throw e;
    }
    if (this.raft.state !== 'Leader' || this.raft.term !== term) throw new Error('leadership has not been established');
    this.leaderReady = true;
    this.autopilot.start();
    this.reconcileRaftMembers();
  }

  /** `GET|PUT /v1/snapshot` on this server (lib/snapshot-endpoint.mjs). */
  snapshot(args) {
    return dispatchSnapshot(this, args);
  }

  /**
   * leader.go initializeACLs: the builtin policy and the anonymous token, and the
   * acl.tokens.initial_management token (which bootstraps the ACL system when it was not yet).
   */
  async initializeAcls() {
    const acl = this.store.acl;
    const createTime = new Date().toISOString();
    if (!acl.tokens.has('00000000-0000-0000-0000-000000000002')) await this.raft.apply({ type: 'acl', op: 'init', createTime });
    const secret = this.rt.acl.tokens.initialManagement;
    if (!secret || [...acl.tokens.values()].some((t) => t.SecretID === secret)) return;
    const token = { AccessorID: crypto.randomUUID(), SecretID: secret, Description: 'Initial Management Token', Local: false, CreateTime: createTime };
    if (acl.bootstrapIndex) await this.raft.apply({ type: 'acl', op: 'token-set', token: { ...token, Policies: [{ ID: '00000000-0000-0000-0000-000000000001' }] } });
    else await this.raft.apply({ type: 'acl', op: 'bootstrap', token });
    this.logger.info(LOG, 'Created ACL initial management token from configuration');
  }

  /**
   * BootstrapTokens on the leader: <data_dir>/acl-bootstrap-reset, when it holds the current
   * reset index, allows one more bootstrap and is then removed (aclBootstrapReset).
   */
  async aclBootstrap({ accessor, secret, createTime }) {
    if (!this.rt.acl.enabled) return { status: 401, body: 'ACL support disabled' };
    // ACL.BootstrapTokens is never forwarded: a secondary answers acl.ErrDisabled (HTTP 500).
    if (this.secondaryAcls) return { status: 500, body: 'ACL support disabled' };
    const file = path.join(this.rt.dataDir, 'acl-bootstrap-reset');
    let resetIndex;
    try {
      const text = fs.readFileSync(file, 'utf8').trim();
      if (/^\d+$/.test(text)) resetIndex = Number(text);
      else this.logger.error(LOG, 'failed to parse bootstrap reset index', { file });
    } catch { /* no reset file */ }
    const token = { AccessorID: accessor, SecretID: secret, Description: 'Bootstrap Token (Global Management)', Local: false, CreateTime: createTime };
    let body;
    try { body = await this.raft.apply({ type: 'acl', op: 'bootstrap', token, resetIndex }); } catch (e) { return { status: 500, body: e.message }; }
    if (resetIndex !== undefined) {
      try { fs.unlinkSync(file); } catch (e) { this.logger.error(LOG, 'failed to remove bootstrap reset file', { error: e.message }); }
    }
    return { status: 200, body, meta: this.meta(this.raft.lastApplied) };
  }

  serverMembers() {
    return this.gossip.list().filter((m) => isServerMember(m, this.rt.datacenter));
  }

  raftEntryFor(m) {
    return { id: m.tags.id, name: m.name, address: `${m.addr}:${m.tags.port}` };
  }

  /** The servers autopilot knows, by raft ID, with their serf status. */
  knownServers() {
    const out = new Map();
    for (const m of this.serverMembers()) {
      const e = this.raftEntryFor(m);
      out.set(e.id, { ...e, status: m.status, version: (m.tags.build ?? '').split(':')[0] });
    }
    return out;
  }

  raftStats() {
    const s = this.raft.stats();
    return { LastContact: s.last_contact, LastIndex: Number(s.last_log_index), LastTerm: Number(s.last_log_term) };
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
        let peers;
        try { peers = await this.pool.call(this.raftEntryFor(m).address, 'Status.Peers', {}, 1000); } catch (e) {
          this.logger.error(LOG, 'Failed to confirm peer status', { peer: m.name, error: e.message });
          return;
        }
        if (peers.length) {
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

  // --- raft membership (leader) -------------------------------------------------------------------

  change(key, fn) {
    if (this.pendingMembership.has(key)) return;
    this.pendingMembership.add(key);
    fn().catch((e) => this.logger.error(LOG, 'failed to change raft configuration', { change: key, error: e.message }))
      .finally(() => this.pendingMembership.delete(key));
  }

  reconcileRaftMembers() {
    const raft = this.raft;
    if (raft.state !== 'Leader') return;
    for (const m of this.serverMembers()) {
      if (m.status !== 'alive') continue;
      const entry = this.raftEntryFor(m);
      if (raft.latest.servers.some((s) => s.id === entry.id)) continue;
      const clash = raft.latest.servers.find((s) => s.address === entry.address || s.name === entry.name);
      if (clash) {
        this.logger.info(LOG, 'removing server with duplicate address or name', { id: clash.id, address: clash.address });
        this.change(`remove:${clash.id}`, () => raft.removeServer(clash.id));
        continue;
      }
      this.logger.info(LOG, 'Adding LAN server', { server: `${m.name} (Addr: tcp/${entry.address}) (DC: ${this.rt.datacenter})` });
      this.change(`add:${entry.id}`, () => raft.addNonvoter(entry));
    }
    for (const s of raft.latest.servers) {
      if (s.id === raft.id) continue;
      const m = this.gossip.get(s.name);
      const gone = (m && m.status === 'left' && m.tags.id === s.id) || (!m && this.gossip.pruned.has(s.name));
      if (gone) {
        this.logger.info(LOG, 'removing server by ID', { id: s.id });
        this.change(`remove:${s.id}`, () => raft.removeServer(s.id));
      }
    }
  }

  // --- forwarding ----------------------------------------------------------------------------------

  /**
   * Consul's ForwardRPC: null when this server is the leader (handle it here), otherwise the
   * leader's answer. Without a leader the request is held, retried every up to 1/16 of the hold
   * timeout, and fails with "No cluster leader" once rpc_hold_timeout has passed.
   */
  async forward(method, payload) {
    if (payload.forwarded) {
      return this.raft.state === 'Leader' ? null : { status: 500, body: NO_LEADER, retry: true };
    }
    const start = Date.now();
    let last = NO_LEADER;
    for (;;) {
      if (this.raft.state === 'Leader') return null;
      const leader = this.raft.knownLeaderAddr();
      if (leader) {
        try {
          const r = await this.pool.call(leader, method, { ...payload, forwarded: true }, FORWARD_TIMEOUT_MS);
          if (!r.retry) return r;
          last = r.body;
        } catch (e) { last = `rpc error making call: ${e.message}`; }
      }
      if (Date.now() - start >= this.timing.rpcHoldTimeoutMs) return { status: 500, body: last };
      await sleep(Math.random() * (this.timing.rpcHoldTimeoutMs / 16));
    }
  }

  async query(kind, params = {}) {
    if (params.dc && params.dc !== this.rt.datacenter) return this.forwardToDatacenter(kind, params);
    if (kind === 'catalog.datacenters') return { status: 200, body: this.wan()?.datacenters() ?? [this.rt.datacenter], meta: this.meta(1) };
    if (LOCAL_READS.has(kind) || (params.stale && !LEADER_ONLY.has(kind))) return this.local(kind, params);
    const fwd = await this.forward('Server.Query', { kind, params: { ...params, forwarded: undefined }, forwarded: params.forwarded });
    if (fwd) return fwd;
    if (params.consistent) {
      try { await this.raft.verifyLeader(); } catch (e) { return { status: 500, body: e.message }; }
      if (!(await this.readyForConsistentReads())) return { status: 500, body: NOT_READY };
    }
    return this.local(kind, params);
  }

  /**
   * rpc.go consistentRead: a new leader serves ?consistent reads only once its barrier has
   * applied everything the old leader committed; it waits for that up to rpc_hold_timeout.
   */
  async readyForConsistentReads() {
    const start = Date.now();
    while (!this.leaderReady) {
      if (this.raft.state !== 'Leader' || Date.now() - start >= this.timing.rpcHoldTimeoutMs) return false;
      await sleep(Math.random() * (this.timing.rpcHoldTimeoutMs / 16));
    }
    return true;
  }

  /** A write: committed through the leader's raft log, answered once applied there. */
  async apply(cmd, { forwarded = false } = {}) {
    const fwd = await this.forward('Server.Apply', { cmd, forwarded });
    if (fwd) return fwd;
    try {
      return { status: 200, body: await this.raft.apply(cmd) };
    } catch (e) {
      this.logger.error(LOG, 'Raft apply failed', { error: e.message });
      return { status: 500, body: e.message };
    }
  }

  /** A read for another datacenter goes to one of its servers, found in the WAN pool. */
  async forwardToDatacenter(kind, params) {
    const servers = [...(this.wan()?.serversIn(params.dc) ?? [])].sort(() => Math.random() - 0.5);
    if (!servers.length) return { status: 500, body: 'No path to datacenter' };
    let last = '';
    for (const m of servers.slice(0, 3)) {
      try {
        return await this.poolFor(params.dc).call(`${m.addr}:${m.tags.port}`, 'Server.Query', { kind, params: { ...params, forwarded: false } }, FORWARD_TIMEOUT_MS);
      } catch (e) { last = e.message; }
    }
    return { status: 500, body: `rpc error making call: ${last}` };
  }

  meta(index) {
    const contact = this.raft.lastContactMs();
    return { index, knownLeader: Boolean(this.raft.knownLeaderAddr()), lastContact: Math.floor(contact ?? 0) };
  }

  async local(kind, params) {
    const { raft, store } = this;
    const ok = (body, index = raft.lastApplied) => ({ status: 200, body, meta: this.meta(index) });
    switch (kind) {
      case 'status.leader': return ok(raft.knownLeaderAddr());
      case 'status.peers': return ok(raft.latest.servers.map((s) => s.address));
      case 'raft.configuration': return ok(this.raftConfiguration(), raft.latest.index);
      case 'autopilot.health': return { ...this.autopilot.healthReply(), meta: this.meta(raft.lastApplied) };
      case 'autopilot.configuration': {
        if (!store.autopilot) return { status: 500, body: 'autopilot config not initialized yet' };
        return ok({ ...store.autopilot.config, createIndex: store.autopilot.createIndex, modifyIndex: store.autopilot.modifyIndex }, store.index.autopilot);
      }
      case 'catalog.nodes': return ok(views.catalogNodes(store), store.index.nodes || 1);
      case 'catalog.services': return ok(views.catalogServices(store), store.index.services || 1);
      case 'catalog.service': return ok(views.catalogService(store, params.name), store.catalogIndex());
      case 'catalog.node': return ok(views.catalogNode(store, params.name), store.catalogIndex());
      case 'catalog.nodeState': return ok(views.nodeState(store, params.name), store.catalogIndex());
      case 'health.service': return ok(views.healthService(store, params.name, params.passing), store.catalogIndex());
      case 'health.node': return ok(views.healthNode(store, params.name), store.index.checks || 1);
      case 'kvs.get': { const r = store.kvGet(params.key); return ok(r.entries.map(views.kvEntryJson), r.index); }
      case 'kvs.list': { const r = store.kvList(params.key); return ok(r.entries.map(views.kvEntryJson), r.index); }
      case 'kvs.keys': { const r = store.kvKeys(params.key, params.separator); return ok(r.keys, r.index); }
      // operator_backend.go TransferLeader: an id names the server (serverLookup.ServerAddr).
      case 'raft.transferLeader': {
        if (params.id && !raft.latest.servers.some((x) => x.id === params.id)) return { status: 500, body: `Could not find address for server id ${params.id}` };
        try { await raft.transferLeadership(params.id || undefined); } catch (e) { return { status: 500, body: e.message }; }
        return ok({ Success: true });
      }
      case 'raft.removePeer': {
        const s = raft.latest.servers.find((x) => (params.id ? x.id === params.id : x.address === params.address));
        if (!s) return { status: 500, body: params.id ? `id "${params.id}" was not found in the Raft configuration` : `address "${params.address}" was not found in the Raft configuration` };
        try { await raft.removeServer(s.id); } catch (e) { return { status: 500, body: e.message }; }
        return ok(null);
      }
      case 'autoEncrypt.sign': {
        const identity = this.rt.acl.enabled ? await this.resolveAcl(params.token || 'anonymous') : undefined;
        if (identity && identity.status !== 200) return identity;
        try { return ok(signAgentCertificate({ rt: this.rt, store, params, identity: identity?.body, manualRoots: this.agentCaRoots() })); } catch (e) { return { status: 403, body: e.message }; }
      }
      case 'connect.roots': {
        const ca = store.connectCa;
        const roots = ca ? [caRootJson(ca, store.index.connectCa ?? 0)] : [];
        return ok({ ActiveRootID: ca?.id ?? '', TrustDomain: ca?.trustDomain ?? '', Roots: roots });
      }
      case 'acl.resolve': {
        if (this.secondaryAcls) return { ...(await this.secondaryAcls.resolve(params.secret)), meta: this.meta(store.index.acl) };
        return ok(store.acl.resolve(params.secret, params.forDc ?? this.rt.datacenter), store.index.acl);
      }
      case 'acl.replicationData': return this.secondaryAcls ? { status: 500, body: 'ACL replication data is kept by the primary datacenter' } : replicationData(this.rt, store, params);
      case 'acl.replication': return ok(this.secondaryAcls?.statusJson() ?? zeroReplicationStatus());
      case 'acl.apply': return this.aclApply(params.cmd);
      case 'acl.tokenBySecret':
      case 'acl.token':
      case 'acl.tokens':
        // Without tokens of its own a secondary reads them in the primary (ACL.TokenRead forwarding).
        if (this.secondaryAcls && !this.secondaryAcls.localTokensEnabled()) return this.forwardToDatacenter(kind, { ...params, dc: this.rt.primaryDatacenter });
        return this.localTokenRead(kind, params);
      case 'acl.bootstrap': return this.aclBootstrap(params);
      case 'acl.policy': {
        const p = params.id ? store.acl.policies.get(params.id) : [...store.acl.policies.values()].find((x) => x.Name === params.name);
        return ok(p ?? null, store.index.acl);
      }
      case 'acl.policies': return ok([...store.acl.policies.values()], store.index.acl);
      default: return { status: 404, body: `unknown query ${kind}` };
    }
  }

  localTokenRead(kind, params) {
    const { store } = this;
    const ok = (body) => ({ status: 200, body, meta: this.meta(store.index.acl) });
    const json = (t) => (t ? store.acl.tokenJson(t) : null);
    if (kind === 'acl.tokens') return ok([...store.acl.tokens.values()].map(json));
    if (kind === 'acl.token') return ok(json(store.acl.tokens.get(params.accessor)));
    return ok(json([...store.acl.tokens.values()].find((x) => x.SecretID === params.secret)));
  }

  /** What a token grants here: the primary answers from its own tables, a secondary as SecondaryAcls says. */
  async resolveAcl(secret) {
    if (this.secondaryAcls) return this.secondaryAcls.resolve(secret);
    return { status: 200, body: this.store.acl.resolve(secret, this.rt.datacenter) };
  }

  /**
   * An ACL write on this datacenter's leader. Global tokens and every policy live in the
   * primary, so a secondary forwards them there; a local token is written here, which a
   * secondary allows only with token replication and its token.
   */
  async aclApply(cmd) {
    if (!this.secondaryAcls) return this.apply(cmd);
    const token = cmd.op === 'token-delete' ? this.store.acl.tokens.get(cmd.accessorId) : cmd.token;
    const local = cmd.op.startsWith('token-') && token?.Local === true;
    if (!local) return this.forwardToDatacenter('acl.apply', { dc: this.rt.primaryDatacenter, cmd });
    if (!this.secondaryAcls.localTokensEnabled()) return { status: 500, body: 'Local tokens are disabled' };
    return this.apply(cmd);
  }

  /**
   * `/v1/operator/raft/configuration` (agent/consul/operator_raft_endpoint.go): Node is the serf
   * member's name ("(unknown)" for a peer serf does not know), ProtocolVersion its raft_vsn tag
   * ("unknown" then), LastIndex the server's last log index in autopilot's last state (0 when
   * autopilot has no stats of it: always so on a follower here, see the README).
   */
  raftConfiguration() {
    const raft = this.raft;
    const members = new Map(this.serverMembers().map((m) => [`${m.addr}:${m.tags.port}`, m]));
    const stats = this.autopilot.state?.servers ?? new Map();
    return {
      Servers: raft.latest.servers.map((s) => {
        const m = members.get(s.address);
        return {
          ID: s.id, Node: m ? m.name : '(unknown)', Address: s.address, Leader: raft.knownLeaderAddr() === s.address,
          ProtocolVersion: m ? m.tags.raft_vsn ?? '' : 'unknown', Voter: s.voter, LastIndex: stats.get(s.id)?.stats.lastIndex ?? 0,
        };
      }),
      Index: raft.latest.index,
    };
  }

  // --- server RPC ---------------------------------------------------------------------------------

  /** AutoEncrypt.Sign: checked here, signed by the leader; its errors travel as the RPC's error. */
  async autoEncryptSign(params) {
    signPrecheck(this.rt, params);
    const r = await this.query('autoEncrypt.sign', { ...params, stale: false });
    if (r.status !== 200) throw new Error(String(r.body));
    return r.body;
  }

  handleRpc(method, params) {
    switch (method) {
      case 'Raft.RequestVote': return this.raft.handleRequestVote(params);
      case 'Raft.AppendEntries': return this.raft.handleAppendEntries(params);
      case 'Raft.InstallSnapshot': return this.raft.handleInstallSnapshot(params);
      case 'Raft.TimeoutNow': return this.raft.handleTimeoutNow(params);
      case 'Status.RaftStats': return this.raftStats();
      case 'Status.Peers': return this.raft.latest.servers.map((s) => s.address);
      case 'Server.Query': return this.query(params.kind, { ...params.params, forwarded: params.forwarded });
      case 'Server.Apply': return this.apply(params.cmd, { forwarded: params.forwarded });
      case 'AutoEncrypt.Sign': return this.autoEncryptSign(params);
      case 'Snapshot.Dispatch': return this.snapshot(params);
      default: throw new Error(`rpc: can't find method ${method}`);
    }
  }
}
