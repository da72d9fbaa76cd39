import { portVar } from '../consul/gates/gate-agents.js';
import {
  keyringChangeStep,
  keyringListStep,
  standingOf,
  type KeyringOp,
  type KeyringPool,
  type KeyringTarget,
  type KeyStanding,
} from '../consul/api/keyring.js';
import { aclTokenOption } from '../consul/api/endpoint.js';
import { TaskFailedError } from '../errors.js';
import { mapStep } from '../remote/step.js';
import { isSecret, Secret } from '../shell/secret.js';
import type { Change, ModuleData, PlannedModule } from './module.js';

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

/** What the task wants: the key as a Secret, the member count as a number. */
interface KeyringWant {
  op: ConsulKeyringArgs['op'];
  key: Secret;
  expectMembers: number | undefined;
  target: KeyringTarget;
}

interface KeyringFacts {
  /** The keyring before the change, as every member reports it. */
  pools: KeyringPool[];
}

/**
 * consul_keyring: one step of a gossip key rotation through the local agent's
 * `/v1/operator/keyring` (Consul fans it out to every alive member): install, use, remove. The
 * keyring is the one fact; a step already done changes nothing. The change is the keyring call,
 * then a second read whose standing is registered. Restarts nothing. Keys are never printed;
 * registered data is counts only. Run it with `run_once`.
 */
export const consulKeyringModule: PlannedModule<ConsulKeyringArgs, KeyringWant, KeyringFacts> = {
  kind: 'planned',
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
  desired(args, ctx) {
    return Promise.resolve({
      op: args.op,
      key: asSecret(args.key, ctx.host),
      expectMembers: args.expect_members === undefined ? undefined : Number(args.expect_members),
      target: {
        port: args.http_port ?? portVar(ctx.vars['consul_http_port']),
        ...aclTokenOption(ctx.vars),
      },
    });
  },
  facts(want) {
    return { pools: keyringListStep(want.target) };
  },
  plan(want, facts, ctx): Change {
    const before = standingOf(facts.pools, want.key);
    if (want.expectMembers !== undefined && before.members < want.expectMembers) {
      throw new TaskFailedError(
        `${ctx.host}: only ${before.members} of ${want.expectMembers} Consul members answered the keyring query; ` +
          'a member that misses a key change cannot gossip once the old key is removed. Bring every node back first (drover members)',
      );
    }
    if (want.op === 'check') {
      return { changed: false, summary: describe(before), data: standingData(before) };
    }
    const op: KeyringOp = want.op;
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
        data: standingData(before),
      };
    if (op === 'remove' && before.primaryEverywhere) {
      throw new TaskFailedError(`${ctx.host}: refusing to remove the primary gossip key`);
    }
    if (op === 'use' && !before.installedEverywhere) {
      throw new TaskFailedError(
        `${ctx.host}: the new key is not installed on every member; install it first`,
      );
    }
    return {
      changed: true,
      summary: `keyring ${op} on ${before.members} members`,
      data: standingData(before),
      steps: [
        keyringChangeStep(op, want.key, want.target),
        // What every member reports after the change replaces the standing before it.
        mapStep(keyringListStep(want.target), (pools) => standingData(standingOf(pools, want.key))),
      ],
    };
  },
};

function standingData(s: KeyStanding): ModuleData {
  return {
    members: s.members,
    installed_everywhere: s.installedEverywhere,
    primary_everywhere: s.primaryEverywhere,
    installed_anywhere: s.installedAnywhere,
    primaries: s.primaries,
  };
}

function asSecret(value: unknown, host: string): Secret {
  if (isSecret(value) && value.reveal().trim() !== '') return value;
  if (typeof value === 'string' && value.trim() !== '') return new Secret(value.trim());
  throw new TaskFailedError(`${host}: consul_keyring needs a key`);
}

const describe = (s: KeyStanding): string =>
  `${s.members} members; key ${s.primaryEverywhere ? 'primary everywhere' : s.installedEverywhere ? 'installed everywhere' : s.installedAnywhere ? 'installed on some' : 'not installed'}`;
