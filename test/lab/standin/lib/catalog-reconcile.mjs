// The leader's serf -> catalog reconciliation (Consul's leader.go reconcileMember): alive members
// are registered with a passing serfHealth check (servers also with the "consul" service),
// failed members get a critical serfHealth, members that left or were reaped are deregistered.
// Each of those is a raft write, made only when the catalog does not already say so; it runs
// on every member event, after gaining leadership, and every ReconcileInterval (60s).

const LOG = 'agent.server';
const SERF_CHECK = { checkId: 'serfHealth', name: 'Serf Health Status', notes: '', serviceId: '', type: '' };

export class CatalogReconciler {
  constructor({ rt, raft, store, gossip, logger, apply, isServerMember, timing }) {
    Object.assign(this, { rt, raft, store, gossip, logger, apply, isServerMember, timing });
    this.queue = new Map();
  }

  start() {
    this.gossip.on('change', (m, from, to) => this.enqueue(m, to));
  }

  onLeadership(leader) {
    clearInterval(this.timer);
    this.queue.clear();
    if (!leader) return;
    this.timer = setInterval(() => this.reconcileAll(), this.timing.reconcileIntervalMs);
  }

  stop() { clearInterval(this.timer); }

  enqueue(m, status) {
    if (this.raft.state !== 'Leader') return;
    this.queue.set(m.name, { m, status });
    if (this.queue.size === 1) setImmediate(() => this.drain());
  }

  async drain() {
    const items = [...this.queue.values()];
    this.queue.clear();
    for (const { m, status } of items) await this.reconcileMember(m, status);
  }

  async reconcileAll() {
    if (this.raft.state !== 'Leader') return;
    const members = this.gossip.list();
    for (const m of members) await this.reconcileMember(m, m.status);
    // Nodes in the catalog that serf no longer knows were reaped.
    const names = new Set(members.map((m) => m.name));
    for (const n of this.store.nodeList()) {
      if (names.has(n.node) || n.node === this.rt.nodeName) continue;
      await this.deregister(n.node, 'reaped');
    }
  }

  async reconcileMember(m, status) {
    if (this.raft.state !== 'Leader' || m.tags?.dc !== this.rt.datacenter) return;
    try {
      if (status === 'alive') await this.handleAlive(m);
      else if (status === 'failed') await this.handleFailed(m);
      else if (status === 'left' || status === 'reaped') await this.deregister(m.name, status);
    } catch (e) {
      this.logger.error(LOG, 'failed to reconcile member', { member: m.name, error: e.message });
    }
  }

  consulService(m) {
    const version = (m.tags.build ?? '').split(':')[0];
    return {
      id: 'consul', service: 'consul', tags: [], address: '', port: Number(m.tags.port),
      meta: { non_voter: 'false', raft_version: m.tags.raft_vsn ?? '3', read_replica: 'false', serf_protocol_current: '2', serf_protocol_max: '5', serf_protocol_min: '1', version },
    };
  }

  async handleAlive(m) {
    const service = this.isServerMember(m) ? this.consulService(m) : undefined;
    const node = this.store.nodes.get(m.name);
    if (node && node.address === m.addr) {
      const cur = service && this.store.services.get(m.name)?.get('consul');
      const serviceOk = !service || (cur && JSON.stringify(cur.meta) === JSON.stringify(service.meta) && cur.port === service.port);
      const serf = this.store.checks.get(m.name)?.get('serfHealth');
      if (serviceOk && serf?.status === 'passing') return;
    }
    this.logger.info(LOG, 'member joined, marking health alive', { member: m.name, partition: 'default' });
    await this.apply({
      type: 'register',
      node: {
        id: m.tags.id, node: m.name, address: m.addr, datacenter: this.rt.datacenter,
        // An existing entry keeps what the node's own agent registered (tagged addresses, meta).
        taggedAddresses: node?.taggedAddresses ?? {}, meta: node?.meta ?? { 'consul-version': (m.tags.build ?? '').split(':')[0] },
      },
      service,
      checks: [{ ...SERF_CHECK, status: 'passing', output: 'Agent alive and reachable' }],
    });
  }

  async handleFailed(m) {
    if (!this.store.nodes.get(m.name)) return;
    if (this.store.checks.get(m.name)?.get('serfHealth')?.status === 'critical') return;
    this.logger.info(LOG, 'member failed, marking health critical', { member: m.name, partition: 'default' });
    await this.apply({
      type: 'register', skipNodeUpdate: true, node: { node: m.name },
      checks: [{ ...SERF_CHECK, status: 'critical', output: 'Agent not live or unreachable' }],
    });
  }

  async deregister(name, reason) {
    if (name === this.rt.nodeName) {
      this.logger.warn(LOG, 'deregistering self should be done by follower', { name, partition: 'default' });
      return;
    }
    if (!this.store.nodes.get(name)) return;
    this.logger.info(LOG, 'deregistering member', { member: name, partition: 'default', reason });
    await this.apply({ type: 'deregister', node: name });
  }
}
