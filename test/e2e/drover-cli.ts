/** Runs the real `drover` command line, as a user or a CI job would, for the e2e tests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSUL_IMAGE, KNOWN_HOSTS, LAB_DIR, run, SSH_KEY, type LabHost, type RunResult } from '../lab/lab.js';

export const ROOT = join(LAB_DIR, '..', '..');
export const LAB_INVENTORY = join(ROOT, 'inventories', 'lab.yaml');

export function drover(args: readonly string[], timeoutSeconds = 240): Promise<RunResult> {
  return run(process.execPath, [join(ROOT, 'bin', 'drover.js'), ...args], timeoutSeconds);
}

/** The PLAY RECAP lines as {host: {ok, changed, ...}}. */
export function parseRecap(output: string): Record<string, Record<string, number>> {
  const recap: Record<string, Record<string, number>> = {};
  for (const m of output.matchAll(/^(\S+)\s+:\s+(.*)$/gm)) {
    const counts = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((c) => [c[1]!, Number(c[2])]));
    if ('changed' in counts) recap[m[1]!] = counts;
  }
  return recap;
}

/**
 * Writes an inventory for a cluster on the given lab hosts (like inventories/lab.yaml, with
 * absolute key paths) to a temp file, and returns its path.
 */
export function writeLabInventory(o: {
  servers: readonly LabHost[];
  clients: readonly LabHost[];
  vars?: Record<string, string | number | boolean>;
}): string {
  const hostLines = (hosts: readonly LabHost[]) =>
    hosts.map((h) => `        ${h.name}:\n          address: ${h.address}`).join('\n');
  const vars = {
    ssh_user: 'root',
    ssh_key: SSH_KEY,
    ssh_known_hosts: KNOWN_HOSTS,
    consul_datacenter: 'lab',
    consul_image: CONSUL_IMAGE,
    consul_config_dir: '/opt/platform/consul/config',
    consul_data_dir: '/opt/platform/consul/data',
    consul_retry_interval: '2s',
    ...o.vars,
  };
  const text =
    `all:\n  vars:\n${Object.entries(vars).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n')}\n` +
    `  children:\n    servers:\n      hosts:\n${hostLines(o.servers)}\n` +
    (o.clients.length > 0 ? `    clients:\n      hosts:\n${hostLines(o.clients)}\n` : '');
  const file = join(mkdtempSync(join(tmpdir(), 'drover-inv-')), 'inventory.yaml');
  writeFileSync(file, text);
  return file;
}
