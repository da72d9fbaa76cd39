import { readAudit, type AuditLog } from '../audit/audit.js';
import type { Session } from './session.js';

export type HostAuditLog = { host: string; log: AuditLog } | { host: string; error: string };

/** The latest `lines` audit entries of every host the session's limit selects, read in parallel. */
export async function readAuditLogs(session: Session, lines: number): Promise<HostAuditLog[]> {
  const inventory = await session.load({ consul: false });
  return Promise.all(
    session.hosts().map(async (host): Promise<HostAuditLog> => {
      const path = inventory.hosts.get(host)?.vars['drover_audit_log'];
      try {
        const log = await readAudit(await session.connections.get(host), {
          lines,
          ...(typeof path === 'string' ? { path } : {}),
        });
        return { host, log };
      } catch (err) {
        return { host, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
}
