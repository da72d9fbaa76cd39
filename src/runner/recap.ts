import type { HostRecap } from './reporter.js';

/** An all-zero recap line, for hosts that appear in a play but have not run anything yet. */
export const emptyRecap = (): HostRecap => ({
  ok: 0,
  changed: 0,
  failed: 0,
  skipped: 0,
  unreachable: 0,
  ignored: 0,
});

/**
 * Ansible's PLAY RECAP: one line per host, `ok` counting changed tasks too, so the output reads
 * the same as the tool our users know:
 *
 *     PLAY RECAP ******************************
 *     s1                         : ok=3    changed=1    unreachable=0    failed=0    skipped=0    ignored=0
 */
export function formatRecap(recap: Readonly<Record<string, HostRecap>>): string {
  const hosts = Object.keys(recap);
  const width = Math.max(26, ...hosts.map((h) => h.length));
  const lines = hosts.map((host) => {
    const r = recap[host] as HostRecap;
    const cells = [
      `ok=${r.ok}`,
      `changed=${r.changed}`,
      `unreachable=${r.unreachable}`,
      `failed=${r.failed}`,
      `skipped=${r.skipped}`,
      `ignored=${r.ignored}`,
    ];
    return `${host.padEnd(width)} : ${cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(c.indexOf('=') + 5) : c)).join(' ')}`;
  });
  return [`PLAY RECAP ${'*'.repeat(69)}`, ...lines].join('\n') + '\n';
}
