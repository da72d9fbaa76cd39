import { restoreSnapshotStep, snapshotEndpoint } from '../consul/api/snapshot.js';
import { compareConsulVersions, parseConsulVersion } from '../consul/agent/consul-version.js';
import {
  gateConnectionSchema,
  gateOptions,
  hereOf,
  type GateConnectionArgs,
} from '../consul/gates/gate-args.js';
import { GateAgents, consulDatacenter, datacenterKey } from '../consul/gates/gate-agents.js';
import { serverVersionsOf } from '../consul/snapshot/cluster-versions.js';
import { loadSnapshot } from '../consul/snapshot/store.js';
import { GateError, InterruptedError } from '../errors.js';
import { poll } from '../util/poll.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';
import { secondsSchema } from './schema-parts.js';

export interface ConsulSnapshotRestoreArgs extends GateConnectionArgs {
  /** The snapshot on this machine (absolute; `drover snapshot restore` checked it before connecting). */
  file: string;
  /** The datacenter to restore into; default the one the snapshot's name says. */
  datacenter?: string;
  /** Restore even into servers older than the snapshot, or a snapshot of another datacenter. */
  force?: boolean;
  /** Seconds for the restore and for every server to hold it; default 300. */
  timeout?: number;
}

/**
 * consul_snapshot_restore: sends a snapshot back to a datacenter's leader (`PUT /v1/snapshot`,
 * through this host's agent; `?dc=` for another datacenter). Consul replaces the whole server
 * state with it (KV, catalog, sessions, ACLs, autopilot settings) at a new raft index above the
 * snapshot's, and the followers install it. Refused (exit 5, nothing sent) when a server of the
 * datacenter runs an older Consul than the snapshot was taken with (an older state machine
 * refuses entries it does not know, or panics), or when the snapshot is another datacenter's,
 * unless `force`. Done when autopilot says the datacenter is healthy and every server has
 * passed the snapshot's index.
 */
export const consulSnapshotRestoreModule: ConversationModule<ConsulSnapshotRestoreArgs> = {
  kind: 'conversation',
  name: 'consul_snapshot_restore',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['file'],
    properties: {
      ...gateConnectionSchema,
      file: { type: 'string', pattern: '^/', description: 'The snapshot file on this machine.' },
      datacenter: { type: 'string', description: 'Datacenter to restore into; default the snapshot’s.' },
      force: { type: 'boolean', description: 'Restore into older servers or another datacenter.' },
      timeout: secondsSchema('Seconds for the restore and for every server to hold it; default 300.', 3600),
    },
  },
  async run(args: ConsulSnapshotRestoreArgs, ctx: ConversationContext): Promise<Outcome> {
    const here = hereOf(ctx.vars, ctx.host.name);
    const agents = GateAgents.fromVars(ctx.vars, ctx.steps.channel, here, gateOptions(args));
    const me = agents.node(here);
    const snapshot = await loadSnapshot(args.file);
    const ownDc = consulDatacenter(datacenterKey(me));
    const named = snapshot.name?.datacenter;
    const target = args.datacenter || named || ownDc;
    const what = `${args.file} (index ${snapshot.archive.meta.index})`;
    const known = agents.datacenters().map(consulDatacenter);
    if (!known.includes(target))
      throw new GateError(
        `${what} is a snapshot of ${target}, which this inventory does not have (${known.join(', ')}); ` +
          '--datacenter DC --force restores it into another one',
      );
    if (named && named !== target && !args.force)
      throw new GateError(
        `${what} is a snapshot of ${named}, not ${target}; --force restores it all the same`,
      );

    const dc = target === ownDc ? {} : { dc: target };
    const versions = (await serverVersionsOf(agents.api(me))).get(target);
    if (!versions) throw new GateError(`no alive server of ${target} answers; nothing restored`);
    const taken = snapshot.name ? parseConsulVersion(snapshot.name.version) : undefined;
    if (!args.force) {
      if (!taken)
        throw new GateError(
          `${what}: its name does not say which Consul took it (drover names its snapshots); --force restores it all the same`,
        );
      if (compareConsulVersions(taken, versions.oldest) > 0)
        throw new GateError(
          `${what} was taken with Consul ${taken.text}, and a server of ${target} runs ${versions.oldest.text}: ` +
            'an older server cannot read a newer state; upgrade first (or --force)',
        );
    }
    if (ctx.check) return { changed: true, summary: `would restore ${what} into ${target}` };

    const endpoint = snapshotEndpoint(agents.endpoint(me), ctx.vars);
    const timeout = args.timeout ?? 300;
    await ctx.steps.run(
      restoreSnapshotStep(endpoint, snapshot.bytes, {
        ...(dc.dc ? { datacenter: dc.dc } : {}),
        timeoutSeconds: timeout,
      }),
    );
    // The restored state sits at an index above the snapshot's; a follower holds it once it has
    // installed the leader's new snapshot.
    const api = agents.api(me);
    const past = snapshot.archive.meta.index;
    const outcome = await poll(
      () => api.autopilotHealth(dc).catch(() => undefined),
      (h) =>
        h && h.healthy && h.servers.length > 0 && h.servers.every((s) => s.lastIndex > past)
          ? 'done'
          : 'again',
      {
        timeoutSeconds: timeout,
        intervalSeconds: 0.5,
        clock: ctx.clock,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        interrupted: (cause) =>
          new InterruptedError(`${here}: waiting for the restore: interrupted`, { cause }),
      },
    );
    if (outcome.verdict !== 'done')
      throw new GateError(
        `restored ${what} into ${target}, but not every server of it had passed index ${past} and was healthy within ${timeout}s`,
      );
    return {
      changed: true,
      summary: `restored ${what} into ${target}; its ${outcome.last?.servers.length ?? 0} servers hold it`,
      data: { file: args.file, datacenter: target, index: past },
    };
  },
};
