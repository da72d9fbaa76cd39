import {
  gateConnectionSchema,
  gateOptions,
  hereOf,
  type GateConnectionArgs,
} from '../consul/gates/gate-args.js';
import { GateAgents, consulDatacenter, datacenterKey } from '../consul/gates/gate-agents.js';
import { saveSnapshotStep, snapshotEndpoint } from '../consul/api/snapshot.js';
import { serverVersionsOf, snapshotSummary } from '../consul/snapshot/cluster-versions.js';
import { keepSnapshot, pruneSnapshots, snapshotDir, type KeptSnapshot } from '../consul/snapshot/store.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';
import { secondsSchema } from './schema-parts.js';

export interface ConsulSnapshotArgs extends GateConnectionArgs {
  /** Where the snapshots go on this machine; "" (default): INVENTORY-STEM.snapshots beside the inventory. */
  dir?: string;
  /** Snapshots kept per datacenter in `dir`, the oldest removed first; default 30. */
  keep?: number;
  /** Seconds the leader may take to send one snapshot; default 300. */
  timeout?: number;
}

/** Consul's snapshot agent keeps 30 by default (`retain`). */
export const DEFAULT_SNAPSHOT_KEEP = 30;

/**
 * consul_snapshot: a snapshot of every datacenter of the inventory, taken through this host's
 * agent (forwarded to the leader; another datacenter's with `?dc=`), checked as a restore would
 * check it, and kept on this machine (store.ts: one 0600 file each, named with the datacenter,
 * the leader's Consul version and the raft index, with its sha256 beside it); then each
 * datacenter's oldest beyond `keep` are removed. Run once (`run_once`) before a roll that
 * restarts servers, and by `drover snapshot save`. A snapshot that cannot be taken fails the
 * task, so the roll does not start without one.
 */
export const consulSnapshotModule: ConversationModule<ConsulSnapshotArgs> = {
  kind: 'conversation',
  name: 'consul_snapshot',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...gateConnectionSchema,
      dir: {
        type: 'string',
        description: 'Folder on this machine, relative to the inventory; "" for INVENTORY-STEM.snapshots.',
      },
      keep: { type: 'integer', minimum: 1, description: 'Snapshots kept per datacenter; default 30.' },
      timeout: secondsSchema('Seconds the leader may take to send a snapshot; default 300.', 3600),
    },
  },
  async run(args: ConsulSnapshotArgs, ctx: ConversationContext): Promise<Outcome> {
    const here = hereOf(ctx.vars, ctx.host.name);
    const agents = GateAgents.fromVars(ctx.vars, ctx.steps.channel, here, gateOptions(args));
    const me = agents.node(here);
    const inventoryFile = String(ctx.vars['inventory_file'] ?? 'inventory.yaml');
    const dir = snapshotDir(inventoryFile, args.dir);
    const datacenters = agents.datacenters();
    const names = datacenters.map(consulDatacenter);
    if (ctx.check)
      return { changed: true, summary: `would save a snapshot of ${names.join(', ')} to ${dir}` };

    const endpoint = snapshotEndpoint(agents.endpoint(me), ctx.vars);
    const versions = await serverVersionsOf(agents.api(me));
    const kept: KeptSnapshot[] = [];
    const removed: string[] = [];
    for (const dc of datacenters) {
      const datacenter = consulDatacenter(dc);
      const version = versions.get(datacenter);
      if (!version)
        throw new Error(`${here}: no alive server of ${datacenter} says its Consul version; not saved`);
      const remote = dc !== '' && dc !== datacenterKey(me);
      const taken = await ctx.steps.run(
        saveSnapshotStep(endpoint, {
          ...(remote ? { datacenter: dc } : {}),
          timeoutSeconds: args.timeout ?? 300,
        }),
      );
      const snapshot = await keepSnapshot(
        dir,
        { datacenter, version: version.text, index: taken.index, takenAt: new Date(ctx.clock.now()) },
        taken.bytes,
      );
      kept.push(snapshot);
      removed.push(...(await pruneSnapshots(dir, datacenter, args.keep ?? DEFAULT_SNAPSHOT_KEEP)));
    }
    return {
      changed: true,
      summary: kept.map(snapshotSummary).join('; '),
      data: {
        snapshots: kept.map((k) => ({
          file: k.file,
          sha256: k.sha256,
          datacenter: k.datacenter,
          index: k.index,
          version: k.version,
        })),
        removed,
      },
    };
  },
};
