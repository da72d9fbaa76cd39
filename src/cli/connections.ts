import type { Host, Inventory } from '../inventory/types.js';
import { connect } from '../ssh/node-ssh-transport.js';
import type { Transport } from '../ssh/transport.js';
import { connectionSpec, type ConnectionDefaults } from './connection.js';

/**
 * One SSH connection per host for the whole command, opened on first use and shared by the
 * playbook run and any checks after it; `closeAll` ends them all.
 */
export class Connections {
  readonly #open = new Map<string, Promise<Transport>>();
  constructor(
    private readonly inventory: Inventory,
    private readonly defaults: ConnectionDefaults,
  ) {}

  get(host: Host | string): Promise<Transport> {
    const h = typeof host === 'string' ? this.inventory.hosts.get(host) : host;
    if (!h) return Promise.reject(new Error(`no host ${String(host)} in the inventory`));
    let t = this.#open.get(h.name);
    if (!t) {
      t = connect(connectionSpec(h, this.defaults));
      // A failed connection is not cached: a later caller may try again.
      t.catch(() => this.#open.delete(h.name));
      this.#open.set(h.name, t);
    }
    return t;
  }

  /**
   * The same connection for a caller that closes what it is given (the runner closes its
   * transports at the end of a run): closing it is left to `closeAll`, so the lock can still be
   * released and the audit log written after the run.
   */
  async borrow(host: Host | string): Promise<Transport> {
    const t = await this.get(host);
    const tcp = t.tcpExchange?.bind(t);
    return {
      host: t.host,
      exec: (cmd, options) => t.exec(cmd, options),
      http: (request) => t.http(request),
      ...(tcp && { tcpExchange: tcp }),
      close: async () => undefined,
    };
  }

  async closeAll(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(all.map((t) => t.then((c) => c.close()).catch(() => undefined)));
  }
}
