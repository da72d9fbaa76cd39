// LAN membership in the spirit of serf/memberlist, kept small: every member sends its view of
// the member table to every other member over UDP a few times a second; silence for
// failTimeoutMs marks a member failed. Incarnation numbers settle conflicts (a member refutes
// a "failed" or "left" rumour about itself by bumping its incarnation). Joins and keyring
// operations use TCP on the same port. Every frame is sealed with the gossip keyring.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { exchange, frame, readFrames } from './rpc.mjs';

const RANK = { alive: 0, failed: 1, left: 2 };
export const SERF_STATUS_CODE = { alive: 1, leaving: 2, left: 3, failed: 4 };

export const GOSSIP_TIMING = {
  syncIntervalMs: 400,
  // Long enough to ride out event-loop stalls on a loaded two-core machine, short enough
  // that a killed member shows as failed "within a few seconds".
  failTimeoutMs: 3000,
};

export class Gossip extends EventEmitter {
  constructor({ self, bindAddr, keyring, logger, logName, timing = GOSSIP_TIMING }) {
    super();
    this.timing = timing;
    this.bindAddr = bindAddr;
    this.keyring = keyring;
    this.logger = logger;
    this.logName = logName;
    this.leaving = false;
    this.members = new Map();
    this.pruned = new Map();
    this.memberTime = 1;
    this.eventTime = 1;
    this.tickCount = 0;
    this.me = { ...self, status: 'alive', inc: Date.now(), lastHeard: Date.now() };
    this.members.set(self.name, this.me);
  }

  // --- lifecycle -------------------------------------------------------------------------

  async start() {
    this.udp = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    this.udp.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
    this.udp.on('error', (e) => this.logger.error(this.logName, 'memberlist: UDP error', { error: e.message }));
    await new Promise((resolve, reject) => {
      this.udp.once('error', reject);
      this.udp.bind(this.me.port, this.bindAddr, () => { this.udp.off('error', reject); resolve(); });
    });
    this.tcp = net.createServer((socket) => this.onStream(socket));
    await new Promise((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(this.me.port, this.bindAddr, () => { this.tcp.off('error', reject); resolve(); });
    });
    this.logger.info(this.logName, `serf: EventMemberJoin: ${this.me.name} ${this.me.addr}`);
    this.timer = setInterval(() => this.tick(), this.timing.syncIntervalMs);
  }

  stop() {
    clearInterval(this.timer);
    this.udp?.close();
    this.tcp?.close();
  }

  // --- views -------------------------------------------------------------------------------

  list() { return [...this.members.values()]; }
  get(name) { return this.members.get(name); }
  alive() { return this.list().filter((m) => m.status === 'alive'); }
  wire(m) { return { name: m.name, addr: m.addr, port: m.port, tags: m.tags, status: m.status, inc: m.inc, services: m.services ?? [] }; }

  updateSelf(patch) {
    Object.assign(this.me, patch);
    this.me.inc += 1;
    this.memberTime++;
    this.emit('change', this.me, this.me.status, this.me.status);
  }

  // --- sending -------------------------------------------------------------------------------

  send(member, msg) {
    const buf = this.keyring.seal(msg);
    this.udp.send(buf, member.port, member.addr, () => {});
  }

  syncMessage() {
    return { t: 'sync', from: this.wire(this.me), members: this.list().map((m) => this.wire(m)) };
  }

  tick() {
    this.tickCount++;
    const now = Date.now();
    const msg = this.syncMessage();
    for (const m of this.members.values()) {
      if (m === this.me || m.status === 'left') continue;
      // Failed members are still tried now and then, so a member that comes back is noticed.
      if (m.status === 'failed' && this.tickCount % 4 !== 0) continue;
      this.send(m, msg);
      if (m.status === 'alive' && now - m.lastHeard > this.timing.failTimeoutMs) {
        this.logger.info(this.logName, `memberlist: Suspect ${m.name} has failed, no acks received`);
        this.setStatus(m, 'failed', m.inc);
      }
    }
  }

  // --- receiving -----------------------------------------------------------------------------

  onPacket(buf, rinfo) {
    let msg;
    try { msg = this.keyring.open(buf); } catch (e) {
      this.logger.limited(`udp:${rinfo.address}:${e.message}`, 10000, 'error', this.logName,
        `memberlist: Decrypt packet failed: ${e.message}`, { from: `${rinfo.address}:${rinfo.port}` });
      return;
    }
    if (this.leaving && msg.t !== 'force') return;
    if (msg.t === 'sync') this.onSync(msg);
    else if (msg.t === 'force') this.applyForceLeave(msg.node, msg.prune, msg.inc);
    else if (msg.t === 'leave') this.mergeEntry(msg.from, true);
  }

  onSync(msg) {
    const before = this.members.get(msg.from.name);
    // Written off: failed, or left because someone force-left it (autopilot's dead-server
    // cleanup during a partition). Serf's push-pull is both ways, so such a member that still
    // talks to us hears our view of it at once and refutes it (a live node refutes a leave
    // intent about itself), rejoining as Consul's agents do once a partition heals.
    const wasWrittenOff = before?.status === 'failed' || before?.status === 'left';
    this.mergeEntry(msg.from, true);
    for (const e of msg.members) if (e.name !== msg.from.name) this.mergeEntry(e, false);
    const now = this.members.get(msg.from.name);
    if (wasWrittenOff && now) this.send(now, this.syncMessage());
  }

  mergeEntry(e, direct) {
    if (e.name === this.me.name) {
      if (e.status !== 'alive' && e.inc >= this.me.inc && !this.leaving) {
        this.me.inc = e.inc + 1;
        this.logger.warn(this.logName, `memberlist: Refuting a ${e.status === 'left' ? 'dead' : 'suspect'} message (from: ${e.name})`);
      }
      return;
    }
    const local = this.members.get(e.name);
    if (!local) {
      const tomb = this.pruned.get(e.name);
      if (tomb !== undefined && tomb >= e.inc) return;
      // Failed and left members are learned too: a new member sees the ghosts Consul would show.
      this.pruned.delete(e.name);
      const m = { ...e, lastHeard: Date.now() };
      this.members.set(e.name, m);
      this.memberTime++;
      this.logEvent(m, null);
      this.emit('change', m, null, m.status);
      return;
    }
    if (direct && e.status === 'alive') local.lastHeard = Date.now();
    const newer = e.inc > local.inc || (e.inc === local.inc && RANK[e.status] > RANK[local.status]);
    if (!newer) return;
    const old = local.status;
    const changedMeta = JSON.stringify([local.addr, local.port, local.tags, local.services]) !== JSON.stringify([e.addr, e.port, e.tags, e.services]);
    Object.assign(local, { addr: e.addr, port: e.port, tags: e.tags, services: e.services, inc: e.inc, status: e.status });
    if (e.status === 'alive' && old !== 'alive') local.lastHeard = Date.now();
    if (old !== e.status) {
      this.memberTime++;
      this.logEvent(local, old);
      this.emit('change', local, old, e.status);
    } else if (changedMeta) {
      this.logger.info(this.logName, `serf: EventMemberUpdate: ${local.name}`);
      this.emit('change', local, old, e.status);
    }
  }

  setStatus(m, status, inc) {
    const old = m.status;
    m.status = status;
    m.inc = inc;
    this.memberTime++;
    this.logEvent(m, old);
    this.emit('change', m, old, status);
  }

  logEvent(m, old) {
    const ev = { alive: 'EventMemberJoin', failed: 'EventMemberFailed', left: 'EventMemberLeave' }[m.status];
    if (old === null && m.status !== 'alive') return;
    this.logger.info(this.logName, `serf: ${ev}: ${m.name} ${m.addr}`);
  }

  // --- join (TCP push/pull) -------------------------------------------------------------------

  onStream(socket) {
    socket.on('error', () => {});
    socket.setTimeout(3000, () => socket.destroy());
    readFrames(socket, (body) => {
      let reply;
      try {
        const msg = this.keyring.open(body);
        reply = this.onStreamMessage(msg);
      } catch (e) {
        this.logger.limited(`tcp:${socket.remoteAddress}:${e.message}`, 10000, 'error', this.logName,
          `memberlist: failed to receive: ${e.message}`, { from: `${socket.remoteAddress}:${socket.remotePort}` });
        reply = { t: 'error', error: e.message };
      }
      socket.end(frame(this.keyring.seal(reply)));
    });
  }

  onStreamMessage(msg) {
    if (msg.t === 'join') {
      this.mergeEntry(msg.from, true);
      for (const e of msg.members) if (e.name !== msg.from.name) this.mergeEntry(e, false);
      return { t: 'state', members: this.list().map((m) => this.wire(m)) };
    }
    if (msg.t === 'keyring') return { t: 'keyring', ...this.emitKeyring(msg) };
    throw new Error(`unknown stream message ${msg.t}`);
  }

  emitKeyring(msg) {
    const out = { ok: true, error: '', keys: [] };
    this.emit('keyring', msg, out);
    return out;
  }

  async resolve(target, defaultPort) {
    let host = target;
    let port = defaultPort;
    const m = /^(.*):(\d+)$/.exec(target);
    if (m && !target.includes('::')) { host = m[1]; port = Number(m[2]); }
    if (net.isIP(host)) return [{ host, port }];
    const addrs = await dns.promises.lookup(host, { all: true, family: 4 });
    return addrs.map((a) => ({ host: a.address, port }));
  }

  /** Joins through each target; returns { joined, errors } like serf.Join. */
  async join(targets, defaultPort) {
    let joined = 0;
    const errors = [];
    for (const target of targets) {
      let addrs;
      try { addrs = await this.resolve(target, defaultPort); } catch (e) {
        errors.push(`Failed to resolve ${target}: lookup ${target}: ${e.code === 'ENOTFOUND' ? 'no such host' : e.message}`);
        continue;
      }
      for (const { host, port } of addrs) {
        if (host === this.me.addr && port === this.me.port) { joined++; continue; }
        try {
          const reply = this.keyring.open(await exchange(host, port, this.keyring.seal({ t: 'join', from: this.wire(this.me), members: this.list().map((m) => this.wire(m)) }), 2000));
          if (reply.t === 'error') throw new Error(reply.error);
          for (const e of reply.members) this.mergeEntry(e, false);
          const peer = reply.members.find((e) => e.addr === host && e.port === port);
          if (peer) { const local = this.members.get(peer.name); if (local) local.lastHeard = Date.now(); }
          joined++;
        } catch (e) {
          errors.push(`Failed to join ${host}:${port}: ${e.message}`);
        }
      }
    }
    if (joined > 0) {
      // Push our state to everyone we just learned about, so they know us before their timers run.
      const msg = this.syncMessage();
      for (const m of this.alive()) if (m !== this.me) this.send(m, msg);
    }
    return { joined, errors };
  }

  // --- leaving ---------------------------------------------------------------------------------

  /** Graceful leave: announce "left" to every alive member a few times, as serf does. */
  async leave() {
    this.leaving = true;
    this.me.inc += 1;
    this.me.status = 'left';
    this.logger.info(this.logName, 'serf: EventMemberLeave: ' + `${this.me.name} ${this.me.addr}`);
    for (let round = 0; round < 3; round++) {
      const msg = { t: 'leave', from: this.wire(this.me) };
      for (const m of this.members.values()) if (m !== this.me && m.status !== 'left') this.send(m, msg);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** `consul force-leave [-prune]`: failed -> left, -prune drops it from the list altogether. */
  forceLeave(name, prune) {
    const m = this.members.get(name);
    if (!m) throw new Error(`agent: No node found with name '${name}'`);
    const msg = { t: 'force', node: name, prune, inc: m.inc };
    this.applyForceLeave(name, prune, m.inc);
    for (const other of this.members.values()) if (other !== this.me && other.status === 'alive') this.send(other, msg);
  }

  applyForceLeave(name, prune, inc) {
    if (name === this.me.name) {
      // A live agent answers a force-leave about itself by refuting it, so it stays a member.
      if (!this.leaving && inc >= this.me.inc) this.me.inc = inc + 1;
      return;
    }
    const m = this.members.get(name);
    if (!m || m.inc > inc) return;
    if (m.status === 'alive') return;
    if (prune) {
      this.members.delete(name);
      this.pruned.set(name, m.inc);
      this.memberTime++;
      this.logger.info(this.logName, `serf: EventMemberReap (forced): ${name} ${m.addr}`);
      this.emit('change', m, m.status, 'reaped');
    } else if (m.status !== 'left') {
      this.setStatus(m, 'left', m.inc);
    }
  }

  stats() {
    const list = this.list();
    return {
      coordinate_resets: '0',
      encrypted: String(this.keyring.enabled),
      event_queue: '0',
      event_time: String(this.eventTime),
      failed: String(list.filter((m) => m.status === 'failed').length),
      health_score: '0',
      intent_queue: '0',
      left: String(list.filter((m) => m.status === 'left').length),
      member_time: String(this.memberTime),
      members: String(list.length),
      query_queue: '0',
      query_time: '1',
    };
  }
}
