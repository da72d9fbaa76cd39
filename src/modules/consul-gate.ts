import { callOptions, info as consulInfoCmd, type ConsulExecOptions } from '../remote/consul.js';
import type { ExpectedNode } from '../consul/verify/cluster-model.js';
import { parseConsulInfo, type ConsulInfo } from '../consul/parse/consul-info.js';
import {
  countArg,
  countSchema,
  gateConnectionSchema,
  gateOptions,
  hereOf,
  type GateConnectionArgs,
} from '../consul/gates/gate-args.js';
import { GateAgents } from '../consul/gates/gate-agents.js';
import { readClusterView, readLeader, readProgress } from '../consul/gates/gate-observe.js';
import { pollConditions, type PollOutcome } from '../consul/gates/gate-poll.js';
import type { ClusterView } from '../consul/gates/gate-view.js';
import {
  assessClientBack,
  assessReady,
  assessServerBack,
  describeUnmet,
  expectedFailureTolerance,
  type GateCondition,
} from '../consul/gates/gates.js';
import { ConfigError, GateError } from '../errors.js';
import { execStep, type StepRunner } from '../remote/step.js';
import { consulCliOptions } from './consul-cli.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';
import { secondsSchema } from './schema-parts.js';

export type GateWait = 'ready' | 'server' | 'client';

export interface ConsulGateArgs extends GateConnectionArgs {
  /**
   * ready: before stopping `node`, every other server is alive and a leader exists (short retry).
   * server: after restarting server `node`, wait until it is a caught-up voter and the cluster is
   * healthy at its baseline FailureTolerance. client: after restarting client `node`, wait until
   * a server sees it alive and it knows the leader.
   */
  wait: GateWait;
  /** Inventory host the gate is about; default the host the task runs on. */
  node?: string;
  /** FailureTolerance to get back to (`consul_preflight`'s failure_tolerance); default (servers - 1) / 2. */
  baseline_failure_tolerance?: number | string;
  /** wait: ready: least FailureTolerance for stopping a healthy server; default 1. */
  min_failure_tolerance?: number | string;
  /** Seconds to keep checking; default 10 (ready), 300 (server), 120 (client). */
  timeout?: number;
  /** Seconds between checks; default 1 (ready) or 2. */
  interval?: number;
  /** Container to run `consul info` in when /v1/agent/self has no Raft stats; default `consul_container_name`, else consul. */
  container?: string;
}

const DEFAULTS: Record<GateWait, { timeout: number; interval: number }> = {
  // `ready` is a check, not a wait: a short retry rides out one slow answer, nothing more.
  ready: { timeout: 10, interval: 1 },
  server: { timeout: 300, interval: 2 },
  client: { timeout: 120, interval: 2 },
};

/** A gate did not open in time (or, for `ready`, refused); `conditions` are the last ones seen. */
export class GateTimeoutError extends GateError {
  constructor(
    message: string,
    readonly conditions: readonly GateCondition[],
  ) {
    super(message);
  }
}

/**
 * consul_gate: the health gates between the steps of a quorum-safe rolling restart. A
 * conversation of reads that never reports a change, so the gates also run under `drover plan` (where nothing was restarted and a healthy cluster passes at once). Every wait is
 * bounded by `timeout` and a count; on failure a GateError (exit 5) names each unmet condition
 * with the last value seen. With several datacenters in the inventory, the node is judged
 * against its own datacenter only: its servers, their autopilot view and their LAN members.
 */
export const consulGateModule: ConversationModule<ConsulGateArgs> = {
  kind: 'conversation',
  name: 'consul_gate',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['wait'],
    properties: {
      ...gateConnectionSchema,
      wait: { enum: ['ready', 'server', 'client'], description: 'Which gate: ready, server or client.' },
      node: {
        type: 'string',
        minLength: 1,
        description: 'Inventory host the gate is about; default this host.',
      },
      baseline_failure_tolerance: countSchema('FailureTolerance to get back to; default (servers - 1) / 2.'),
      min_failure_tolerance: countSchema(
        'wait: ready: least FailureTolerance to stop a healthy server; default 1.',
      ),
      timeout: secondsSchema('Seconds to keep checking.', 3600),
      interval: secondsSchema('Seconds between checks.', 600),
      container: { type: 'string', minLength: 1, description: 'Container for the `consul info` fallback.' },
    },
  },
  async run(args: ConsulGateArgs, ctx: ConversationContext): Promise<Outcome> {
    const here = hereOf(ctx.vars, ctx.host.name);
    const all = GateAgents.fromVars(ctx.vars, ctx.steps.channel, here, gateOptions(args));
    const target = all.node(args.node ?? here);
    // Raft, autopilot and the LAN members are per datacenter: judge the target against its own.
    const agents = all.inDatacenterOf(target.host);
    const timeoutSeconds = args.timeout ?? DEFAULTS[args.wait].timeout;
    const intervalSeconds = args.interval ?? DEFAULTS[args.wait].interval;
    const poll = (check: (secondsLeft: number) => Promise<GateCondition[]>): Promise<PollOutcome> =>
      pollConditions(check, {
        timeoutSeconds,
        intervalSeconds,
        what: `consul_gate ${args.wait} on ${target.host}`,
        clock: ctx.clock,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    // The last cluster view, for the registered data.
    let last: ClusterView | undefined;

    let outcome: PollOutcome;
    if (args.wait === 'ready') {
      const min = countArg(args.min_failure_tolerance) ?? 1;
      outcome = await poll(async (left) => {
        const others = agents.servers.filter((s) => s.host !== target.host);
        const [view, answers] = await Promise.all([
          readClusterView(agents.serverApis({ preferHere: true, secondsLeft: left })),
          Promise.all(others.map((s) => readLeader(agents.api(s, left)))),
        ]);
        last = view;
        const direct = new Map(others.map((s, i) => [s.host, answers[i]!]));
        const problems = assessReady(target, agents.servers, view, { minFailureTolerance: min }, direct);
        return problems.length === 0
          ? [{ name: 'ready', ok: true, observed: `every other server is alive and ${last.leader} leads` }]
          : problems.map((p) => ({ name: 'ready', ok: false, observed: p }));
      });
      if (!outcome.ok) {
        throw new GateTimeoutError(
          `consul_gate ready: refusing to stop ${target.host} (checked ${outcome.attempts} time(s) over ${timeoutSeconds}s): ` +
            outcome.conditions.map((c) => c.observed).join('; ') +
            '; fix that first (drover verify shows the cluster), then run the roll again',
          outcome.conditions,
        );
      }
    } else if (args.wait === 'server') {
      if (target.role !== 'server') throw wrongRole(target, 'server');
      const baseline =
        countArg(args.baseline_failure_tolerance) ?? expectedFailureTolerance(agents.servers.length);
      const consulInfo =
        target.host === here
          ? consulInfoReader(ctx.steps, consulCliOptions(ctx.vars, args.container), agents)
          : undefined;
      outcome = await poll(async (left) => {
        // The other servers' view first: the restarted node's own view is the least settled.
        const [view, progress] = await Promise.all([
          readClusterView(agents.serverApis({ last: target.host, secondsLeft: left })),
          readProgress(agents.api(target, left), consulInfo),
        ]);
        last = view;
        return assessServerBack(target, agents.servers, view, progress, baseline);
      });
      if (!outcome.ok) throw timedOut('server', target, timeoutSeconds, outcome);
    } else {
      if (target.role !== 'client') throw wrongRole(target, 'client');
      outcome = await poll(async (left) => {
        const [view, clientLeader] = await Promise.all([
          readClusterView(agents.serverApis({ preferHere: true, secondsLeft: left })),
          readLeader(agents.api(target, left)),
        ]);
        last = view;
        return assessClientBack(target, view, clientLeader);
      });
      if (!outcome.ok) throw timedOut('client', target, timeoutSeconds, outcome);
    }

    // Assigned inside the poll callbacks, which TypeScript's narrowing does not follow.
    const lastView = last as ClusterView | undefined;
    return {
      changed: false,
      summary: `consul_gate ${args.wait} on ${target.host}: passed after ${outcome.attempts} check(s) in ${outcome.elapsedSeconds.toFixed(1)}s`,
      data: {
        wait: args.wait,
        node: target.host,
        datacenter: agents.datacenter ?? null,
        attempts: outcome.attempts,
        elapsed_seconds: outcome.elapsedSeconds,
        conditions: Object.fromEntries(outcome.conditions.map((c) => [c.name, c.observed])),
        leader: lastView?.leader ?? null,
        failure_tolerance: lastView?.autopilot?.failureTolerance ?? null,
      },
    };
  },
};

function timedOut(
  wait: GateWait,
  target: ExpectedNode,
  timeoutSeconds: number,
  outcome: PollOutcome,
): GateTimeoutError {
  const held = outcome.conditions.filter((c) => c.ok).map((c) => c.name);
  const when = outcome.fatal
    ? `stopped after ${outcome.elapsedSeconds.toFixed(1)}s, without waiting out the ${timeoutSeconds}s`
    : `not back after ${timeoutSeconds}s`;
  return new GateTimeoutError(
    `consul_gate ${wait} on ${target.host}: ${when} (${outcome.attempts} checks); ` +
      `unmet: ${describeUnmet(outcome.conditions)}${held.length > 0 ? `; held: ${held.join(', ')}` : ''}`,
    outcome.conditions,
  );
}

function wrongRole(target: ExpectedNode, wanted: 'server' | 'client'): ConfigError {
  return new ConfigError([
    {
      file: 'playbook',
      message: `consul_gate wait: ${wanted} on "${target.host}", which the inventory makes a Consul ${target.role}`,
    },
  ]);
}

/**
 * `consul info` in the agent's container on this host: the fallback when Stats lack Raft indexes.
 * `cli` is how the CLI reaches its agent (the session's token, HTTPS when plain HTTP is off).
 */
function consulInfoReader(
  steps: StepRunner,
  cli: ConsulExecOptions,
  agents: GateAgents,
): () => Promise<ConsulInfo> {
  const call = consulInfoCmd(cli);
  return async () => {
    const res = await steps.run(
      execStep('read', call.cmd, callOptions(call, { timeoutSeconds: agents.requestTimeout })),
    );
    if (res.code !== 0) {
      throw new Error(
        `exit ${res.code ?? 'signal'}: ${(res.stderr || res.stdout).trim().split('\n')[0] ?? ''}`,
      );
    }
    return parseConsulInfo(res.stdout);
  };
}
