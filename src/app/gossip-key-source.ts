import { besideInventory } from '../paths.js';
import { generateGossipKey, isValidGossipKey } from '../consul/agent/gossip-key.js';
import { ConfigError } from '../errors.js';
import { exists } from '../remote/fs.js';
import { factStep } from '../facts/fact.js';
import { gossipKeyring, nodeIdPath } from '../facts/gossip-keyring.js';
import type { Host, Inventory } from '../inventory/types.js';
import { isSecret, Secret } from '../shell/secret.js';
import { execStep, type StepRunner } from '../remote/step.js';
import { readPrivateFile, writePrivateFile } from '../util/private-file.js';

/**
 * The gossip key's life cycle on the control machine (ansible-consul#160/#109: a key lost or
 * regenerated on re-runs splits the cluster). One key per inventory, from, in order:
 *   1. `consul_encrypt` in the inventory (a string or `{ env: NAME }`),
 *   2. the environment variable DROVER_GOSSIP_KEY,
 *   3. the key file beside the inventory: `INVENTORY-STEM.gossip.key`, mode 0600,
 *   4. on a deploy with none of those: the key the running cluster already uses (a server's
 *      keyring), written to the key file; failing that, a new key, written to the key file.
 * It is created once and never regenerated. `consul_gossip_encryption: false` turns all of it off.
 */
export const GOSSIP_KEY_ENV = 'DROVER_GOSSIP_KEY';
export const DEFAULT_DATA_DIR = '/opt/consul/data';

/** `inventories/lab.yaml` -> `inventories/lab.gossip.key`. */
export function gossipKeyFile(inventoryFile: string): string {
  return besideInventory(inventoryFile, '.gossip.key');
}

/** The key a half-done `drover rotate-gossip-key` is installing; the next rotation resumes with it. */
export const rotatingKeyFile = (inventoryFile: string): string => `${gossipKeyFile(inventoryFile)}.rotating`;

export type GossipKeySource =
  'inventory' | 'env' | 'file' | 'cluster' | 'new' | 'disabled' | 'unencrypted-cluster';

export interface ResolvedGossipKey {
  key?: Secret;
  source: GossipKeySource;
  /** The key file, when one is involved. */
  file?: string;
  /** Lines for the operator (never the key). */
  notes: string[];
}

export interface ResolveOptions {
  env?: Readonly<Record<string, string | undefined>>;
  /** True for runs that change hosts: a missing key is adopted or created and written to the file. */
  create: boolean;
  /** An inventory host as read steps, for reading a server's keyring when no key is known locally. */
  connect?: (host: Host) => Promise<StepRunner>;
  serversGroup?: string;
}

const disabled = (inv: Inventory): boolean =>
  [...inv.hosts.values()].some((h) => h.vars['consul_gossip_encryption'] === false);

export async function resolveGossipKey(inventory: Inventory, o: ResolveOptions): Promise<ResolvedGossipKey> {
  if (disabled(inventory)) return { source: 'disabled', notes: [] };
  const hosts = [...inventory.hosts.values()];
  const fromInventory = hosts.map((h) => h.vars['consul_encrypt']).filter(isSecret);
  if (fromInventory.length > 0) {
    for (const k of fromInventory) checkKey(k.reveal(), `${inventory.file}: consul_encrypt`);
    return { key: fromInventory[0] as Secret, source: 'inventory', notes: [] };
  }
  const env = (o.env ?? process.env)[GOSSIP_KEY_ENV];
  if (env) {
    checkKey(env, `environment variable ${GOSSIP_KEY_ENV}`);
    return { key: new Secret(env), source: 'env', notes: [] };
  }
  const file = gossipKeyFile(inventory.file);
  const fromFile = await readKeyFile(file);
  if (fromFile) return { key: fromFile, source: 'file', file, notes: [] };

  const found = o.connect
    ? await keyFromCluster(inventory, o.connect, o.serversGroup ?? 'servers')
    : { state: 'none' as const };
  if (found.state === 'unencrypted') {
    return {
      source: 'unencrypted-cluster',
      notes: [
        `warning: gossip encryption is off: the servers already run without a gossip key (${found.host} has agent state but no keyring). ` +
          `Turning it on in a running cluster needs a coordinated change; set consul_gossip_encryption: false to silence this.`,
      ],
    };
  }
  const key = found.state === 'found' ? found.key : new Secret(generateGossipKey());
  const source: GossipKeySource = found.state === 'found' ? 'cluster' : 'new';
  if (!o.create) {
    const what =
      source === 'cluster'
        ? `the cluster's key (read from ${found.state === 'found' ? found.host : ''})`
        : 'a new key';
    return { key, source, file, notes: [`note: no gossip key in ${file}; deploy will write ${what} there`] };
  }
  await writeKeyFile(file, key);
  const how =
    found.state === 'found'
      ? `the key the cluster already uses (from ${found.host}'s keyring)`
      : 'a new gossip key';
  return {
    key,
    source,
    file,
    notes: [`wrote ${how} to ${file} (mode 0600); keep it with the inventory, it is never regenerated`],
  };
}

function checkKey(key: string, where: string): void {
  if (!isValidGossipKey(key)) {
    throw new ConfigError([
      {
        file: where,
        message: 'is not a gossip key (base64 of 16, 24 or 32 bytes; `drover keygen` makes one)',
      },
    ]);
  }
}

/** The key in `file`, or undefined when there is none. A file others can read is refused. */
export async function readKeyFile(file: string): Promise<Secret | undefined> {
  const text = await readPrivateFile(file, 'gossip key');
  if (text === undefined) return undefined;
  const key = text.trim();
  checkKey(key, file);
  return new Secret(key);
}

/** Creates `file` with mode 0600; never overwrites (a key is never regenerated behind anyone's back). */
export function writeKeyFile(file: string, key: Secret, options: { replace?: boolean } = {}): Promise<void> {
  return writePrivateFile(file, `${key.reveal()}\n`, {
    mode: 0o600,
    refusal: 'drover never replaces a gossip key (rotate with `drover rotate-gossip-key`)',
    ...(options.replace !== undefined ? { replace: options.replace } : {}),
  });
}

type ClusterKey =
  { state: 'found'; key: Secret; host: string } | { state: 'unencrypted'; host: string } | { state: 'none' };

/**
 * Reads the servers' keyrings (ansible-consul reuses an existing server's key the same way). A
 * server with agent state (`node-id`) but no keyring means the cluster runs unencrypted. Hosts
 * that cannot be reached are skipped: the deploy itself will report them.
 */
async function keyFromCluster(
  inventory: Inventory,
  connect: (host: Host) => Promise<StepRunner>,
  serversGroup: string,
): Promise<ClusterKey> {
  const names = inventory.groups.get(serversGroup)?.hosts ?? [];
  let unencrypted: string | undefined;
  for (const name of names) {
    const host = inventory.hosts.get(name);
    if (!host) continue;
    const dataDir =
      typeof host.vars['consul_data_dir'] === 'string' ? host.vars['consul_data_dir'] : DEFAULT_DATA_DIR;
    let steps: StepRunner;
    try {
      steps = await connect(host);
    } catch {
      continue;
    }
    const ring = await steps
      .run(factStep(gossipKeyring(dataDir), { timeoutSeconds: 20 }))
      .catch(() => undefined);
    if (ring && ring[0]) return { state: 'found', key: ring[0], host: name };
    const state = await steps
      .run(execStep('read', exists(nodeIdPath(dataDir)), { timeoutSeconds: 20 }))
      .catch(() => undefined);
    if (state?.code === 0) unencrypted ??= name;
  }
  return unencrypted ? { state: 'unencrypted', host: unencrypted } : { state: 'none' };
}

/** The inventory with `consul_encrypt` set on every host (the templates put it in `encrypt`). */
export const withGossipKey = (inventory: Inventory, key: Secret | undefined): Inventory =>
  key ? withHostVars(inventory, { consul_encrypt: key }) : inventory;

/** The inventory with `vars` (the same for all, or per host name) set on every host, above its own (like Ansible's -e). */
export function withHostVars(
  inventory: Inventory,
  vars:
    | Readonly<Record<string, unknown>>
    | ((host: string, hostVars: Readonly<Record<string, unknown>>) => Readonly<Record<string, unknown>>),
): Inventory {
  const varsOf = typeof vars === 'function' ? vars : () => vars;
  if (typeof vars !== 'function' && Object.keys(vars).length === 0) return inventory;
  const hosts = new Map<string, Host>();
  for (const [name, h] of inventory.hosts)
    hosts.set(name, { ...h, vars: { ...h.vars, ...varsOf(name, h.vars) } });
  return { ...inventory, hosts };
}

/**
 * For the Consul playbook commands: resolves the key (see resolveGossipKey) and returns the
 * inventory with `consul_encrypt` set, telling the operator (never the key) what happened.
 */
export async function applyGossipKey(
  inventory: Inventory,
  o: ResolveOptions & { warn: (line: string) => void },
): Promise<Inventory> {
  const resolved = await resolveGossipKey(inventory, o);
  for (const note of resolved.notes) o.warn(note);
  return resolved.source === 'inventory' ? inventory : withGossipKey(inventory, resolved.key);
}
