// The agent's anti-entropy (Consul's agent/ae + agent/local): it keeps this node's catalog
// entry, services and checks in line with the local definitions. A full sync reads the node's
// catalog state (a leader read), then writes only what differs, one raft write per item:
// node info, each service (with its checks), each stray check; remote leftovers are
// deregistered. A full sync runs when a server becomes known (ServerUp), when the agent or
// default token changes through the API, and every ae_interval (1m) plus a random stagger; a
// failed sync is retried after 15s plus up to 15s more (retryFailIntv), or sooner when a server
// joins. A reload or a check status change asks only for a partial sync (SyncChanges), which
// skips what is in sync, and an item ACLs refused counts as in sync (agent/local/state.go marks
// it so) until the next full sync or until its definition changes.

import { AclError, ANONYMOUS_ID, Authorizer } from './acl-authorizer.mjs';
import { formatDuration } from './duration.mjs';

const LOG = 'agent';
const AE_INTERVAL_MS = 60000;
const RETRY_FAIL_MS = 15000;
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export class AntiEntropy {
  constructor({ agent, logger }) {
    this.agent = agent;
    this.logger = logger;
    this.wanted = false;
    this.wantFull = false;
    this.running = false;
    // What ACLs refused, by item, with the definition it had then: skipped by partial syncs.
    this.refused = new Map();
  }

  start() {
    this.logger.info(LOG, 'started state syncer');
    this.trigger();
  }

  stop() { this.stopped = true; clearTimeout(this.timer); }

  /** Asks for a sync now (coalesced with one that is running); full unless told partial. */
  trigger({ full = true } = {}) {
    if (this.stopped) return;
    this.wanted = true;
    this.wantFull ||= full;
    clearTimeout(this.timer);
    if (!this.running) setImmediate(() => this.run());
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.trigger(), ms);
    this.timer.unref?.();
  }

  async run() {
    if (this.running || this.stopped || !this.wanted) return;
    this.running = true;
    this.wanted = false;
    const full = this.wantFull;
    this.wantFull = false;
    try {
      await this.sync(full);
      if (!this.wanted) this.schedule(AE_INTERVAL_MS + Math.random() * AE_INTERVAL_MS);
    } catch (e) {
      this.logger.error('agent.anti_entropy', 'failed to sync remote state', { error: e.message });
      if (!this.wanted) this.schedule(RETRY_FAIL_MS + Math.random() * RETRY_FAIL_MS);
    } finally {
      this.running = false;
    }
    if (this.wanted) setImmediate(() => this.run());
  }

  local() {
    const a = this.agent;
    const rt = a.rt;
    const node = {
      id: a.id, node: rt.nodeName, address: rt.advertiseAddr, datacenter: rt.datacenter,
      taggedAddresses: { lan: rt.advertiseAddr, lan_ipv4: rt.advertiseAddr, wan: rt.advertiseAddr, wan_ipv4: rt.advertiseAddr },
      meta: { 'consul-network-segment': '', 'consul-version': a.build.version, ...rt.nodeMeta },
    };
    const services = rt.services.map((s) => ({ id: s.id, service: s.name, tags: s.tags, address: s.address, meta: s.meta, port: s.port }));
    // Interval and Timeout as the agent shows them (/v1/agent/checks): display strings.
    const checks = rt.services.flatMap((s) => (s.checks ?? []).map((c) => ({
      checkId: c.id, name: c.name, status: a.checks?.statusOf(c.id) ?? c.status, notes: '', output: '', serviceId: s.id, type: c.type,
      interval: c.intervalMs ? formatDuration(c.intervalMs) : '', timeout: c.type === 'ttl' ? '' : formatDuration(c.timeoutMs),
    })));
    // A node check (no service): maintenance, synced with the token that set it.
    const maint = a.maintenance?.check();
    if (maint) checks.push(maint);
    return { node, services, checks };
  }

  async write(cmd) {
    const r = await this.agent.apply(cmd);
    if (r.status !== 200) throw new Error(r.body);
  }

  /**
   * With ACLs each write needs its token's permission (agent/local/state.go): the node info
   * node:write with the agent token (else the default token); a service and its checks
   * service:write with the service's own `token`, else (services from config files) the
   * config_file_service_registration token, else the default token; a deregistration goes with
   * the agent token, which node:write on this node allows (catalog vetDeregisterWithAuthorizer).
   * A blocked write is logged with the token's AccessorID (never its secret) and skipped. A
   * token the servers do not know (`ACL not found`, e.g. one not created yet) blocks the same
   * way, with an empty AccessorID: state.go handles IsErrNotFound with IsErrPermissionDenied,
   * so the sync still counts as done and nothing is retried before the next full sync.
   */
  async permits(services) {
    if (!this.agent.rt.acl.enabled) return { node: () => true, nodeCheck: () => true, service: () => true, deregister: () => true };
    const alias = (a) => (a.accessor === ANONYMOUS_ID ? 'anonymous token' : a.accessor);
    const authorize = (secret) =>
      this.agent.authorizer(secret).catch((e) => {
        if (e instanceof AclError && e.message === 'ACL not found') return new Authorizer({ accessor: '', defaultPolicy: 'deny' });
        throw e;
      });
    const agentAuthz = await authorize(this.agent.tokens.agentToken());
    const byService = new Map();
    for (const s of services) byService.set(s.id, await authorize(s.token || this.agent.tokens.configFileRegistrationToken()));
    const nodeName = this.agent.rt.nodeName;
    // A node check needs node:write (catalog vetRegisterWithAuthorizer), with its own token, else the agent's.
    const maintToken = this.agent.maintenance?.token() ?? '';
    const nodeCheckAuthz = maintToken ? await authorize(maintToken) : agentAuthz;
    return {
      node: () => agentAuthz.allowed('node', 'write', nodeName) || this.blocked('Node info update blocked by ACLs', { node: this.agent.id, accessorID: alias(agentAuthz) }),
      nodeCheck: (id) => nodeCheckAuthz.allowed('node', 'write', nodeName) || this.blocked('Check registration blocked by ACLs', { check: id, accessorID: alias(nodeCheckAuthz) }),
      service: (id, name, what, field) => {
        const a = byService.get(id);
        return a.allowed('service', 'write', name) || this.blocked(what, { [field[0]]: field[1], accessorID: alias(a) });
      },
      deregister: (id, name) =>
        agentAuthz.allowed('node', 'write', nodeName) || agentAuthz.allowed('service', 'write', name) ||
        this.blocked('Service deregistration blocked by ACLs', { service: id, accessorID: alias(agentAuthz) }),
    };
  }

  /**
   * Whether an item may be written now: not when a partial sync finds it refused before with
   * the same definition; a refusal now is remembered.
   */
  attempt(full, key, definition, allowed) {
    const fingerprint = JSON.stringify(definition);
    if (!full && this.refused.get(key) === fingerprint) return false;
    if (allowed()) { this.refused.delete(key); return true; }
    this.refused.set(key, fingerprint);
    return false;
  }

  blocked(msg, fields) {
    this.logger.warn(LOG, msg, fields);
    return false;
  }

  async sync(full) {
    if (full) this.refused.clear();
    const { node, services, checks } = this.local();
    const allow = await this.permits(this.agent.rt.services);
    const r = await this.agent.query('catalog.nodeState', { name: this.agent.rt.nodeName });
    if (r.status !== 200) throw new Error(r.body);
    const remote = r.body;
    const serviceName = new Map(services.map((s) => [s.id, s.service]));
    const remoteNode = remote.node;
    const nodeInSync = remoteNode && same([remoteNode.id, remoteNode.address, remoteNode.taggedAddresses, remoteNode.meta], [node.id, node.address, node.taggedAddresses, node.meta]);
    // A blocked node update is skipped and the services are still synced, as syncNodeInfo does.
    if (!nodeInSync && this.attempt(full, 'node', node, allow.node)) {
      await this.write({ type: 'register', node });
      this.logger.info(LOG, 'Synced node info');
    }
    const remoteServices = new Map(remote.services.map((s) => [s.id, s]));
    const remoteChecks = new Map(remote.checks.map((c) => [c.checkId, c]));
    const checkInSync = (c) => {
      const rc = remoteChecks.get(c.checkId);
      return rc && same([rc.name, rc.status, rc.notes ?? '', rc.serviceId, rc.type, rc.interval ?? '', rc.timeout ?? ''], [c.name, c.status, c.notes ?? '', c.serviceId, c.type, c.interval, c.timeout]);
    };
    const synced = new Set();
    for (const s of services) {
      const rs = remoteServices.get(s.id);
      const mine = checks.filter((c) => c.serviceId === s.id);
      const inSync = rs && same([rs.service, rs.tags, rs.address, rs.meta, rs.port], [s.service, s.tags, s.address, s.meta, s.port]);
      if (inSync && mine.every(checkInSync)) continue;
      if (!this.attempt(full, `service:${s.id}`, [s, mine], () => allow.service(s.id, s.service, 'Service registration blocked by ACLs', ['service', s.id]))) { for (const c of mine) synced.add(c.checkId); continue; }
      await this.write({ type: 'register', node, skipNodeUpdate: true, service: s, checks: mine });
      for (const c of mine) synced.add(c.checkId);
      this.logger.info(LOG, 'Synced service', { service: s.id });
    }
    for (const c of checks) {
      if (synced.has(c.checkId) || checkInSync(c)) continue;
      const allowed = c.serviceId
        ? () => allow.service(c.serviceId, serviceName.get(c.serviceId) ?? '', 'Check registration blocked by ACLs', ['check', c.checkId])
        : () => allow.nodeCheck(c.checkId);
      if (!this.attempt(full, `check:${c.checkId}`, c, allowed)) continue;
      await this.write({ type: 'register', node, skipNodeUpdate: true, checks: [c] });
      this.logger.info(LOG, 'Synced check', { check: c.checkId });
    }
    const wanted = new Set(services.map((s) => s.id));
    for (const id of remoteServices.keys()) {
      // The "consul" service of a server is the leader's to manage.
      if (wanted.has(id) || id === 'consul') continue;
      if (!this.attempt(full, `deregister:${id}`, id, () => allow.deregister(id, remoteServices.get(id).service))) continue;
      await this.write({ type: 'deregister', node: node.node, serviceId: id });
      this.logger.info(LOG, 'Deregistered service', { service: id });
    }
    const wantedChecks = new Set(checks.map((c) => c.checkId));
    for (const [id, c] of remoteChecks) {
      if (wantedChecks.has(id) || id === 'serfHealth' || (c.serviceId && !wanted.has(c.serviceId))) continue;
      await this.write({ type: 'deregister', node: node.node, checkId: id });
      this.logger.info(LOG, 'Deregistered check', { check: id });
    }
  }
}
