import { posix } from 'node:path';
import { UsageError } from '../errors.js';
import { factStep } from '../facts/fact.js';
import { fileState } from '../facts/file-state.js';
import { nodeIdPath } from '../facts/gossip-keyring.js';
import type { Host, Inventory } from '../inventory/types.js';
import { exists } from '../remote/fs.js';
import { execStep, type StepRunner } from '../remote/step.js';
import { DEFAULT_DATA_DIR, withHostVars } from './gossip-key-source.js';
import { tlsOff } from './tls-material-source.js';

/**
 * `consul_tls_enable` when the inventory does not say: on for a new cluster, and for a running
 * one whatever its agents run with now, so an upgrade of drover never turns TLS on (a restart
 * of every agent, and a migration: docs/security.md) behind the operator's back. What the agents
 * run with is read from the servers themselves each time (their config on the host), never from
 * memory of an earlier run; it also keeps a CA from being made anew for servers that run TLS
 * with another (applyTlsCa). The playbooks' own default (false) is the one for playbooks run
 * without this session.
 */

/** The hosts whose inventory leaves `consul_tls_enable` to drover. */
export const tlsUndecided = (inventory: Inventory): Host[] =>
  [...inventory.hosts.values()].filter((h) => h.vars['consul_tls_enable'] === undefined);

/** The inventory with `consul_tls_enable` set to `on` where it was left unset. */
export const withTlsDefault = (inventory: Inventory, on: boolean): Inventory =>
  withHostVars(inventory, (_name, vars) =>
    vars['consul_tls_enable'] === undefined ? { consul_tls_enable: on } : {},
  );

/**
 * What a server runs with: a config with a `tls` block; one without, or agent state without a
 * config of drover's (an agent someone else set up, kept as it is); nothing yet; or no answer.
 */
type ServerTls = 'tls' | 'plain' | 'new' | 'unreachable';

const DEFAULT_CONFIG_DIR = '/opt/consul/config';
const DEFAULT_CONFIG_FILE = 'consul.json';

export interface ClusterTls {
  readonly inventory: Inventory;
  /** The servers that run TLS now: a CA made anew would be trusted by none of them. */
  readonly serversWithTls: readonly string[];
}

/**
 * Reads what the servers that answer run with, and decides `consul_tls_enable` for the hosts
 * that leave it unset: none of them has agent state (a new cluster): on; all run TLS: on; any
 * runs without: off, with a note saying how to turn it on; some with and some without:
 * refused, the operator decides. Nothing is read when TLS is off everywhere.
 */
export async function readClusterTls(
  inventory: Inventory,
  o: { connect: (host: Host) => Promise<StepRunner>; warn: (line: string) => void; serversGroup?: string },
): Promise<ClusterTls> {
  if (tlsOff(inventory)) return { inventory, serversWithTls: [] };
  const servers = (inventory.groups.get(o.serversGroup ?? 'servers')?.hosts ?? []).flatMap((name) => {
    const host = inventory.hosts.get(name);
    return host ? [host] : [];
  });
  const seen = await Promise.all(servers.map(async (h) => [h.name, await serverTls(h, o.connect)] as const));
  const named = (which: ServerTls) => seen.filter(([, tls]) => tls === which).map(([name]) => name);
  const serversWithTls = named('tls');
  if (tlsUndecided(inventory).length === 0) return { inventory, serversWithTls };
  const plain = named('plain');
  if (serversWithTls.length > 0 && plain.length > 0) {
    throw new UsageError(
      `consul_tls_enable is not set, and the servers disagree: ${serversWithTls.join(', ')} run TLS, ` +
        `${plain.join(', ')} do not; set consul_tls_enable (docs/security.md, "Turning TLS on for a running cluster")`,
    );
  }
  if (plain.length > 0) {
    o.warn(
      `note: TLS stays off: consul_tls_enable is not set and the servers run without it (${plain.join(', ')}); ` +
        'turning it on for a running cluster is a migration (docs/security.md); consul_tls_enable: false says so without this note',
    );
    return { inventory: withTlsDefault(inventory, false), serversWithTls };
  }
  if (serversWithTls.length === 0)
    o.warn('note: TLS on, as for every new cluster (consul_tls_enable: false turns it off)');
  return { inventory: withTlsDefault(inventory, true), serversWithTls };
}

/** A host that does not answer is left out (the run itself will report it). */
async function serverTls(host: Host, connect: (host: Host) => Promise<StepRunner>): Promise<ServerTls> {
  const text = (name: string, fallback: string) =>
    typeof host.vars[name] === 'string' ? (host.vars[name] as string) : fallback;
  let steps: StepRunner;
  try {
    steps = await connect(host);
  } catch {
    return 'unreachable';
  }
  const configFile = posix.join(
    text('consul_config_dir', DEFAULT_CONFIG_DIR),
    text('consul_config_file', DEFAULT_CONFIG_FILE),
  );
  try {
    const config = await steps.run(factStep(fileState(configFile), { timeoutSeconds: 20 }));
    if (config.exists) return hasTls(config.content) ? 'tls' : 'plain';
    const state = await steps.run(
      execStep('read', exists(nodeIdPath(text('consul_data_dir', DEFAULT_DATA_DIR))), { timeoutSeconds: 20 }),
    );
    return state.code === 0 ? 'plain' : 'new';
  } catch {
    return 'unreachable';
  }
}

/** The agent config drover renders has a `tls` block exactly when TLS is on. */
function hasTls(configText: string): boolean {
  try {
    const config = JSON.parse(configText) as Record<string, unknown>;
    return typeof config['tls'] === 'object' && config['tls'] !== null;
  } catch {
    return false;
  }
}
