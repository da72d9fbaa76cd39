// The WAN pool: every server of every datacenter gossips on serf_wan (8302) under the name
// `<node>.<datacenter>`, as Consul's servers do. It is what `consul members -wan` lists, what
// `retry_join_wan` / `consul join -wan` join, and how a server finds a server of another
// datacenter to forward a `?dc=` request (or a `NAME.service.DC.consul` lookup) to.
import { Gossip } from './gossip.mjs';
import { formatDuration } from './duration.mjs';
import { multiError } from './config.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class WanPool {
  constructor({ rt, tags, keyring, logger }) {
    this.rt = rt;
    this.logger = logger;
    this.stopping = false;
    this.gossip = new Gossip({
      self: { name: `${rt.nodeName}.${rt.datacenter}`, addr: rt.advertiseAddr, port: rt.ports.serf_wan, tags, services: [] },
      bindAddr: rt.bindAddr, keyring, logger, logName: 'agent.server.serf.wan',
    });
  }

  async start() {
    await this.gossip.start();
  }

  stop() {
    this.stopping = true;
    this.gossip.stop();
  }

  list() { return this.gossip.list(); }

  /** Alive servers of `dc` in the WAN pool. */
  serversIn(dc) {
    return this.gossip.alive().filter((m) => m.tags?.role === 'consul' && m.tags?.dc === dc);
  }

  /** Every datacenter the pool knows, own first, then by name (as /v1/catalog/datacenters sorts by distance). */
  datacenters() {
    const others = new Set(this.gossip.list().filter((m) => m.status !== 'left').map((m) => m.tags?.dc).filter(Boolean));
    others.delete(this.rt.datacenter);
    return [this.rt.datacenter, ...[...others].sort()];
  }

  async join(targets) {
    this.logger.info('agent', '(WAN) joining', { wan_addresses: targets });
    const { joined, errors } = await this.gossip.join(targets, this.rt.ports.serf_wan);
    if (joined > 0) this.logger.info('agent', '(WAN) joined', { number_of_nodes: joined });
    else this.logger.warn('agent', "(WAN) couldn't join", { number_of_nodes: 0, error: multiError(errors) });
    return { joined, errors };
  }

  /** `retry_join_wan`, retried every `retry_interval_wan` (at most `retry_max_wan` times when set). */
  async retryJoin() {
    const rt = this.rt;
    const targets = rt.retryJoinWan.filter((t) => !t.startsWith('provider='));
    if (!targets.length) return;
    this.logger.info('agent', 'Joining cluster...', { cluster: 'WAN' });
    for (let attempt = 1; !this.stopping; attempt++) {
      const { joined } = await this.join(targets);
      if (this.stopping) return;
      if (joined > 0) { this.logger.info('agent', 'Join cluster completed. Synced with initial agents', { cluster: 'WAN', num_agents: joined }); return; }
      if (rt.retryMaxWan > 0 && attempt >= rt.retryMaxWan) { this.logger.error('agent', 'max join retry exhausted, exiting', { cluster: 'WAN' }); return; }
      this.logger.warn('agent', 'Join cluster failed, will retry', { cluster: 'WAN', retry_interval: formatDuration(rt.retryIntervalWanMs), error: 'No servers to join' });
      await sleep(rt.retryIntervalWanMs);
    }
  }

  /**
   * Consul's flood join: a server joins every server of its own datacenter it sees in the LAN
   * pool to the WAN pool as well, so `members -wan` lists them without any retry_join_wan.
   */
  floodJoin(lanMembers) {
    if (this.stopping || this.flooding) return;
    const missing = lanMembers.filter((m) => m.status === 'alive' && m.tags?.role === 'consul' && m.tags?.dc === this.rt.datacenter
      && m.addr !== this.rt.advertiseAddr && this.gossip.get(`${m.name}.${this.rt.datacenter}`)?.status !== 'alive');
    if (!missing.length) return;
    this.flooding = true;
    this.gossip.join(missing.map((m) => `${m.addr}:${m.tags.wan_join_port ?? 8302}`), this.rt.ports.serf_wan)
      .catch(() => undefined)
      .finally(() => { this.flooding = false; });
  }

  /** Graceful leave of the WAN pool (servers leave both pools on `consul leave`). */
  async leave() {
    await this.gossip.leave();
  }
}
