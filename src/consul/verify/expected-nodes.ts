import { ConfigError } from '../../errors.js';
import type { Inventory, Vars } from '../../inventory/types.js';
import type { ConsulRole, ExpectedNode } from './cluster-model.js';

export interface ClusterGroups {
  serversGroup?: string;
  clientsGroup?: string;
}

export const DEFAULT_SERVERS_GROUP = 'servers';
export const DEFAULT_CLIENTS_GROUP = 'clients';

/** Every inventory host's vars, as the runner gives them to each task (`hostvars`). */
export const hostvarsOf = (vars: Readonly<Vars>): Record<string, Vars | undefined> =>
  (vars['hostvars'] ?? {}) as Record<string, Vars | undefined>;

/**
 * The cluster the inventory describes, from the `groups` and `hostvars` every task sees (whole
 * inventory, even under --limit). A host in both groups is a configuration error: it cannot be
 * both a server and a client. A missing clients group just means a servers-only cluster.
 */
export function expectedNodesFromVars(vars: Vars, groups: ClusterGroups = {}): ExpectedNode[] {
  const serversGroup = groups.serversGroup ?? DEFAULT_SERVERS_GROUP;
  const clientsGroup = groups.clientsGroup ?? DEFAULT_CLIENTS_GROUP;
  const groupMap = (vars['groups'] ?? {}) as Record<string, readonly string[] | undefined>;
  const hostvars = hostvarsOf(vars);
  const servers = groupMap[serversGroup];
  if (!servers || servers.length === 0) {
    throw new ConfigError([
      { file: 'inventory', message: `consul_verify: group "${serversGroup}" has no hosts` },
    ]);
  }
  const clients = groupMap[clientsGroup] ?? [];
  return build(servers, clients, (h) => hostvars[h], serversGroup, clientsGroup);
}

/** The same, straight from a loaded Inventory (for `drover verify`, outside any play). */
export function expectedNodesFromInventory(inventory: Inventory, groups: ClusterGroups = {}): ExpectedNode[] {
  const serversGroup = groups.serversGroup ?? DEFAULT_SERVERS_GROUP;
  const clientsGroup = groups.clientsGroup ?? DEFAULT_CLIENTS_GROUP;
  const servers = inventory.groups.get(serversGroup)?.hosts ?? [];
  if (servers.length === 0) {
    throw new ConfigError([
      { file: inventory.file, message: `group "${serversGroup}" has no hosts; nothing to verify` },
    ]);
  }
  const clients = inventory.groups.get(clientsGroup)?.hosts ?? [];
  return build(
    servers,
    clients,
    (h) => {
      const host = inventory.hosts.get(h);
      return host ? { address: host.address, ...host.vars } : undefined;
    },
    serversGroup,
    clientsGroup,
  );
}

function build(
  servers: readonly string[],
  clients: readonly string[],
  varsOf: (host: string) => Vars | undefined,
  serversGroup: string,
  clientsGroup: string,
): ExpectedNode[] {
  const both = servers.filter((h) => clients.includes(h));
  if (both.length > 0) {
    throw new ConfigError(
      both.map((h) => ({
        file: 'inventory',
        message: `host "${h}" is in both "${serversGroup}" and "${clientsGroup}"; a Consul agent is a server or a client`,
      })),
    );
  }
  const node = (host: string, role: ConsulRole): ExpectedNode => {
    const v = varsOf(host) ?? {};
    const address = str(v['bind_addr']) ?? str(v['address']);
    if (!address) {
      throw new ConfigError([
        { file: 'inventory', message: `host "${host}" has neither bind_addr nor address` },
      ]);
    }
    const out: ExpectedNode = { host, nodeName: str(v['consul_node_name']) ?? host, address, role };
    const dc = str(v['consul_datacenter']);
    if (dc) out.datacenter = dc;
    const domain = str(v['consul_domain']);
    if (domain) out.domain = domain;
    return out;
  };
  return [...servers.map((h) => node(h, 'server')), ...clients.map((h) => node(h, 'client'))];
}

/** A usable string var; an unrendered template (`{{ ... }}`) counts as unset, as we cannot resolve it here. */
const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' && !v.includes('{{') ? v : undefined;
