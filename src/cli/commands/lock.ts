import { UsageError } from '../../errors.js';
import { forceReleaseLock, lockSites, lockStatus, type LockSite, type LockState } from '../../lock/lock.js';
import { lockDir, ofDatacenter } from '../deploy-lock.js';
import { Connections } from '../connections.js';
import { confirm } from '../confirm.js';
import { connectionDefaults, loadCheckedInventory, type CommonOptions } from '../context.js';
import type { Output } from '../output.js';

async function withLockSites<T>(
  o: CommonOptions,
  out: Output,
  fn: (c: { connections: Connections; sites: { site: LockSite; dir?: string }[] }) => Promise<T>,
): Promise<T> {
  const inventory = await loadCheckedInventory(o, { consul: false, warn: out.warn });
  const sites = lockSites(inventory);
  if (sites.length === 0) throw new UsageError('the inventory has no host to hold a lock');
  const connections = new Connections(inventory, connectionDefaults(o));
  try {
    return await fn({
      connections,
      sites: sites.map((site) => {
        const dir = lockDir(inventory, site.host);
        return { site, ...(dir ? { dir } : {}) };
      }),
    });
  } finally {
    await connections.closeAll();
  }
}

/**
 * `drover lock status`: who holds the deploy lock, since when, for which command; or that it is
 * free. With several datacenters, one line per datacenter's lock.
 */
export async function lockStatusCommand(o: CommonOptions, out: Output): Promise<void> {
  await withLockSites(o, out, async ({ connections, sites }) => {
    // Read in parallel: each lock is on its own host.
    const states = await Promise.all(
      sites.map(async ({ site, dir }) => lockStatus(await connections.get(site.host), dir ? { dir } : {})),
    );
    sites.forEach(({ site }, i) => {
      const state = states[i] as LockState;
      const on = `deploy lock${ofDatacenter(site)} on ${site.host}`;
      out.result.write(state.held ? `${on} (${state.dir}): ${state.description}\n` : `${on}: free\n`);
    });
  });
}

/** `drover lock release`: removes a lock left by a run that is gone, after confirmation; each datacenter's in turn. */
export async function lockReleaseCommand(o: CommonOptions & { yes?: boolean }, out: Output): Promise<void> {
  await withLockSites(o, out, async ({ connections, sites }) => {
    for (const { site, dir } of sites) {
      const transport = await connections.get(site.host);
      const state = await lockStatus(transport, dir ? { dir } : {});
      const on = `deploy lock${ofDatacenter(site)} on ${site.host}`;
      if (!state.held) {
        out.result.write(`${on}: already free\n`);
        continue;
      }
      if (!(await confirm(`Release the ${on}, ${state.description}?`, o))) {
        out.result.write(`${site.datacenter !== undefined ? `${on}: ` : ''}left as it is\n`);
        continue;
      }
      await forceReleaseLock(transport, dir ? { dir } : {});
      out.result.write(`${on} released (was ${state.description})\n`);
    }
  });
}
