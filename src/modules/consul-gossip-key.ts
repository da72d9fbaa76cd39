import { keyringStanding, type KeyringStanding } from '../consul/agent/gossip-key.js';
import { GateError } from '../errors.js';
import { factStep } from '../facts/fact.js';
import { gossipKeyring } from '../facts/gossip-keyring.js';
import { isSecret, Secret } from '../shell/secret.js';
import type { Change, PlannedModule } from './module.js';
import { absolutePathSchema } from './schema-parts.js';

export interface ConsulGossipKeyArgs {
  /** The agent's data dir on the host (bind-mounted at /consul/data). */
  data_dir: string;
  /** The wanted key; default the `consul_encrypt` var. */
  key?: Secret | string;
}

/** The wanted gossip key is not the one the agent uses, and Consul would ignore it. Exit 5. */
export class GossipKeyRefusedError extends GateError {}

/**
 * consul_gossip_key: before a config is written, compares the wanted gossip key with the
 * agent's keyring in its data dir. Consul takes `encrypt` only on its first start and ignores
 * later changes (with a warning), so a changed key would do nothing but split new agents from
 * old ones: refused, with a pointer to `drover rotate-gossip-key`. Read-only; never prints a key.
 */
export const consulGossipKeyModule: PlannedModule<
  ConsulGossipKeyArgs,
  ConsulGossipKeyArgs,
  { ring: Secret[] | undefined }
> = {
  kind: 'planned',
  name: 'consul_gossip_key',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['data_dir'],
    properties: {
      data_dir: absolutePathSchema,
      // No `type`: after templating the key is a Secret object.
      key: { description: 'The wanted gossip key; default the consul_encrypt var.' },
    },
  },
  facts: (args) => ({ ring: factStep(gossipKeyring(args.data_dir), { timeoutSeconds: 30 }) }),
  plan(args: ConsulGossipKeyArgs, { ring }, ctx): Change {
    const wanted = wantedKey(args.key ?? ctx.vars['consul_encrypt']);
    const standing = keyringStanding(
      ring?.map((k) => k.reveal()),
      wanted,
    );
    const file = `${args.data_dir}/serf/local.keyring`;
    const refuse = REFUSALS[standing];
    if (refuse) throw new GossipKeyRefusedError(`${ctx.host}: ${refuse(file)}`);
    return {
      changed: false,
      summary: SUMMARIES[standing],
      data: { standing, installed_keys: ring?.length ?? 0 },
    };
  },
};

function wantedKey(value: unknown): string | undefined {
  const text = isSecret(value) ? value.reveal() : typeof value === 'string' ? value : undefined;
  return text && text.trim() !== '' ? text.trim() : undefined;
}

const ROTATE = 'rotate keys with `drover rotate-gossip-key`';

const REFUSALS: Partial<Record<KeyringStanding, (file: string) => string>> = {
  foreign: (file) =>
    `the gossip key given (consul_encrypt, DROVER_GOSSIP_KEY or the key file) is not the key this agent has used since ` +
    `its first start (kept in ${file}). Consul ignores a changed encrypt, so nothing was touched: put the old key ` +
    `back, or ${ROTATE}`,
  installed: (file) =>
    `a gossip key rotation is half done: the key given is installed in ${file} but is not the primary key. ` +
    `Finish it with \`drover rotate-gossip-key\` (it resumes), so every agent uses one primary key`,
};

const SUMMARIES: Record<KeyringStanding, string> = {
  new: 'gossip key: no keyring yet, the agent takes the key on its first start',
  primary: "gossip key: matches the agent's primary key",
  installed: '',
  foreign: '',
  unwanted: 'gossip key: none given, but the agent keeps encrypting with the keyring in its data dir',
  off: 'gossip key: none (gossip is not encrypted)',
};
