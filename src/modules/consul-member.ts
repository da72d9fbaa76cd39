import { GateAgents } from '../consul/gates/gate-agents.js';
import {
  gateConnectionSchema,
  gateOptions,
  hereOf,
  type GateConnectionArgs,
} from '../consul/gates/gate-args.js';
import { readClusterView } from '../consul/gates/gate-observe.js';
import { serverResetProblems } from '../consul/verify/membership.js';
import type { ExpectedNode } from '../consul/verify/cluster-model.js';
import { GateError, InterruptedError, TaskFailedError } from '../errors.js';
import { httpStep } from '../remote/step.js';
import { poll, type PollOptions } from '../util/poll.js';
import type { ConversationContext, ConversationModule, ModuleData, Outcome } from './module.js';
import { secondsSchema } from './schema-parts.js';

export interface ConsulMemberArgs extends GateConnectionArgs {
  /**
   * absent: force-leave this host's node with -prune, through a server's agent (this host's own
   * agent is stopped when this runs). alive: wait until a server lists it alive at its bind_addr.
   * reset_safe: refuse when resetting this node would break quorum (servers), unless force.
   */
  state: 'absent' | 'alive' | 'reset_safe';
  force?: boolean;
  /** alive: seconds to wait; default 90. */
  timeout?: number;
}

/** How long a force-leave waits for a just-stopped agent to stop showing as alive. */
const ALIVE_FOR_SECONDS = 29;

/** A membership wait: a look a second, for `seconds`. */
function everySecond(seconds: number, ctx: ConversationContext, what: string): PollOptions {
  return {
    timeoutSeconds: seconds,
    intervalSeconds: 1,
    clock: ctx.clock,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    interrupted: (cause) => new InterruptedError(`${what}: interrupted`, { cause }),
  };
}

/** Resetting the node would break quorum, or the cluster could not be read. Exit 5. */
export class ResetRefusedError extends GateError {}

/**
 * consul_member: the membership steps of `drover reset-node`, for the host the task runs on. The
 * cluster is reached through this host's SSH connection at each server's bind_addr (as the gates
 * do), so it works while this host's own agent is down.
 */
export const consulMemberModule: ConversationModule<ConsulMemberArgs> = {
  kind: 'conversation',
  name: 'consul_member',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['state'],
    properties: {
      ...gateConnectionSchema,
      state: { enum: ['absent', 'alive', 'reset_safe'], description: 'What to ensure or check.' },
      force: { type: 'boolean', description: 'reset_safe: report the problems but pass.' },
      timeout: secondsSchema('alive: seconds to wait.', 3600),
    },
  },
  async run(args: ConsulMemberArgs, ctx: ConversationContext): Promise<Outcome> {
    const here = hereOf(ctx.vars, ctx.host.name);
    const agents = GateAgents.fromVars(ctx.vars, ctx.steps.channel, here, gateOptions(args));
    const node = agents.node(here);
    if (args.state === 'reset_safe') return resetSafe(args, agents, node);
    if (args.state === 'absent') {
      const listed = await listedStatus(agents, node);
      if (listed === 'missing') return { changed: false, summary: `${node.nodeName} is not a member` };
      const summary = `force-leave -prune ${node.nodeName} (${listed})`;
      if (ctx.check) return { changed: true, summary };
      return { changed: true, summary, data: await forceLeave(agents, node, here, ctx) };
    }
    // alive: a read-only wait, bounded; check mode, where nothing was reset, does not wait.
    const timeout = args.timeout ?? 90;
    const wait = async (): Promise<ModuleData> => {
      const outcome = await poll(
        () => findMember(agents, node, here).catch((err: unknown) => ({ error: String(err) })),
        (m) => ('status' in m && m.status === 'alive' && m.address === node.address ? 'done' : 'again'),
        everySecond(timeout, ctx, `${here}: waiting for ${node.nodeName}`),
      );
      const m = outcome.last;
      if (outcome.verdict === 'done' && 'status' in m) return { status: 'alive', address: m.address };
      const last = 'status' in m ? `${m.status} at ${m.address}` : m.error;
      throw new TaskFailedError(
        `${here}: ${node.nodeName} not alive at ${node.address} within ${timeout}s (last: ${last})`,
      );
    };
    if (ctx.check)
      return {
        changed: false,
        summary: `would wait until ${node.nodeName} is alive at ${node.address}`,
      };
    return {
      changed: false,
      summary: `${node.nodeName} is alive at ${node.address}`,
      data: await wait(),
    };
  },
};

/**
 * A just-stopped server shows as failed only after Serf's probes time out (seconds); a
 * force-leave of a live agent is refuted, so wait for that first (bounded), then force-leave
 * whatever the wait saw, through the first server that takes it (the other servers first: this
 * host's agent is the one being reset).
 */
async function forceLeave(
  agents: GateAgents,
  node: ExpectedNode,
  here: string,
  ctx: ConversationContext,
): Promise<ModuleData> {
  await poll(
    () => listedStatus(agents, node).catch(() => 'alive'),
    (status) => (status === 'alive' ? 'again' : 'done'),
    everySecond(ALIVE_FOR_SECONDS, ctx, `${here}: waiting for ${node.nodeName} to leave`),
  );
  const errors: string[] = [];
  const others = agents.servers
    .filter((s) => s.host !== here)
    .concat(agents.servers.filter((s) => s.host === here));
  for (const s of others) {
    // Through each server's endpoint: HTTPS where plain HTTP is not reachable, with the token.
    const endpoint = agents.endpoint(s);
    try {
      const res = await ctx.steps.run(
        httpStep({
          method: 'PUT',
          ...endpoint,
          path: `/v1/agent/force-leave/${encodeURIComponent(node.nodeName)}?prune=1`,
          timeoutSeconds: agents.requestTimeout,
        }),
      );
      if (res.status === 200) return { via: s.host };
      errors.push(`${s.host}: HTTP ${res.status} ${res.body.trim().slice(0, 200)}`);
    } catch (err) {
      errors.push(`${s.host}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new TaskFailedError(
    `${here}: force-leave ${node.nodeName} failed on every server:\n  ${errors.join('\n  ')}`,
  );
}

async function findMember(
  agents: GateAgents,
  node: ExpectedNode,
  here: string,
): Promise<{ status: string; address: string }> {
  const errors: string[] = [];
  for (const s of [
    ...agents.servers.filter((x) => x.host !== here),
    ...agents.servers.filter((x) => x.host === here),
  ]) {
    try {
      const members = await agents.api(s).members();
      const m = members.find((x) => x.name === node.nodeName);
      return m ? { status: m.status, address: m.addr } : { status: 'missing', address: '-' };
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  throw new Error(errors.join('; ') || 'no server');
}

async function listedStatus(agents: GateAgents, node: ExpectedNode): Promise<string> {
  return (await findMember(agents, node, node.host)).status;
}

async function resetSafe(args: ConsulMemberArgs, agents: GateAgents, node: ExpectedNode): Promise<Outcome> {
  if (node.role === 'client')
    return { changed: false, summary: `${node.host} is a client: no quorum at stake` };
  const view = await readClusterView(agents.serverApis({ last: node.host }));
  const members = view.members?.map((m) => ({
    name: m.name,
    address: m.addr,
    status: m.status,
    role: m.role,
  }));
  const problems = serverResetProblems(node, agents.servers, view.peers, members, view.leader);
  if (problems.length > 0 && !args.force) {
    throw new ResetRefusedError(
      `refusing to reset server ${node.host} (nothing was touched; --force resets anyway):\n  - ${problems.join('\n  - ')}`,
    );
  }
  return {
    changed: false,
    summary:
      problems.length > 0 ? `forced past: ${problems.join('; ')}` : `quorum holds without ${node.host}`,
    data: { problems },
  };
}
