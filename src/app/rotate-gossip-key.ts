import { rename } from 'node:fs/promises';
import { generateGossipKey } from '../consul/agent/gossip-key.js';
import { expectedNodesFromInventory } from '../consul/verify/expected-nodes.js';
import { ConfigError, TaskFailedError, UsageError } from '../errors.js';
import type { Inventory, Vars } from '../inventory/types.js';
import { Secret } from '../shell/secret.js';
import {
  GOSSIP_KEY_ENV,
  gossipKeyFile,
  readKeyFile,
  resolveGossipKey,
  rotatingKeyFile,
  writeKeyFile,
  type ResolvedGossipKey,
} from './gossip-key-source.js';

export interface Rotation {
  /** The rotation playbook's extra vars: the current key, the next one and the node count. */
  extraVars: Vars;
  /** Where the next key waits until the rotation has finished. */
  pending: string;
  current: ResolvedGossipKey;
}

/**
 * The start of `rotate-gossip-key`: the new key is kept in KEYFILE.rotating first, so that a
 * rotation that stops halfway resumes with the same key. `ask` confirms a new rotation (not a
 * resumed one).
 */
export async function prepareRotation(
  inventory: Inventory,
  o: { ask: (question: string) => Promise<boolean>; warn: (line: string) => void },
): Promise<Rotation> {
  const current = await resolveGossipKey(inventory, { create: false });
  if (!current.key || current.source === 'new' || current.source === 'cluster') {
    throw new ConfigError([
      {
        file: inventory.file,
        message: `no current gossip key (consul_encrypt, ${GOSSIP_KEY_ENV} or ${gossipKeyFile(inventory.file)}); deploy first`,
      },
    ]);
  }
  const pending = rotatingKeyFile(inventory.file);
  let next = await readKeyFile(pending);
  if (!next) {
    if (!(await o.ask(`rotate the gossip key of ${inventory.file} (install, use, remove; no restarts)?`))) {
      throw new TaskFailedError('not rotated: not confirmed');
    }
    next = new Secret(generateGossipKey());
    await writeKeyFile(pending, next);
  } else o.warn(`resuming the rotation to the key in ${pending}`);
  if (next.reveal() === current.key.reveal())
    throw new UsageError(`${pending} holds the current key; remove it and run again`);
  return {
    pending,
    current,
    extraVars: {
      consul_encrypt: current.key,
      consul_encrypt_next: next,
      drover_consul_nodes: expectedNodesFromInventory(inventory).length,
    },
  };
}

/**
 * After the playbook: on success the key file gets the new key. A key from the inventory or
 * DROVER_GOSSIP_KEY cannot be rewritten: the operator is told where the new key is.
 */
export async function finishRotation(
  r: Rotation,
  succeeded: boolean,
  warn: (line: string) => void,
): Promise<void> {
  if (!succeeded) {
    warn(
      `rotation did not finish; the new key stays in ${r.pending}: run drover rotate-gossip-key again to resume`,
    );
    return;
  }
  if (r.current.source === 'file' && r.current.file) {
    await rename(r.pending, r.current.file);
    warn(`the new gossip key is in ${r.current.file}`);
  } else {
    warn(
      `rotated. The new key is in ${r.pending}: put it where the old one came from (${r.current.source === 'env' ? GOSSIP_KEY_ENV : 'consul_encrypt in the inventory'}), then delete that file`,
    );
  }
}
