import { UsageError } from '../../errors.js';
import { forceReleaseLock, lockHostName, lockStatus } from '../../lock/lock.js';
import { Connections } from '../connections.js';
import { confirm } from '../confirm.js';
import { connectionDefaults, loadCheckedInventory, type CommonOptions } from '../context.js';
import type { Output } from '../output.js';

async function withLockHost<T>(
  o: CommonOptions,
  out: Output,
  fn: (c: { connections: Connections; host: string; dir?: string }) => Promise<T>,
): Promise<T> {
  const inventory = await loadCheckedInventory(o, { consul: false, warn: out.warn });
  const host = lockHostName(inventory);
  if (!host) throw new UsageError('the inventory has no host to hold a lock');
  const dir = inventory.hosts.get(host)?.vars['drover_lock_dir'];
  const connections = new Connections(inventory, connectionDefaults(o));
  try {
    return await fn({ connections, host, ...(typeof dir === 'string' ? { dir } : {}) });
  } finally {
    await connections.closeAll();
  }
}

/** `drover lock status`: who holds the deploy lock, since when, for which command; or that it is free. */
export async function lockStatusCommand(o: CommonOptions, out: Output): Promise<void> {
  await withLockHost(o, out, async ({ connections, host, dir }) => {
    const state = await lockStatus(await connections.get(host), dir ? { dir } : {});
    out.result.write(state.held ? `deploy lock on ${state.host} (${state.dir}): ${state.description}\n` : `deploy lock on ${host}: free\n`);
  });
}

/** `drover lock release`: removes a lock left by a run that is gone, after confirmation. */
export async function lockReleaseCommand(o: CommonOptions & { yes?: boolean }, out: Output): Promise<void> {
  await withLockHost(o, out, async ({ connections, host, dir }) => {
    const transport = await connections.get(host);
    const state = await lockStatus(transport, dir ? { dir } : {});
    if (!state.held) {
      out.result.write(`deploy lock on ${host}: already free\n`);
      return;
    }
    if (!(await confirm(`Release the deploy lock on ${state.host}, ${state.description}?`, o))) {
      out.result.write('left as it is\n');
      return;
    }
    await forceReleaseLock(transport, dir ? { dir } : {});
    out.result.write(`deploy lock on ${state.host} released (was ${state.description})\n`);
  });
}
