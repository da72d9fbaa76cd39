// Consul's JSON shapes for catalog, health and KV reads, built from the state store.
// Everything here is a pure function of the store, so a follower's stale read and the
// leader's read differ exactly by what the follower has not applied yet.

function nodeJson(n) {
  return {
    ID: n.id, Node: n.node, Address: n.address, Datacenter: n.datacenter,
    TaggedAddresses: n.taggedAddresses, Meta: n.meta, CreateIndex: n.createIndex, ModifyIndex: n.modifyIndex,
  };
}

/**
 * structs.HealthCheck: Interval and Timeout are display strings ("" when the check has none),
 * ExposedPort 0 without Expose paths, Definition {} (HealthCheckDefinition's fields are all
 * omitempty, and an agent's own checks register none).
 */
function checkJson(c) {
  return {
    Node: c.node, CheckID: c.checkId, Name: c.name, Status: c.status, Notes: c.notes ?? '', Output: c.output ?? '',
    ServiceID: c.serviceId ?? '', ServiceName: c.serviceName ?? '', ServiceTags: c.serviceTags ?? [], Type: c.type ?? '',
    Interval: c.interval ?? '', Timeout: c.timeout ?? '', ExposedPort: 0, Definition: {},
    CreateIndex: c.createIndex, ModifyIndex: c.modifyIndex,
  };
}

/**
 * What structs.ConnectProxyConfig marshals to for a service that is no proxy: Mode has no
 * omitempty, MeshGateway and Expose are structs (always written), TransparentProxy and AccessLogs
 * are dropped by its MarshalJSON when zero. ServiceConnect (Native, SidecarService) is `{}`.
 */
const proxyJson = () => ({ Mode: '', MeshGateway: {}, Expose: {} });

/** structs.NodeService, as health/service and catalog/node send it (it has no Datacenter field). */
function serviceJson(s) {
  return {
    ID: s.id, Service: s.service, Tags: s.tags, Address: s.address, Meta: s.meta, Port: s.port,
    Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: proxyJson(), Connect: {},
    CreateIndex: s.createIndex, ModifyIndex: s.modifyIndex,
  };
}

export function catalogNodes(store) {
  return store.nodeList().map(nodeJson);
}

export function catalogServices(store) {
  const out = {};
  for (const n of store.nodeList()) {
    for (const s of store.servicesOf(n.node)) out[s.service] = [...new Set([...(out[s.service] ?? []), ...s.tags])].sort();
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// Service names match case-insensitively, as Consul's memdb indexes do.
const named = (name) => (x) => x.service.toLowerCase() === String(name).toLowerCase();

export function catalogService(store, name) {
  const rows = [];
  for (const n of store.nodeList()) {
    for (const s of store.servicesOf(n.node).filter(named(name))) {
      rows.push({
        ID: n.id, Node: n.node, Address: n.address, Datacenter: n.datacenter, TaggedAddresses: n.taggedAddresses, NodeMeta: n.meta,
        ServiceKind: '', ServiceID: s.id, ServiceName: s.service, ServiceTags: s.tags, ServiceAddress: s.address,
        ServiceWeights: { Passing: 1, Warning: 1 }, ServiceMeta: s.meta, ServicePort: s.port,
        ServiceEnableTagOverride: false, ServiceProxy: proxyJson(), ServiceConnect: {},
        CreateIndex: s.createIndex, ModifyIndex: s.modifyIndex,
      });
    }
  }
  return rows;
}

/** `/v1/catalog/node/:name`: the node and its services by ID, or null. */
export function catalogNode(store, name) {
  const n = store.nodes.get(name);
  if (!n) return null;
  return { Node: nodeJson(n), Services: Object.fromEntries(store.servicesOf(name).map((s) => [s.id, serviceJson(s)])) };
}

/** `/v1/health/service/:name`: each instance with its node, the node's checks and its own. */
export function healthService(store, name, passingOnly) {
  const out = [];
  for (const n of store.nodeList()) {
    const checks = store.checksOf(n.node);
    for (const s of store.servicesOf(n.node).filter(named(name))) {
      const mine = checks.filter((c) => !c.serviceId || c.serviceId === s.id);
      if (passingOnly && mine.some((c) => c.status !== 'passing')) continue;
      out.push({ Node: nodeJson(n), Service: serviceJson(s), Checks: mine.map(checkJson) });
    }
  }
  return out;
}

export function healthNode(store, name) {
  return store.checksOf(name).map(checkJson);
}

/** What anti-entropy compares against: this node's catalog entry, services and checks. */
export function nodeState(store, name) {
  return { node: store.nodes.get(name) ?? null, services: store.servicesOf(name), checks: store.checksOf(name) };
}

export function kvEntryJson(e) {
  const out = { LockIndex: e.lockIndex, Key: e.key, Flags: e.flags, Value: e.value };
  if (e.session) out.Session = e.session;
  return { ...out, CreateIndex: e.createIndex, ModifyIndex: e.modifyIndex };
}
