// The replicated state machine (Consul's state store): every server applies the same committed
// raft entries in the same order, so every server holds the same KV pairs and catalog.
// Each table keeps the raft index of its last change; that is what X-Consul-Index reports.
// Writes that change nothing (the same value again) still use a raft index but leave the
// entry's ModifyIndex and the table index alone, as memdb does in Consul.

import { AclTable } from './acl-state.mjs';

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Copies an object without its raft indexes, for "did anything change" comparisons. */
function content(o) {
  if (!o) return o;
  const { createIndex: _c, modifyIndex: _m, ...rest } = o;
  return rest;
}

export class StateStore {
  constructor() {
    this.reset();
  }

  reset() {
    this.kvs = new Map();
    this.tombstones = new Map();
    this.nodes = new Map();
    this.services = new Map();
    this.checks = new Map();
    this.autopilot = null;
    this.acl = new AclTable();
    this.connectCa = null;
    this.index = { kvs: 0, tombstones: 0, nodes: 0, services: 0, checks: 0, autopilot: 0, acl: 0, connectCa: 0 };
  }

  // --- applying committed entries -----------------------------------------------------------

  /** Applies one committed command at raft index idx; returns the command's result. */
  apply(idx, cmd) {
    switch (cmd.type) {
      case 'kvs': return this.applyKvs(idx, cmd);
      case 'register': return this.register(idx, cmd);
      case 'deregister': return this.deregister(idx, cmd);
      case 'autopilot': return this.setAutopilot(idx, cmd.config, cmd.cas);
      // Written once by the first leader with auto_encrypt.allow_tls (or Connect) on.
      case 'connect-ca':
        if (!this.connectCa) {
          this.connectCa = cmd.ca;
          this.index.connectCa = idx;
        }
        return this.connectCa.id;
      case 'acl': {
        const r = this.acl.apply(idx, cmd);
        this.index.acl = idx;
        return r;
      }
      default: throw new Error(`unknown state store command ${cmd.type}`);
    }
  }

  applyKvs(idx, { op, key, value = null, flags = 0, cas = 0, session = '' }) {
    const cur = this.kvs.get(key);
    switch (op) {
      case 'set': this.kvSet(idx, key, value, flags); return true;
      case 'cas':
        if (cas === 0 ? cur !== undefined : cur?.modifyIndex !== cas) return false;
        this.kvSet(idx, key, value, flags);
        return true;
      case 'delete': this.kvDelete(idx, key); return true;
      case 'delete-cas':
        if (!cur) return true;
        if (cur.modifyIndex !== cas) return false;
        this.kvDelete(idx, key);
        return true;
      // The stand-in has no sessions, so no session can take or hold a lock (kvsLockTxn's errors).
      case 'lock': throw new Error(session ? `invalid session ${JSON.stringify(session)}` : 'missing session');
      case 'unlock':
        if (!session) throw new Error('missing session');
        return false;
      case 'delete-tree':
        for (const k of [...this.kvs.keys()]) if (k.startsWith(key)) this.kvDelete(idx, k);
        return true;
      default: throw new Error(`unknown KV operation ${op}`);
    }
  }

  kvSet(idx, key, value, flags) {
    const cur = this.kvs.get(key);
    if (cur && cur.value === value && cur.flags === flags) return;
    this.kvs.set(key, { key, flags, value, lockIndex: cur?.lockIndex ?? 0, session: cur?.session ?? '', createIndex: cur?.createIndex ?? idx, modifyIndex: idx });
    this.tombstones.delete(key);
    this.index.kvs = idx;
  }

  kvDelete(idx, key) {
    if (!this.kvs.delete(key)) return;
    this.tombstones.set(key, idx);
    this.index.kvs = idx;
    this.index.tombstones = idx;
  }

  /** Consul's RegisterRequest: node (unless skipNodeUpdate), an optional service, checks. */
  register(idx, { node, skipNodeUpdate, service, checks = [] }) {
    const existing = this.nodes.get(node.node);
    if (!skipNodeUpdate) {
      const next = { id: node.id ?? existing?.id ?? '', node: node.node, address: node.address, datacenter: node.datacenter, taggedAddresses: node.taggedAddresses ?? {}, meta: node.meta ?? {} };
      if (!existing || !same(content(existing), next)) {
        this.nodes.set(node.node, { ...next, createIndex: existing?.createIndex ?? idx, modifyIndex: idx });
        this.index.nodes = idx;
      }
    } else if (!existing) {
      throw new Error(`Missing node registration for ${node.node}`);
    }
    if (service) {
      const table = this.table(this.services, node.node);
      const cur = table.get(service.id);
      if (!cur || !same(content(cur), service)) {
        table.set(service.id, { ...service, createIndex: cur?.createIndex ?? idx, modifyIndex: idx });
        this.index.services = idx;
      }
    }
    for (const c of checks) {
      const svc = c.serviceId ? this.services.get(node.node)?.get(c.serviceId) : undefined;
      const next = { ...c, node: node.node, serviceName: svc?.service ?? '', serviceTags: svc?.tags ?? [] };
      const table = this.table(this.checks, node.node);
      const cur = table.get(c.checkId);
      if (!cur || !same(content(cur), next)) {
        table.set(c.checkId, { ...next, createIndex: cur?.createIndex ?? idx, modifyIndex: idx });
        this.index.checks = idx;
      }
    }
    return null;
  }

  deregister(idx, { node, serviceId, checkId }) {
    if (checkId) {
      if (this.checks.get(node)?.delete(checkId)) this.index.checks = idx;
      return null;
    }
    if (serviceId) {
      if (this.services.get(node)?.delete(serviceId)) this.index.services = idx;
      for (const [id, c] of this.checks.get(node) ?? []) {
        if (c.serviceId === serviceId) { this.checks.get(node).delete(id); this.index.checks = idx; }
      }
      return null;
    }
    if (this.nodes.delete(node)) this.index.nodes = idx;
    if (this.services.delete(node)) this.index.services = idx;
    if (this.checks.delete(node)) this.index.checks = idx;
    return null;
  }

  /** With `cas`, only when it is the stored ModifyIndex (state.AutopilotCASConfig); false otherwise. */
  setAutopilot(idx, config, cas) {
    if (cas !== undefined && cas !== (this.autopilot?.modifyIndex ?? 0)) return false;
    this.autopilot = { config, createIndex: this.autopilot?.createIndex ?? idx, modifyIndex: idx };
    this.index.autopilot = idx;
    return true;
  }

  table(map, node) {
    let t = map.get(node);
    if (!t) { t = new Map(); map.set(node, t); }
    return t;
  }

  // --- KV reads (indexes as agent/consul/state/kvs.go computes them) --------------------------

  kvsMaxIndex() { return Math.max(this.index.kvs, this.index.tombstones); }

  kvGet(key) {
    const entry = this.kvs.get(key);
    return { index: entry ? entry.modifyIndex : this.kvsMaxIndex() || 1, entries: entry ? [entry] : [] };
  }

  kvList(prefix) {
    const entries = [...this.kvs.values()].filter((e) => e.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1));
    let lindex = 0;
    if (prefix === '') lindex = this.kvsMaxIndex();
    else {
      for (const e of entries) lindex = Math.max(lindex, e.modifyIndex);
      for (const [k, i] of this.tombstones) if (k.startsWith(prefix)) lindex = Math.max(lindex, i);
    }
    return { index: lindex || this.kvsMaxIndex() || 1, entries };
  }

  kvKeys(prefix, separator) {
    const { index, entries } = this.kvList(prefix);
    const keys = [];
    for (const e of entries) {
      const cut = separator ? e.key.indexOf(separator, prefix.length) : -1;
      const k = cut >= 0 ? e.key.slice(0, cut + separator.length) : e.key;
      if (keys[keys.length - 1] !== k) keys.push(k);
    }
    return { index, keys };
  }

  // --- catalog reads -------------------------------------------------------------------------

  nodeList() { return [...this.nodes.values()].sort((a, b) => (a.node < b.node ? -1 : 1)); }
  servicesOf(node) { return [...(this.services.get(node)?.values() ?? [])]; }
  checksOf(node) { return [...(this.checks.get(node)?.values() ?? [])].sort((a, b) => (a.checkId < b.checkId ? -1 : 1)); }
  catalogIndex() { return Math.max(this.index.nodes, this.index.services, this.index.checks) || 1; }

  // --- snapshots ---------------------------------------------------------------------------------

  snapshot() {
    const flat = (map) => [...map].map(([k, t]) => [k, [...t]]);
    return {
      kvs: [...this.kvs.values()], tombstones: [...this.tombstones], nodes: [...this.nodes.values()],
      services: flat(this.services), checks: flat(this.checks), autopilot: this.autopilot, acl: this.acl.snapshot(), connectCa: this.connectCa, index: this.index,
    };
  }

  restore(s) {
    this.reset();
    if (!s) return;
    for (const e of s.kvs) this.kvs.set(e.key, e);
    this.tombstones = new Map(s.tombstones);
    for (const n of s.nodes) this.nodes.set(n.node, n);
    this.services = new Map(s.services.map(([k, t]) => [k, new Map(t)]));
    this.checks = new Map(s.checks.map(([k, t]) => [k, new Map(t)]));
    this.autopilot = s.autopilot;
    this.acl.restore(s.acl);
    this.connectCa = s.connectCa ?? null;
    this.index = { ...this.index, ...s.index };
  }
}
