// `consul agent`: wires config, gossip, raft (servers), HTTP, DNS, joins and signals together.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadAgentConfig, parseAgentFlags, buildRuntime, listConfigFiles, loadConfigFiles, multiError } from './config.mjs';
import { formatDuration } from './duration.mjs';
import { Gossip, SERF_STATUS_CODE } from './gossip.mjs';
import { Keyring } from './keyring.mjs';
import { Logger } from './log.mjs';
import { Raft } from './raft.mjs';
import { raftTiming } from './raft-timing.mjs';
import { createRpcServer, exchange, RpcPool } from './rpc.mjs';
import { ServerRole, isServerMember } from './server.mjs';
import { StateStore } from './state-store.mjs';
import { AntiEntropy } from './anti-entropy.mjs';
import { createHttpServer } from './http-api.mjs';
import { rpcTimeout } from './snapshot-endpoint.mjs';
import { startDns } from './dns.mjs';
import { CheckRunner } from './checks.mjs';
import { WanPool } from './wan.mjs';
import { buildInfo } from './version.mjs';
import { aclStartError } from './acl-config.mjs';
import { resolveSecret } from './acl-http.mjs';
import { AgentTokens } from './agent-tokens.mjs';
import { NodeMaintenance } from './maintenance.mjs';
import { TlsLoadError, loadTls, serverOptions } from './tls-config.mjs';
import { requestAgentCertificate } from './auto-encrypt.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const versionName = (v) => ({ TLSv1: 'TLSv1_0', 'TLSv1.1': 'TLSv1_1', 'TLSv1.2': 'TLSv1_2', 'TLSv1.3': 'TLSv1_3' })[v];

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
}

export class Agent {
  constructor(rt, flags, tlsMaterial) {
    this.rt = rt;
    this.flags = flags;
    this.tlsMaterial = tlsMaterial;
    this.httpsServers = [];
    this.build = buildInfo();
    this.logger = new Logger(rt.logLevel === 'ERR' ? 'error' : rt.logLevel);
    this.closers = [];
    this.stopping = false;
    this.startedAt = Date.now();
  }

  get isServer() { return this.rt.server; }

  nodeId() {
    if (this.rt.nodeIdConfig) return this.rt.nodeIdConfig.toLowerCase();
    const file = path.join(this.rt.dataDir, 'node-id');
    try { return fs.readFileSync(file, 'utf8').trim(); } catch { /* first start */ }
    const id = crypto.randomUUID();
    fs.writeFileSync(file, id);
    return id;
  }

  tags() {
    const rt = this.rt;
    const common = { build: this.build.buildTag, dc: rt.datacenter, ft_fs: '1', ft_si: '1', id: this.id, segment: '', vsn: '2', vsn_max: '3', vsn_min: '2' };
    if (!rt.server) return { ...common, role: 'node' };
    // server_serf.go: use_tls when internal RPC has a CA, acls from the ACL mode (0 disabled, 1 enabled).
    const useTls = rt.tls.internal_rpc.caFile || rt.tls.internal_rpc.caPath ? '1' : '0';
    const t = { ...common, acls: rt.acl.enabled ? '1' : '0', grpc_tls_port: String(rt.ports.grpc_tls), port: String(rt.ports.server), raft_vsn: '3', role: 'consul', use_tls: useTls, wan_join_port: String(rt.ports.serf_wan) };
    if (rt.bootstrapExpect) t.expect = String(rt.bootstrapExpect);
    if (rt.bootstrap) t.bootstrap = '1';
    return t;
  }

  banner() {
    const rt = this.rt;
    const p = rt.ports;
    const lines = [
      '==> Starting Consul agent...',
      `               Version: '${this.build.version}'`,
      `            Build Date: '${this.build.buildDate.replace('T', ' ').replace('Z', ' +0000 UTC')}'`,
      `               Node ID: '${this.id}'`,
      `             Node name: '${rt.nodeName}'`,
      `            Datacenter: '${rt.datacenter}' (Segment: '${rt.server ? '<all>' : ''}')`,
      `                Server: ${rt.server} (Bootstrap: ${rt.bootstrap})`,
      `           Client Addr: [${rt.clientAddrs.join(' ')}] (HTTP: ${p.http}, HTTPS: ${p.https}, gRPC: ${p.grpc}, gRPC-TLS: ${p.grpc_tls}, DNS: ${p.dns})`,
      `          Cluster Addr: ${rt.advertiseAddr} (LAN: ${p.serf_lan}, WAN: ${p.serf_wan})`,
      `     Gossip Encryption: ${this.keyring.enabled}`,
      `      Auto-Encrypt-TLS: ${rt.tls.autoEncrypt.tls || rt.tls.autoEncrypt.allowTls}`,
      `           ACL Enabled: ${rt.acl.enabled}`,
      '     Reporting Enabled: false',
      `    ACL Default Policy: ${rt.acl.defaultPolicy}`,
      `             HTTPS TLS: Verify Incoming: ${rt.tls.https.verifyIncoming}, Verify Outgoing: ${rt.tls.https.verifyOutgoing}, Min Version: ${versionName(rt.tls.https.minVersion)}`,
      `              gRPC TLS: Verify Incoming: ${rt.tls.grpc.verifyIncoming}, Min Version: ${versionName(rt.tls.grpc.minVersion)}`,
      `      Internal RPC TLS: Verify Incoming: ${rt.tls.internal_rpc.verifyIncoming}, Verify Outgoing: ${rt.tls.internal_rpc.verifyOutgoing} (Verify Hostname: ${rt.tls.internal_rpc.verifyServerHostname}), Min Version: ${versionName(rt.tls.internal_rpc.minVersion)}`,
      '',
      '==> Log data will now stream in as it occurs:',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }

  async start() {
    const rt = this.rt;
    fs.mkdirSync(rt.dataDir, { recursive: true });
    this.id = this.nodeId();
    this.tokens = new AgentTokens(rt.acl, rt.dataDir);
    this.maintenance = new NodeMaintenance(rt.dataDir);
    // auto_encrypt: nothing starts before a server has signed this agent's certificate (agent/auto-config).
    if (!rt.server && rt.tls.autoEncrypt.tls) {
      this.autoCert = await requestAgentCertificate(this);
      if (!this.autoCert) return;
    }
    const { keyring, warning } = Keyring.load(rt.dataDir, rt.encryptKey, rt.disableKeyringFile);
    this.keyring = keyring;
    if (warning) process.stdout.write(`==> ${warning}\n`);
    for (const w of rt.warnings) process.stdout.write(`==> ${w}\n`);
    this.banner();
    const logName = rt.server ? 'agent.server.serf.lan' : 'agent.client.serf.lan';
    // A check's new status reaches the catalog through anti-entropy (a raft write), not gossip.
    this.checks = new CheckRunner((c) => {
      this.logger.info('agent', `Check status changed to ${c.status}`, { check: c.id });
      this.ae?.trigger({ full: false });
    });
    this.closers.push(() => this.checks.stop());
    this.gossip = new Gossip({
      self: { name: rt.nodeName, addr: rt.advertiseAddr, port: rt.ports.serf_lan, tags: this.tags() },
      bindAddr: rt.bindAddr, keyring, logger: this.logger, logName,
    });
    this.gossip.on('keyring', (msg, out) => this.applyKeyringOp(msg, out));
    this.pool = new RpcPool(() => this.rpcClientTls());
    // Another datacenter's servers are dialled with its name checked (tlsutil's DC wrapper).
    this.wanPools = new Map();
    this.closers.push(() => this.closePools());

    this.timing = raftTiming(rt);
    if (rt.server) {
      this.store = new StateStore();
      this.raft = new Raft({
        id: this.id, name: rt.nodeName, address: `${rt.advertiseAddr}:${rt.ports.server}`, dataDir: rt.dataDir,
        logger: this.logger, pool: this.pool, fsm: this.store, timing: this.timing,
      });
      this.serverRole = new ServerRole({
        rt, nodeId: this.id, gossip: this.gossip, raft: this.raft, store: this.store, pool: this.pool,
        logger: this.logger, build: this.build, timing: this.timing, wan: () => this.wan,
        poolFor: (dc) => this.poolFor(dc),
        agentCaRoots: () => this.tlsMaterial.internal_rpc.ca,
        replicationToken: () => this.tokens.tokens.replication,
      });
      const rpc = createRpcServer((method, params) => this.serverRole.handleRpc(method, params), undefined, {
        tlsState: () => ({ options: serverOptions(this.tlsMaterial.internal_rpc, this.autoTls()), verifyIncoming: this.tlsMaterial.internal_rpc.verifyIncoming }),
        logger: this.logger,
      });
      this.rpcServer = rpc;
      await listen(rpc, rt.ports.server, rt.bindAddr);
      this.closers.push(() => rpc.close());
      if (rt.ports.serf_wan > 0) {
        this.wan = new WanPool({ rt, tags: this.tags(), keyring, logger: this.logger });
        await this.wan.start();
        const flood = setInterval(() => this.wan.floodJoin(this.gossip.list()), 2000);
        this.gossip.on('change', (_m, _from, to) => { if (to === 'alive') this.wan.floodJoin(this.gossip.list()); });
        this.closers.push(() => { clearInterval(flood); this.wan.stop(); });
      }
    }
    await this.gossip.start();
    this.closers.push(() => this.gossip.stop());
    if (this.raft) {
      this.raft.start();
      this.serverRole.start();
      this.closers.push(() => { this.serverRole.stop(); this.raft.stop(); });
    }
    if (rt.ports.http > 0) {
      for (const addr of rt.httpAddrs) {
        const srv = createHttpServer(this);
        await listen(srv, rt.ports.http, addr);
        this.logger.info('agent', 'Started HTTP server', { address: `${addr}:${rt.ports.http}`, network: 'tcp' });
        this.closers.push(() => { srv.close(); srv.closeAllConnections?.(); });
      }
    }
    if (rt.ports.https > 0) {
      for (const addr of rt.httpsAddrs) {
        // Without a certificate the listener still opens, and every handshake fails, as in Consul.
        const srv = createHttpServer(this, serverOptions(this.tlsMaterial.https, this.autoTls()) ?? { minVersion: this.tlsMaterial.https.minVersion });
        await listen(srv, rt.ports.https, addr);
        this.httpsServers.push(srv.tlsServer);
        this.logger.info('agent', 'Started HTTPS server', { address: `${addr}:${rt.ports.https}`, network: 'tcp' });
        this.closers.push(() => { srv.close(); srv.closeAllConnections?.(); });
      }
    }
    if (rt.ports.dns > 0) {
      const close = await startDns(rt.dnsAddrs, rt.ports.dns, (name, type) => this.resolveDns(name, type));
      for (const a of rt.dnsAddrs) {
        this.logger.info('agent', 'Started DNS server', { address: `${a}:${rt.ports.dns}`, network: 'udp' });
        this.logger.info('agent', 'Started DNS server', { address: `${a}:${rt.ports.dns}`, network: 'tcp' });
      }
      this.closers.push(close);
    }
    this.checks.set(rt.services);
    this.ae = new AntiEntropy({ agent: this, logger: this.logger });
    // ServerUp: a server that joins (or comes back) gets this node's state right away.
    this.gossip.on('change', (m, from, to) => { if (to === 'alive' && from !== 'alive' && isServerMember(m, rt.datacenter)) this.ae.trigger(); });
    this.closers.push(() => this.ae.stop());
    this.ae.start();
    this.logger.info('agent', 'Consul agent running!');
    this.retryJoin();
    this.wan?.retryJoin();
  }

  // --- joining ------------------------------------------------------------------------------

  async join(targets) {
    this.logger.info('agent', '(LAN) joining', { lan_addresses: targets });
    const { joined, errors } = await this.gossip.join(targets, this.rt.ports.serf_lan);
    if (joined > 0) this.logger.info('agent', '(LAN) joined', { number_of_nodes: joined });
    else this.logger.warn('agent', "(LAN) couldn't join", { number_of_nodes: 0, error: multiError(errors) });
    return { joined, errors };
  }

  async retryJoin() {
    const rt = this.rt;
    const targets = rt.retryJoin.filter((t) => !t.startsWith('provider='));
    if (targets.length !== rt.retryJoin.length) this.logger.warn('agent', 'cloud auto-join (provider=...) is not supported by the stand-in; ignoring those entries');
    if (!targets.length) return;
    this.logger.info('agent', 'Joining cluster...', { cluster: 'LAN' });
    for (let attempt = 1; !this.stopping; attempt++) {
      const { joined } = await this.join(targets);
      if (this.stopping) return;
      if (joined > 0) { this.logger.info('agent', 'Join cluster completed. Synced with initial agents', { cluster: 'LAN', num_agents: joined }); return; }
      if (rt.retryMax > 0 && attempt >= rt.retryMax) {
        this.logger.error('agent', 'max join retry exhausted, exiting', { cluster: 'LAN' });
        return this.shutdown(1);
      }
      this.logger.warn('agent', 'Join cluster failed, will retry', { cluster: 'LAN', retry_interval: formatDuration(rt.retryIntervalMs), error: 'No servers to join' });
      await sleep(rt.retryIntervalMs);
    }
  }

  // --- leaving and shutdown -----------------------------------------------------------------

  async leave() {
    if (this.leavingPromise) return this.leavingPromise;
    this.leavingPromise = (async () => {
      this.logger.info('agent', 'Requesting leave');
      const raft = this.raft;
      // A leaving leader first takes itself out of the peer set, so the quorum shrinks safely.
      if (raft && raft.state === 'Leader' && raft.voters().length > 1) {
        const removed = raft.removeServer(this.id);
        const timeout = sleep(5000).then(() => { throw new Error('timed out'); });
        try { await Promise.race([removed, timeout]); } catch (e) { this.logger.warn('agent.server', 'failed to remove ourself as raft peer', { error: e.message }); }
      }
      await this.gossip.leave();
      if (this.wan) await this.wan.leave();
      if (raft && raft.config.servers.some((s) => s.id === this.id)) {
        // Wait (bounded) until the leader has removed us from the raft configuration.
        const until = Date.now() + 3000;
        while (Date.now() < until && raft.config.servers.some((s) => s.id === this.id)) await sleep(100);
        if (raft.config.servers.some((s) => s.id === this.id)) this.logger.warn('agent.server', 'failed to leave raft configuration gracefully, timeout');
      }
      this.logger.info('agent', 'Graceful leave complete');
    })();
    return this.leavingPromise;
  }

  shutdownSoon(code) { setTimeout(() => this.shutdown(code), 50); }

  shutdown(code) {
    if (this.stopping && this.exiting) return;
    this.stopping = true;
    this.exiting = true;
    this.logger.info('agent', 'Requesting shutdown');
    for (const close of this.closers.reverse()) { try { close(); } catch { /* shutting down anyway */ } }
    this.logger.info('agent', 'shutdown complete');
    this.logger.info('agent', 'Exit code', { code });
    process.exitCode = code;
    setTimeout(() => process.exit(code), 20).unref();
  }

  handleSignals() {
    let caught = 0;
    const onSignal = async (sig, text) => {
      caught++;
      process.stdout.write(`==> Caught signal: ${text}\n`);
      if (caught > 1) return this.shutdown(1);
      const graceful = (sig === 'SIGINT' && !this.rt.skipLeaveOnInterrupt) || (sig === 'SIGTERM' && this.rt.leaveOnTerminate);
      if (!graceful) {
        this.logger.info('agent', 'Graceful shutdown disabled. Exiting');
        return this.shutdown(1);
      }
      this.logger.info('agent', 'Gracefully shutting down agent...');
      this.stopping = true;
      const timeout = setTimeout(() => this.shutdown(1), 15000);
      await this.leave();
      clearTimeout(timeout);
      this.logger.info('agent', 'Graceful exit completed');
      this.shutdown(0);
    };
    process.on('SIGTERM', () => onSignal('SIGTERM', 'terminated'));
    process.on('SIGINT', () => onSignal('SIGINT', 'interrupt'));
    process.on('SIGHUP', () => {
      process.stdout.write('==> Caught signal: hangup\n');
      try { this.reload(); } catch (e) { this.logger.error('agent', 'Failed to reload configs', { error: e.message }); }
    });
  }

  // --- operations behind the HTTP API ------------------------------------------------------------

  forceLeave(name, prune) {
    this.logger.info('agent', 'Force leaving node', { node: name });
    this.gossip.forceLeave(name, prune);
  }

  /** Re-reads config; like Consul, only some settings take effect without a restart. */
  reload() {
    this.logger.info('agent', 'Reloading configuration...');
    const files = listConfigFiles(this.flags.configDirs, this.flags.configFiles);
    const next = buildRuntime(loadConfigFiles(files), this.flags.overrides);
    // TLS is reloadable (tlsutil Configurator.Update); a bad file fails the reload and keeps what runs.
    const tlsMaterial = loadTls(next.tls);
    this.applyTls(next.tls, tlsMaterial);
    this.logger.setLevel(next.logLevel === 'ERR' ? 'error' : next.logLevel);
    this.rt.logLevel = next.logLevel;
    this.rt.services = next.services;
    this.checks.set(next.services);
    this.rt.nodeMeta = next.nodeMeta;
    // Only seeds a new cluster's autopilot settings; a running cluster keeps the ones in raft.
    this.rt.autopilot = next.autopilot;
    // acl.tokens are reloadable (tokens.Load); the reload asks only for a partial sync.
    if (this.tokens) this.tokens.load(next.acl);
    this.ae?.trigger({ full: false });
  }

  applyTls(tlsRt, material) {
    const wasVerifying = this.tlsMaterial.internal_rpc.verifyIncoming;
    this.rt.tls = tlsRt;
    this.tlsMaterial = material;
    // Open connections were made with the old settings: close them, the next call dials with the new ones.
    this.closePools();
    if (!wasVerifying && material.internal_rpc.verifyIncoming) this.rpcServer?.dropPlaintext();
    const https = serverOptions(material.https, this.autoTls());
    for (const srv of this.httpsServers) {
      if (https) srv.setSecureContext(https);
      srv.requestCert = material.https.verifyIncoming;
      srv.rejectUnauthorized = material.https.verifyIncoming;
    }
  }

  /**
   * What auto_encrypt adds to this agent's TLS: on a client its signed certificate and the roots
   * the server sent; on a server the Connect CA root, which signs the clients' certificates.
   */
  autoTls() {
    if (this.autoCert) return { pair: this.autoCert, extraCa: this.autoCert.extraCa };
    const root = this.store?.connectCa?.cert;
    return root ? { extraCa: [root] } : {};
  }

  /**
   * Outgoing RPC is TLS with verify_outgoing or auto_encrypt (outgoingRPCTLSEnabled); the server
   * name is checked only with verify_server_hostname.
   */
  rpcClientTls(dc = this.rt.datacenter) {
    const p = this.tlsMaterial.internal_rpc;
    if (!p.verifyOutgoing && !this.autoCert) return null;
    const auto = this.autoTls();
    const pair = p.pair ?? auto.pair;
    const out = { ca: [...p.ca, ...(auto.extraCa ?? [])], minVersion: p.minVersion };
    if (pair) Object.assign(out, { cert: pair.cert, key: pair.key });
    if (p.verifyServerHostname) out.servername = `server.${dc}.${this.rt.domain}`;
    else out.checkServerIdentity = () => undefined;
    return out;
  }

  /** The pool for RPC to the servers of `dc`: this datacenter's own, or one per other datacenter. */
  poolFor(dc) {
    if (dc === this.rt.datacenter) return this.pool;
    let pool = this.wanPools.get(dc);
    if (!pool) this.wanPools.set(dc, (pool = new RpcPool(() => this.rpcClientTls(dc))));
    return pool;
  }

  closePools() {
    this.pool.closeAll();
    for (const pool of this.wanPools.values()) pool.closeAll();
  }

  /** The authorizer of a token this agent writes its own catalog entries with ('' is the default token, else anonymous). */
  authorizer(secret) {
    return resolveSecret(this, secret);
  }

  knownServers() {
    return this.gossip.alive().filter((m) => isServerMember(m, this.rt.datacenter)).sort(() => Math.random() - 0.5);
  }

  /** A read: servers answer it themselves; a client asks one of its servers (which may forward). */
  async query(kind, params) {
    if (this.serverRole) return this.serverRole.query(kind, params);
    const servers = this.knownServers();
    if (!servers.length) return { status: 500, body: 'No known Consul servers' };
    let last = '';
    for (const m of servers) {
      try { return await this.pool.call(`${m.addr}:${m.tags.port}`, 'Server.Query', { kind, params }, 35000); } catch (e) { last = e.message; }
    }
    return { status: 500, body: `rpc error making call: ${last}` };
  }

  /** A write, through the raft log. A client retries another server only when it could not connect. */
  async apply(cmd) {
    if (this.serverRole) return this.serverRole.apply(cmd);
    const servers = this.knownServers();
    if (!servers.length) return { status: 500, body: 'No known Consul servers' };
    let last = '';
    for (const m of servers) {
      try { return await this.pool.call(`${m.addr}:${m.tags.port}`, 'Server.Apply', { cmd }, 35000); } catch (e) {
        last = e.message;
        if (!/^dial tcp/.test(last)) break;
      }
    }
    return { status: 500, body: `rpc error making call: ${last}` };
  }

  /**
   * `/v1/snapshot`: a server dispatches it itself; a client hands it to one of its servers
   * (agent/consul/client.go SnapshotRPC), which forwards it as needed.
   */
  async snapshot(args) {
    if (this.serverRole) return this.serverRole.snapshot(args);
    const servers = this.knownServers();
    if (!servers.length) return { error: 'No known Consul servers' };
    const m = servers[0];
    try { return await this.pool.call(`${m.addr}:${m.tags.port}`, 'Snapshot.Dispatch', args, rpcTimeout(args)); } catch (e) { return { error: e.message }; }
  }

  member(m) {
    return {
      Name: m.name, Addr: m.addr, Port: m.port, Tags: m.tags, Status: SERF_STATUS_CODE[m.status] ?? 0,
      ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
    };
  }

  membersJson(wan) {
    if (wan) {
      if (!this.isServer) return [];
      return (this.wan?.list() ?? []).map((m) => this.member(m));
    }
    return this.gossip.list().map((m) => this.member(m));
  }

  servicesJson() {
    const out = {};
    for (const s of this.rt.services) {
      out[s.id] = { ID: s.id, Service: s.name, Tags: s.tags, Meta: s.meta, Port: s.port, Address: s.address, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Datacenter: this.rt.datacenter };
    }
    return out;
  }

  /** `PUT /v1/agent/maintenance`: enters or leaves maintenance; the change is synced at once. */
  setMaintenance(enable, reason, token) {
    const changed = enable ? this.maintenance.enable(reason, token) : this.maintenance.disable();
    if (!changed) return;
    this.logger.info('agent', enable ? 'Node entered maintenance mode' : 'Node left maintenance mode');
    this.ae?.trigger({ full: false });
  }

  /** `GET /v1/agent/checks`: this agent's checks by ID, in Consul's shape. */
  checksJson() {
    const out = {};
    const maint = this.maintenance?.check();
    if (maint) {
      out[maint.checkId] = {
        Node: this.rt.nodeName, CheckID: maint.checkId, Name: maint.name, Status: maint.status, Notes: maint.notes,
        Output: '', ServiceID: '', ServiceName: '', ServiceTags: [], Type: maint.type, Interval: '', Timeout: '',
        ExposedPort: 0, Definition: {}, CreateIndex: 0, ModifyIndex: 0,
      };
    }
    for (const c of this.checks?.list() ?? []) {
      const svc = this.rt.services.find((s) => s.id === c.serviceId);
      out[c.id] = {
        Node: this.rt.nodeName, CheckID: c.id, Name: c.name, Status: c.status, Notes: c.notes, Output: c.output,
        ServiceID: c.serviceId, ServiceName: c.serviceName, ServiceTags: svc?.tags ?? [], Type: c.type,
        Interval: c.intervalMs ? formatDuration(c.intervalMs) : '', Timeout: c.type === 'ttl' ? '' : formatDuration(c.timeoutMs),
        ExposedPort: 0, Definition: {}, CreateIndex: 0, ModifyIndex: 0,
      };
    }
    return out;
  }

  /** `/v1/operator/autopilot/configuration`: the cluster's settings, as stored in raft by the first leader. */
  async autopilotConfiguration() {
    const r = await this.query('autopilot.configuration', {});
    if (r.status !== 200) return r;
    const ap = r.body;
    return {
      ...r,
      body: {
        CleanupDeadServers: ap.cleanupDeadServers, LastContactThreshold: formatDuration(ap.lastContactThresholdMs),
        MaxTrailingLogs: ap.maxTrailingLogs, MinQuorum: ap.minQuorum, ServerStabilizationTime: formatDuration(ap.serverStabilizationMs),
        RedundancyZoneTag: '', DisableUpgradeMigration: false, UpgradeVersionTag: '', CreateIndex: ap.createIndex, ModifyIndex: ap.modifyIndex,
      },
    };
  }

  stats() {
    const rt = this.rt;
    const consul = rt.server
      ? {
          acl: rt.acl.enabled ? 'enabled' : 'disabled', bootstrap: String(rt.bootstrap), known_datacenters: String(this.wan?.datacenters().length ?? 1),
          leader: String(this.raft.state === 'Leader'), leader_addr: this.raft.knownLeaderAddr(), server: 'true',
        }
      : { acl: rt.acl.enabled ? 'enabled' : 'disabled', known_servers: String(this.gossip.alive().filter((m) => isServerMember(m, rt.datacenter)).length), server: 'false' };
    const stats = {
      agent: { check_monitors: '0', check_ttls: '0', checks: '0', services: String(rt.services.length) },
      build: { prerelease: this.build.prerelease, revision: this.build.revision, version: this.build.version, version_metadata: '' },
      consul,
      runtime: {
        arch: { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch, cpu_count: String(os.cpus().length),
        goroutines: String(80 + this.gossip.list().length * 4), max_procs: String(os.cpus().length), os: process.platform, version: 'go1.22.7',
      },
      serf_lan: this.gossip.stats(),
    };
    if (rt.server) {
      stats.raft = this.raft.stats();
      if (this.wan) stats.serf_wan = this.wan.gossip.stats();
    }
    return stats;
  }

  self() {
    const rt = this.rt;
    return {
      Config: {
        Datacenter: rt.datacenter, PrimaryDatacenter: rt.datacenter, NodeName: rt.nodeName, NodeID: this.id, Partition: '',
        Revision: this.build.revision, Server: rt.server, Version: this.build.version, BuildDate: this.build.buildDate,
      },
      DebugConfig: {
        AdvertiseAddrLAN: rt.advertiseAddr, BindAddr: rt.bindAddr, Bootstrap: rt.bootstrap, BootstrapExpect: rt.bootstrapExpect,
        ClientAddrs: rt.clientAddrs, DataDir: rt.dataDir, Datacenter: rt.datacenter, EncryptKey: rt.encryptKey ? 'hidden' : '',
        HTTPPort: rt.ports.http, DNSPort: rt.ports.dns, SerfPortLAN: rt.ports.serf_lan, ServerPort: rt.ports.server,
        LeaveOnTerm: rt.leaveOnTerminate, SkipLeaveOnInt: rt.skipLeaveOnInterrupt, RejoinAfterLeave: rt.rejoinAfterLeave,
        RetryJoinLAN: rt.retryJoin, RetryJoinIntervalLAN: formatDuration(rt.retryIntervalMs), LogLevel: rt.logLevel,
        NodeName: rt.nodeName, ServerMode: rt.server, UIConfig: { Enabled: rt.uiEnabled },
      },
      Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 },
      Member: this.member(this.gossip.me),
      Stats: this.stats(),
      Meta: { 'consul-network-segment': '', 'consul-version': this.build.version, ...rt.nodeMeta },
    };
  }

  // --- DNS ------------------------------------------------------------------------------------------

  /**
   * `<node>.node[.<dc>].<domain>` and `[<tag>.]<service>.service[.<dc>].<domain>`, answered from
   * the catalog with a stale read (dns_config.allow_stale defaults to true), through a server for
   * a client and over the WAN for another datacenter, as Consul's DNS does. So a service is in
   * DNS only once anti-entropy registered it, and instances with a critical check are left out.
   */
  async resolveDns(name, _qtype) {
    const rt = this.rt;
    const nx = { rcode: 3, addresses: [] };
    const suffix = `.${rt.domain}`;
    if (!name.endsWith(suffix)) return nx;
    const labels = name.slice(0, -suffix.length).split('.');
    let dc = rt.datacenter;
    const last = labels[labels.length - 1];
    if (last !== 'node' && last !== 'service' && labels.length >= 3) dc = labels.pop();
    const kind = labels.pop();
    if ((kind !== 'node' && kind !== 'service') || labels.length === 0) return nx;
    const failed = (r) => ({ rcode: /No path to datacenter/.test(String(r.body)) ? 3 : 2, addresses: [] });
    // DNS answers with the agent's default token (else anonymous): what it may not read is not there.
    let authz = null;
    if (rt.acl.enabled) {
      try { authz = await resolveSecret(this, ''); } catch { return { rcode: 2, addresses: [] }; }
    }
    const nodeOk = (n) => !authz || authz.allowed('node', 'read', n);
    if (kind === 'node') {
      const r = await this.query('catalog.nodes', { dc, stale: true });
      if (r.status !== 200) return failed(r);
      const node = r.body.find((n) => n.Node.toLowerCase() === labels.join('.') && nodeOk(n.Node));
      return node ? { rcode: 0, addresses: [node.Address] } : nx;
    }
    if (labels.length > 2) return nx;
    const [svc, tag] = labels.length === 2 ? [labels[1], labels[0]] : [labels[0], undefined];
    const r = await this.query('health.service', { name: svc, dc, stale: true });
    if (r.status !== 200) return failed(r);
    const addrs = r.body
      .filter((e) => !authz || (authz.allowed('service', 'read', e.Service.Service) && nodeOk(e.Node.Node)))
      .filter((e) => (!tag || e.Service.Tags.includes(tag)) && !e.Checks.some((c) => c.Status === 'critical'))
      .map((e) => e.Service.Address || e.Node.Address);
    return addrs.length ? { rcode: 0, addresses: [...new Set(addrs)] } : nx;
  }

  // --- keyring ---------------------------------------------------------------------------------------

  applyKeyringOp(msg, out) {
    try {
      if (msg.op === 'install') this.keyring.install(msg.key);
      else if (msg.op === 'use') this.keyring.use(msg.key);
      else if (msg.op === 'remove') this.keyring.remove(msg.key);
    } catch (e) { out.ok = false; out.error = e.message; }
    out.keys = [...this.keyring.keys];
    out.primary = this.keyring.primary;
  }

  /** Runs one keyring operation on every alive member (as serf's keyring queries do). */
  async keyringFanout(op, key) {
    const replies = [];
    const members = this.gossip.alive();
    await Promise.all(members.map(async (m) => {
      if (m === this.gossip.me) { const out = { ok: true, error: '', keys: [] }; this.applyKeyringOp({ op, key }, out); replies.push({ node: m.name, ...out }); return; }
      try {
        const r = this.keyring.open(await exchange(m.addr, m.port, this.keyring.seal({ t: 'keyring', op, key }), 2000));
        replies.push({ node: m.name, ...r });
      } catch (e) { replies.push({ node: m.name, ok: false, error: e.message, keys: [], noReply: true }); }
    }));
    return { replies, numNodes: members.length };
  }

  async keyringList() {
    if (!this.keyring.enabled) throw Object.assign(new Error('Gossip encryption is not enabled'), { status: 500 });
    const { replies, numNodes } = await this.keyringFanout('list');
    const keys = {};
    const primary = {};
    for (const r of replies) {
      for (const k of r.keys ?? []) keys[k] = (keys[k] ?? 0) + 1;
      if (r.primary) primary[r.primary] = (primary[r.primary] ?? 0) + 1;
    }
    const lan = { WAN: false, Datacenter: this.rt.datacenter, Segment: '', Partition: '', Keys: keys, PrimaryKeys: primary, NumNodes: numNodes, Messages: {} };
    if (!this.isServer) return [lan];
    const servers = replies.filter((r) => isServerMember(this.gossip.get(r.node) ?? {}, this.rt.datacenter));
    const wk = {}; const wp = {};
    for (const r of servers) { for (const k of r.keys ?? []) wk[k] = (wk[k] ?? 0) + 1; if (r.primary) wp[r.primary] = (wp[r.primary] ?? 0) + 1; }
    return [{ WAN: true, Datacenter: '', Segment: '', Partition: '', Keys: wk, PrimaryKeys: wp, NumNodes: servers.length, Messages: {} }, lan];
  }

  async keyringOp(op, key) {
    if (!this.keyring.enabled) throw Object.assign(new Error('Gossip encryption is not enabled'), { status: 500 });
    if (!key) throw Object.assign(new Error('Key is required'), { status: 400 });
    const { replies, numNodes } = await this.keyringFanout(op, key);
    // As serf's KeyManager answers per pool (servers: WAN, then LAN) and Consul's
    // keyringErrorsOrNil joins them with go-multierror: "<pool> error: <serf error>", then
    // "<node>: <message>" for each member that reported a failure.
    const pools = [];
    // WAN members are named node.datacenter.
    if (this.isServer) {
      const servers = replies.filter((r) => isServerMember(this.gossip.get(r.node) ?? {}, this.rt.datacenter));
      pools.push({ name: 'WAN', replies: servers.map((r) => ({ ...r, node: `${r.node}.${this.rt.datacenter}` })) });
    }
    pools.push({ name: `${this.rt.datacenter} (LAN)`, replies, numNodes });
    const errors = [];
    for (const pool of pools) {
      const n = pool.numNodes ?? pool.replies.length;
      const answered = pool.replies.filter((r) => !r.noReply);
      const failed = answered.filter((r) => !r.ok);
      if (failed.length) errors.push(`${pool.name} error: ${failed.length}/${n} nodes reported failure`, ...failed.map((r) => `${r.node}: ${r.error}`));
      else if (answered.length !== n) errors.push(`${pool.name} error: ${answered.length}/${n} nodes reported success`);
    }
    if (errors.length) {
      const text = errors.length === 1 ? `1 error occurred:\n\t* ${errors[0]}\n\n` : `${errors.length} errors occurred:\n\t${errors.map((e) => `* ${e}`).join('\n\t')}\n\n`;
      throw Object.assign(new Error(text), { status: 500 });
    }
    return {};
  }
}

export async function runAgent(argv) {
  let flags;
  let rt;
  let tlsMaterial;
  try {
    flags = parseAgentFlags(argv);
    if (flags.dev) throw new ConfigError('-dev mode is not supported by the Consul stand-in');
    rt = loadAgentConfig(flags);
    // Checked when the agent starts (NewBaseDeps, NewACLResolver), not by `consul validate`.
    const aclError = aclStartError(rt.acl);
    if (aclError) throw new ConfigError(aclError);
    tlsMaterial = loadTls(rt.tls);
  } catch (e) {
    if (!(e instanceof ConfigError) && !(e instanceof TlsLoadError)) throw e;
    process.stderr.write(`==> ${e.message}${e.message.endsWith('\n') ? '' : '\n'}`);
    return 1;
  }
  const agent = new Agent(rt, flags, tlsMaterial);
  agent.handleSignals();
  try {
    await agent.start();
  } catch (e) {
    process.stderr.write(`==> Error starting agent: ${e.code === 'EADDRINUSE' ? `listen tcp ${e.address}:${e.port}: bind: address already in use` : e.code === 'EADDRNOTAVAIL' ? `listen tcp ${e.address}:${e.port}: bind: cannot assign requested address` : e.message}\n`);
    agent.shutdown(1);
    return 1;
  }
  return null;
}
