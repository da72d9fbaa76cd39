import type { Inventory } from '../inventory/types.js';
import { currentIdentity } from '../lock/identity.js';
import { createLockDetails } from '../lock/details.js';
import { acquireLock, lockSites, releaseLock, type LockHandle, type LockSite } from '../lock/lock.js';
import { DROVER_VERSION } from '../paths.js';
import type { HostConnections } from './connection-pool.js';

/** Where the lock lives for this inventory: the `drover_lock_dir` var of the lock host, if set. */
export function lockDir(inventory: Inventory, host: string): string | undefined {
  const dir = inventory.hosts.get(host)?.vars['drover_lock_dir'];
  return typeof dir === 'string' ? dir : undefined;
}

/** ` of datacenter east` for a lock of one datacenter among several; `` otherwise. */
export const ofDatacenter = (site: LockSite): string =>
  site.datacenter !== undefined ? ` of datacenter ${site.datacenter}` : '';

/**
 * The deploy lock, taken before anything on any host changes and released on every way out
 * (success, failure, Ctrl-C). One lock per datacenter when the inventory describes several
 * (lock.ts's lockSites): taken one after another in the datacenters' inventory order, so two
 * runs cannot deadlock, all of them before anything changes; when one is held by another run,
 * the ones already taken are given back and the run stops (exit 6). `release()` releases every
 * lock taken, and is safe to call more than once.
 */
export class DeployLock {
  #handles: { handle: LockHandle; site: LockSite }[] = [];
  constructor(
    private readonly inventory: Inventory,
    private readonly connections: HostConnections,
  ) {}

  async acquire(o: {
    command: string;
    waitSeconds: number;
    secrets: readonly string[];
    signal: AbortSignal;
    onWait: (message: string) => void;
  }): Promise<void> {
    const sites = lockSites(this.inventory);
    if (sites.length === 0) return;
    const details = createLockDetails({
      command: o.command,
      droverVersion: DROVER_VERSION,
      identity: currentIdentity(),
      secrets: o.secrets,
    });
    // --lock-wait bounds the whole acquisition, not each datacenter's lock.
    const deadline = Date.now() + Math.max(0, o.waitSeconds) * 1000;
    try {
      for (const site of sites) {
        const transport = await this.connections.get(site.host);
        const dir = lockDir(this.inventory, site.host);
        const handle = await acquireLock(transport, details, {
          ...(dir ? { dir } : {}),
          waitSeconds: Math.max(0, (deadline - Date.now()) / 1000),
          signal: o.signal,
          onWait: (state, waited) =>
            o.onWait(`waiting for the deploy lock${ofDatacenter(site)} (${waited}s): ${state.description}`),
        });
        this.#handles.push({ handle, site });
      }
    } catch (err) {
      // Held (or unreachable) further down the list: give back what this run took so far.
      await this.release().catch(() => undefined);
      throw err;
    }
  }

  /** Releases every lock this run holds, the last taken first; tries each even when one fails. */
  async release(): Promise<void> {
    const handles = this.#handles.reverse();
    this.#handles = [];
    const problems: string[] = [];
    for (const { handle, site } of handles) {
      try {
        const transport = await this.connections.get(handle.host);
        await releaseLock(transport, handle.token, { dir: handle.dir });
      } catch (err) {
        problems.push(
          `${handle.host}${ofDatacenter(site)}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
  }
}
