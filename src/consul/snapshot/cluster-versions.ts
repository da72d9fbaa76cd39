import type { ConsulApi } from '../api/api.js';
import { compareConsulVersions, parseConsulVersion, type ConsulVersion } from '../agent/consul-version.js';
import type { KeptSnapshot } from './store.js';

/** The oldest and newest Consul release among a datacenter's alive servers. */
export interface VersionRange {
  oldest: ConsulVersion;
  newest: ConsulVersion;
  /** The newest, as a snapshot taken now is named (the leader runs at most this). */
  text: string;
}

/**
 * Per datacenter, the Consul releases its alive servers run, from the WAN pool a server sees
 * (every server of every datacenter, each with its serf `build` tag, `1.20.1:<commit>`). A
 * snapshot is named with the newest (the leader runs no newer), and goes back only into
 * servers none older than its name says.
 */
export async function serverVersionsOf(api: ConsulApi): Promise<Map<string, VersionRange>> {
  const out = new Map<string, VersionRange>();
  for (const m of await api.wanMembers()) {
    if (m.status !== 'alive' || m.role !== 'server') continue;
    const dc = m.tags['dc'];
    const version = parseConsulVersion((m.tags['build'] ?? '').split(':', 1)[0] ?? '');
    if (!dc || !version) continue;
    const seen = out.get(dc);
    if (!seen) {
      out.set(dc, { oldest: version, newest: version, text: version.text });
      continue;
    }
    if (compareConsulVersions(version, seen.oldest) < 0) seen.oldest = version;
    if (compareConsulVersions(version, seen.newest) > 0) {
      seen.newest = version;
      seen.text = version.text;
    }
  }
  return out;
}

/** The line a saved snapshot gets in the task's summary, the recap and the audit log. */
export const snapshotSummary = (k: KeptSnapshot): string =>
  `snapshot of ${k.datacenter} at index ${k.index} (Consul ${k.version}) saved to ${k.file}`;
