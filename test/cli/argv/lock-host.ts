import { DEFAULT_LOCK_DIR, readLock, releaseOurLock, takeLock } from '../../../src/lock/commands.js';
import { render } from '../../../src/shell/cmd.js';
import type { RecordingTransport } from '../../../src/ssh/recording-transport.js';

const shown = (cmd: Parameters<typeof render>[0]) => render(cmd, { redact: true });
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const TAKE = shown(takeLock(DEFAULT_LOCK_DIR));
export const STATUS = shown(readLock(DEFAULT_LOCK_DIR));
/** The append of src/audit/audit.ts: the log's path last, the line on stdin. */
export const APPEND_AUDIT = / \/var\/log\/drover\/audit\.log$/;
export const RELEASE = new RegExp(
  `^${escape(shown(releaseOurLock(DEFAULT_LOCK_DIR, 'TOKEN'))).replace(/TOKEN$/, '[0-9a-f]{32}')}$`,
);

/** A lock host whose deploy lock is free: taken, then released by the run that took it. */
export function freeLock(t: RecordingTransport): void {
  t.onExec(TAKE, { code: 0 });
  t.onExec(RELEASE, { stdout: 'released\n' });
  t.onExec(STATUS, { stdout: 'free\n' });
}

/** Audit lines appended on this host, parsed. */
export const auditLines = (t: RecordingTransport | undefined): Record<string, unknown>[] =>
  (t?.calls ?? [])
    .filter((c) => APPEND_AUDIT.test(c.command))
    .map((c) => JSON.parse(c.stdin ?? '{}') as Record<string, unknown>);
