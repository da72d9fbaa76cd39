import type { Vars } from '../../inventory/types.js';
import type { ExpectedNode } from './cluster-model.js';

/** One instance of a service the inventory declares (`consul_services` on a host or group). */
export interface ExpectedService {
  name: string;
  /** The service ID on its node (the name unless `id` is set). */
  id: string;
  port?: number;
  /** Where DNS should point: the service's `address`, else the node's address. */
  address: string;
  host: string;
  nodeName: string;
  datacenter?: string;
}

/**
 * The service instances the inventory declares, per node, from each host's `consul_services`
 * (read from `hostvars` in a play, or from the loaded inventory for `drover verify`). Entries
 * whose name is still an unrendered template are skipped: they cannot be looked up by name.
 */
export function expectedServices(
  nodes: readonly ExpectedNode[],
  varsOf: (host: string) => Vars | undefined,
): ExpectedService[] {
  const out: ExpectedService[] = [];
  for (const node of nodes) {
    const list = varsOf(node.host)?.['consul_services'];
    if (!Array.isArray(list)) continue;
    for (const entry of list as unknown[]) {
      if (entry === null || typeof entry !== 'object') continue;
      const e = entry as Record<string, unknown>;
      const name = plain(e['name']);
      if (!name) continue;
      const s: ExpectedService = {
        name,
        id: plain(e['id']) ?? name,
        address: plain(e['address']) ?? node.address,
        host: node.host,
        nodeName: node.nodeName,
      };
      if (typeof e['port'] === 'number') s.port = e['port'];
      if (node.datacenter !== undefined) s.datacenter = node.datacenter;
      out.push(s);
    }
  }
  return out;
}

const plain = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' && !v.includes('{{') ? v : undefined;
