import type { Host, Inventory } from '../inventory/types.js';
import { connect } from '../ssh/node-ssh-transport.js';
import type { Transport } from '../ssh/transport.js';
import { connectionSpec, type ConnectionDefaults } from './connection-spec.js';

/** How a host's one connection is opened: SSH in drover, a scripted transport in tests. */
export type OpenTransport = (host: Host) => Promise<Transport>;

export const openSsh =
  (defaults: ConnectionDefaults): OpenTransport =>
  (host) =>
    connect(connectionSpec(host, defaults));

/** What the lock, the audit log and the checks need of the pool: a host's shared connection. */
export interface HostConnections {
  get(host: Host | string): Promise<Transport>;
}

/**
 * One connection per host for the whole session, opened on first use and shared by the
 * playbook run, the lock, the audit log and any checks after it; `closeAll` ends them all.
 */
export class ConnectionPool implements HostConnections {
  readonly #open = new Map<string, Promise<Transport>>();
  constructor(
    private readonly inventory: Inventory,
    private readonly openTransport: OpenTransport,
  ) {}

  get(host: Host | string): Promise<Transport> {
    const h = typeof host === 'string' ? this.inventory.hosts.get(host) : host;
    if (!h) return Promise.reject(new Error(`no host ${String(host)} in the inventory`));
    let t = this.#open.get(h.name);
    if (!t) {
      t = this.openTransport(h);
      // A failed connection is not cached: a later caller may try again.
      t.catch(() => this.#open.delete(h.name));
      this.#open.set(h.name, t);
    }
    return t;
  }

  async closeAll(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(all.map((t) => t.then((c) => c.close()).catch(() => undefined)));
  }
}
