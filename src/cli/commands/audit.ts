import { formatAuditEntry, readAudit } from '../../audit/audit.js';
import { selectHosts } from '../../inventory/patterns.js';
import { Connections } from '../connections.js';
import { connectionDefaults, loadCheckedInventory, type CommonOptions } from '../context.js';
import type { Output } from '../output.js';
import { UsageError } from '../../errors.js';

/** `drover audit`: the latest audit lines of every host (or --limit), prefixed by the host name. */
export async function auditCommand(o: CommonOptions & { lines?: string }, out: Output): Promise<boolean> {
  const lines = Number(o.lines ?? '20');
  if (!Number.isInteger(lines) || lines < 1 || lines > 10000)
    throw new UsageError('--lines must be a whole number from 1 to 10000');
  const inventory = await loadCheckedInventory(o, { consul: false, warn: out.warn });
  const hosts = o.limit ? selectHosts(inventory, o.limit) : [...inventory.hosts.keys()];
  const connections = new Connections(inventory, connectionDefaults(o));
  let allRead = true;
  try {
    const logs = await Promise.all(
      hosts.map(async (host) => {
        const path = inventory.hosts.get(host)?.vars['drover_audit_log'];
        try {
          return {
            host,
            log: await readAudit(await connections.get(host), {
              lines,
              ...(typeof path === 'string' ? { path } : {}),
            }),
          };
        } catch (err) {
          allRead = false;
          return { host, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    const width = Math.max(...hosts.map((h) => h.length));
    for (const l of logs) {
      if ('error' in l) out.result.write(`${l.host.padEnd(width)}  (not read: ${l.error})\n`);
      else if (l.log.entries.length === 0) out.result.write(`${l.host.padEnd(width)}  (no audit entries)\n`);
      else
        for (const e of l.log.entries) out.result.write(`${l.host.padEnd(width)}  ${formatAuditEntry(e)}\n`);
    }
    return allRead;
  } finally {
    await connections.closeAll();
  }
}
