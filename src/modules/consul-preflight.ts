import {
  countArg,
  countSchema,
  gateConnectionSchema,
  gateOptions,
  hereOf,
  type GateConnectionArgs,
} from '../consul/gate-args.js';
import { GateAgents } from '../consul/gate-agents.js';
import { readClusterView } from '../consul/gate-observe.js';
import { assessPreflight, type PreflightReport } from '../consul/gates.js';
import { GateError } from '../errors.js';
import type { Change, Module, ModuleContext } from './module.js';

export interface ConsulPreflightArgs extends GateConnectionArgs {
  /** Report the problems but pass (exit 0), for an operator who knows the cluster is degraded. */
  force?: boolean;
  /** Least FailureTolerance to start a roll with; default 1 (a 3-server cluster). */
  min_failure_tolerance?: number | string;
}

/** The pre-flight refused; `report` is what it saw. Exit 5 (gate aborted). */
export class PreflightRefusedError extends GateError {
  constructor(readonly report: PreflightReport) {
    super(
      `Consul pre-flight refused: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}` +
        ` (nothing was touched; force: true proceeds anyway):\n${report.problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/**
 * consul_preflight: before a rolling restart or upgrade touches anything, checks that a leader
 * exists, autopilot is healthy, every inventory server is alive in Serf and a Raft voter, and
 * FailureTolerance >= 1. Registers the baseline (leader, failure_tolerance, servers) that the
 * later `consul_gate wait: server` steps compare against. Read-only: runs under `drover plan`.
 */
export const consulPreflightModule: Module<ConsulPreflightArgs> = {
  name: 'consul_preflight',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...gateConnectionSchema,
      force: { type: 'boolean', description: 'Report the problems but pass.' },
      min_failure_tolerance: countSchema('Least FailureTolerance to start with; default 1.'),
    },
  },
  async plan(args: ConsulPreflightArgs, ctx: ModuleContext): Promise<Change> {
    const agents = GateAgents.fromVars(
      ctx.vars,
      ctx.transport,
      hereOf(ctx.vars, ctx.host.name),
      gateOptions(args),
    );
    const view = await readClusterView(agents.serverApis({ preferHere: true }));
    const min = countArg(args.min_failure_tolerance) ?? 1;
    const report = assessPreflight(agents.servers, view, { minFailureTolerance: min });
    if (!report.ok && !args.force) throw new PreflightRefusedError(report);
    const data = {
      leader: report.leader ?? null,
      leader_host: report.leaderHost ?? null,
      failure_tolerance: report.failureTolerance ?? null,
      healthy: report.healthy ?? null,
      servers: report.servers,
      problems: report.problems,
      forced: !report.ok,
      via: report.via ?? null,
    };
    const alive = report.servers.filter((s) => s.serf === 'alive' && s.raft === 'voter').length;
    const summary = report.ok
      ? `Consul pre-flight OK: leader ${report.leaderHost ?? report.leader}, FailureTolerance ${report.failureTolerance}, ` +
        `${alive}/${report.servers.length} servers alive voters`
      : `Consul pre-flight: ${report.problems.length} problem(s) ignored (force: true): ${report.problems.join('; ')}`;
    return { changed: false, readOnly: true, summary, data };
  },
};
