import type { Inventory } from '../inventory/types.js';
import { redactText, REDACTED } from '../shell/secret.js';
import { aclWanted, prepareAclTokens } from './acl-token-source.js';
import { resolveGossipKey } from './gossip-key-source.js';
import { RunArtifacts } from './run-artifacts.js';

/**
 * Every secret drover knows of for an inventory, for scrubbing what hosts print back to the
 * operator (`drover exec`, `drover logs`): the inventory's own secret values, the gossip key
 * from wherever a run would take it (the key file beside the inventory, DROVER_GOSSIP_KEY), and
 * with ACLs the management token and every token derived from it. Nothing is made or written;
 * a source that cannot be read adds nothing (the command that needs it reports it).
 */
export async function secretsToScrub(inventory: Inventory): Promise<string[]> {
  const found = new Set(RunArtifacts.secretsOf(inventory));
  try {
    const gossip = await resolveGossipKey(inventory, { create: false });
    if (gossip.key && gossip.source !== 'new') found.add(gossip.key.reveal());
  } catch {
    // A bad key file: a deploy refuses it; here it only cannot be scrubbed.
  }
  if (aclWanted(inventory)) {
    try {
      const acl = await prepareAclTokens(inventory, { makeIfMissing: false });
      for (const s of RunArtifacts.secretsOf(acl.inventory)) found.add(s);
    } catch {
      // No token source that answers: no token of drover's to find in the output either.
    }
  }
  return [...found];
}

const PRIVATE_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g;

/** `text` with every known secret and every PEM private key block (a host's TLS key) redacted. */
export function scrubHostOutput(text: string, secrets: readonly string[]): string {
  return redactText(text, secrets).replace(
    PRIVATE_KEY,
    (_, kind: string) => `-----BEGIN ${kind}PRIVATE KEY----- ${REDACTED}`,
  );
}
