import { UsageError } from '../errors.js';
import { lockSites, type LockSite } from '../lock/lock.js';
import { lockDir } from './deploy-lock.js';
import type { Session } from './session.js';

export interface DeployLockSite {
  site: LockSite;
  /** The lock host's `drover_lock_dir`, when it sets one. */
  dir?: string;
}

/** Where the inventory's deploy locks live: one per datacenter, each on its first server. */
export async function deployLockSites(session: Session): Promise<DeployLockSite[]> {
  const inventory = await session.load({ consul: false });
  const sites = lockSites(inventory);
  if (sites.length === 0) throw new UsageError('the inventory has no host to hold a lock');
  return sites.map((site) => {
    const dir = lockDir(inventory, site.host);
    return { site, ...(dir ? { dir } : {}) };
  });
}
