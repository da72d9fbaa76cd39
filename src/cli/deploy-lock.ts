import type { Inventory } from '../inventory/types.js';
import { currentIdentity } from '../lock/identity.js';
import { createLockDetails } from '../lock/details.js';
import { acquireLock, lockHostName, releaseLock, type LockHandle } from '../lock/lock.js';
import { DROVER_VERSION } from '../paths.js';
import type { Connections } from './connections.js';

/** Where the lock lives for this inventory: the `drover_lock_dir` var of the lock host, if set. */
function lockDir(inventory: Inventory, host: string): string | undefined {
  const dir = inventory.hosts.get(host)?.vars['drover_lock_dir'];
  return typeof dir === 'string' ? dir : undefined;
}

/**
 * The cluster-wide deploy lock, taken before anything on any host changes and released on every
 * way out (success, failure, Ctrl-C). `release()` is safe to call more than once.
 */
export class DeployLock {
  #handle?: LockHandle;
  constructor(
    private readonly inventory: Inventory,
    private readonly connections: Connections,
  ) {}

  async acquire(o: {
    command: string;
    waitSeconds: number;
    secrets: readonly string[];
    signal: AbortSignal;
    onWait: (message: string) => void;
  }): Promise<void> {
    const host = lockHostName(this.inventory);
    if (!host) return;
    const transport = await this.connections.get(host);
    const dir = lockDir(this.inventory, host);
    const details = createLockDetails({
      command: o.command,
      droverVersion: DROVER_VERSION,
      identity: currentIdentity(),
      secrets: o.secrets,
    });
    this.#handle = await acquireLock(transport, details, {
      ...(dir ? { dir } : {}),
      waitSeconds: o.waitSeconds,
      signal: o.signal,
      onWait: (state, waited) => o.onWait(`waiting for the deploy lock (${waited}s): ${state.description}`),
    });
  }

  async release(): Promise<void> {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = undefined;
    const transport = await this.connections.get(handle.host);
    await releaseLock(transport, handle.token, { dir: handle.dir });
  }
}
