import {
  countArg,
  countSchema,
  gateConnectionSchema,
  gateOptions,
  hereOf,
  type GateConnectionArgs,
} from '../consul/gates/gate-args.js';
import { dcName, GateAgents } from '../consul/gates/gate-agents.js';
import { readClusterView } from '../consul/gates/gate-observe.js';
import { assessPreflight, awaitingPromotion, type PreflightReport } from '../consul/gates/gates.js';
import { ConfigError, GateError, InterruptedError } from '../errors.js';
import { poll } from '../util/poll.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';

export interface ConsulPreflightArgs extends GateConnectionArgs {
  /** Report the problems but pass (exit 0), for an operator who knows the cluster is degraded. */
  force?: boolean;
  /** Least FailureTolerance to start a roll with; default 1 (a 3-server cluster). */
  min_failure_tolerance?: number | string;
  /**
   * The datacenter to judge (its `consul_datacenter`) when the inventory has several; default
   * the datacenter of the host the task runs on.
   */
  datacenter?: string;
}

/**
 * How long the pre-flight waits for autopilot to promote a server it sees as a healthy
 * non-voter (awaitingPromotion): Consul's server_stabilization_time (10 s) plus a few of
 * autopilot's rounds, so a deploy run just after a server came back is not refused for it.
 */
const PROMOTION_WAIT_SECONDS = 30;

/** The pre-flight refused; `report` is what it saw. Exit 5 (gate aborted). */
export class PreflightRefusedError extends GateError {
  constructor(
    readonly report: PreflightReport,
    /** Set when the inventory has several datacenters: the one judged. */
    readonly datacenter?: string,
  ) {
    super(
      `Consul pre-flight refused${datacenter !== undefined ? ` in datacenter ${dcName(datacenter)}` : ''}: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}` +
        ` (nothing was touched; force: true proceeds anyway):\n${report.problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/**
 * consul_preflight: before a rolling restart or upgrade touches anything, checks that a leader
 * exists, autopilot is healthy, every inventory server is alive in Serf and a Raft voter, and
 * FailureTolerance >= 1. A server autopilot is about to promote (a healthy non-voter, as one back
 * from an outage is for server_stabilization_time) is waited for, up to 30 s, before judging.
 * Registers the baseline (leader, failure_tolerance, servers) that the
 * later `consul_gate wait: server` steps compare against. Read-only: runs under `drover plan`.
 * With several datacenters in the inventory, each host judges its own datacenter (Raft,
 * autopilot and the LAN pool are per datacenter), so the baseline a host registers is its
 * datacenter's FailureTolerance.
 */
export const consulPreflightModule: ConversationModule<ConsulPreflightArgs> = {
  kind: 'conversation',
  name: 'consul_preflight',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...gateConnectionSchema,
      force: { type: 'boolean', description: 'Report the problems but pass.' },
      min_failure_tolerance: countSchema('Least FailureTolerance to start with; default 1.'),
      datacenter: {
        type: 'string',
        description: "Datacenter to judge when the inventory has several; default the task host's.",
      },
    },
  },
  async run(args: ConsulPreflightArgs, ctx: ConversationContext): Promise<Outcome> {
    const here = hereOf(ctx.vars, ctx.host.name);
    const all = GateAgents.fromVars(ctx.vars, ctx.steps.channel, here, gateOptions(args));
    const agents = judged(all, here, args.datacenter);
    const min = countArg(args.min_failure_tolerance) ?? 1;
    const look = async () => {
      const view = await readClusterView(agents.serverApis({ preferHere: true }));
      return { view, report: assessPreflight(agents.servers, view, { minFailureTolerance: min }) };
    };
    // A server about to be promoted is judged once autopilot has promoted it (bounded).
    const { last } = await poll(
      look,
      ({ view, report }) =>
        report.ok || awaitingPromotion(agents.servers, view).length === 0 ? 'done' : 'again',
      {
        timeoutSeconds: PROMOTION_WAIT_SECONDS,
        intervalSeconds: 2,
        clock: ctx.clock,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        interrupted: (cause) => new InterruptedError(`${ctx.host.name}: pre-flight interrupted`, { cause }),
      },
    );
    const { report } = last;
    const dc = agents.datacenter;
    if (!report.ok && !args.force) throw new PreflightRefusedError(report, dc);
    const data = {
      leader: report.leader ?? null,
      leader_host: report.leaderHost ?? null,
      failure_tolerance: report.failureTolerance ?? null,
      healthy: report.healthy ?? null,
      servers: report.servers,
      problems: report.problems,
      forced: !report.ok,
      via: report.via ?? null,
      datacenter: dc ?? null,
    };
    const alive = report.servers.filter((s) => s.serf === 'alive' && s.raft === 'voter').length;
    const where = dc !== undefined ? ` (datacenter ${dcName(dc)})` : '';
    const summary = report.ok
      ? `Consul pre-flight OK${where}: leader ${report.leaderHost ?? report.leader}, FailureTolerance ${report.failureTolerance}, ` +
        `${alive}/${report.servers.length} servers alive voters`
      : `Consul pre-flight${where}: ${report.problems.length} problem(s) ignored (force: true): ${report.problems.join('; ')}`;
    return { changed: false, summary, data };
  },
};

/**
 * The agents of the datacenter to judge: the one named, else this host's own. A host that is no
 * Consul node has no datacenter; with several in the inventory it must name one.
 */
function judged(all: GateAgents, here: string, datacenter: string | undefined): GateAgents {
  if (datacenter !== undefined) return all.inDatacenter(datacenter);
  if (all.find(here)) return all.inDatacenterOf(here);
  if (all.datacenters().length <= 1) return all;
  throw new ConfigError([
    {
      file: 'playbook',
      message:
        `consul_preflight on "${here}", which is no Consul node, in an inventory with several datacenters ` +
        `(${all.datacenters().map(dcName).join(', ')}): set the datacenter arg`,
    },
  ]);
}
