import { portVar } from '../consul/gates/gate-agents.js';
import { KeyringClient, standingOf, type KeyringOp, type KeyStanding } from '../consul/api/keyring.js';
import { TaskFailedError } from '../errors.js';
import { isSecret, Secret } from '../shell/secret.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';

export interface ConsulKeyringArgs {
  /** install: on every member; use: make it primary everywhere; remove: from every member; check: read only. */
  op: KeyringOp | 'check';
  key: Secret | string;
  /**
   * How many members must answer; fewer means some agent would miss the change and be locked
   * out of gossip after the old key goes. Default: no check.
   */
  expect_members?: number | string;
  http_port?: number;
}

/**
 * consul_keyring: one step of a gossip key rotation through the local agent's
 * `/v1/operator/keyring` (Consul fans it out to every alive member): install, use, remove. Each
 * is idempotent: the keyring is read first and the step is skipped when already done. Restarts
 * nothing. Keys are never printed; registered data is counts only. Run it with `run_once`.
 */
export const consulKeyringModule: ConversationModule<ConsulKeyringArgs> = {
  kind: 'conversation',
  name: 'consul_keyring',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['op', 'key'],
    properties: {
      op: { enum: ['install', 'use', 'remove', 'check'], description: 'Keyring step.' },
      key: { description: 'The gossip key (a secret).' },
      expect_members: {
        type: ['integer', 'string'],
        pattern: '^[0-9]+$',
        minimum: 0,
        description: 'Members that must answer the keyring query.',
      },
      http_port: { type: 'integer', minimum: 1, maximum: 65535, description: 'HTTP port of the agent.' },
    },
  },
  async run(args: ConsulKeyringArgs, ctx: ConversationContext): Promise<Outcome> {
    const key = asSecret(args.key, ctx.steps.host);
    const client = new KeyringClient(ctx.steps.channel, {
      port: args.http_port ?? portVar(ctx.vars['consul_http_port']),
    });
    const before = standingOf(await client.list(), key);
    const expected = args.expect_members === undefined ? undefined : Number(args.expect_members);
    if (expected !== undefined && before.members < expected) {
      throw new TaskFailedError(
        `${ctx.steps.host}: only ${before.members} of ${expected} Consul members answered the keyring query; ` +
          'a member that misses a key change cannot gossip once the old key is removed. Bring every node back first (drover members)',
      );
    }
    const data = (s: KeyStanding) => ({
      members: s.members,
      installed_everywhere: s.installedEverywhere,
      primary_everywhere: s.primaryEverywhere,
      installed_anywhere: s.installedAnywhere,
      primaries: s.primaries,
    });
    if (args.op === 'check') {
      return { changed: false, summary: describe(before), data: data(before) };
    }
    const op: KeyringOp = args.op;
    const done =
      op === 'install'
        ? before.installedEverywhere
        : op === 'use'
          ? before.primaryEverywhere
          : !before.installedAnywhere;
    if (done)
      return {
        changed: false,
        summary: `keyring ${op}: already done (${describe(before)})`,
        data: data(before),
      };
    if (op === 'remove' && before.primaryEverywhere) {
      throw new TaskFailedError(`${ctx.steps.host}: refusing to remove the primary gossip key`);
    }
    if (op === 'use' && !before.installedEverywhere) {
      throw new TaskFailedError(
        `${ctx.steps.host}: the new key is not installed on every member; install it first`,
      );
    }
    const summary = `keyring ${op} on ${before.members} members`;
    if (ctx.check) return { changed: true, summary, data: data(before) };
    await client.apply(op, key);
    return { changed: true, summary, data: data(standingOf(await client.list(), key)) };
  },
};

function asSecret(value: unknown, host: string): Secret {
  if (isSecret(value) && value.reveal().trim() !== '') return value;
  if (typeof value === 'string' && value.trim() !== '') return new Secret(value.trim());
  throw new TaskFailedError(`${host}: consul_keyring needs a key`);
}

const describe = (s: KeyStanding): string =>
  `${s.members} members; key ${s.primaryEverywhere ? 'primary everywhere' : s.installedEverywhere ? 'installed everywhere' : s.installedAnywhere ? 'installed on some' : 'not installed'}`;
