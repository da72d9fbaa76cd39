import {
  AUTOPILOT_CONFIG_PATH,
  autopilotBody,
  autopilotChanges,
  autopilotWantFromVars,
  parseAutopilotConfig,
  type AutopilotWant,
} from '../consul/api/autopilot-config.js';
import { GateAgents, dcName } from '../consul/gates/gate-agents.js';
import {
  leaderWaitArgsSchema,
  leaderWaitSeconds,
  serverNamingALeader,
  type LeaderWaitArgs,
} from '../consul/gates/leader-wait.js';
import { gateOptions, hereOf } from '../consul/gates/gate-args.js';
import type { ExpectedNode } from '../consul/verify/cluster-model.js';
import { hostvarsOf } from '../consul/verify/expected-nodes.js';
import { TaskFailedError } from '../errors.js';
import { httpStep } from '../remote/step.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';

/**
 * consul_autopilot: keeps each datacenter's autopilot settings as the inventory's
 * `consul_autopilot_*` vars say (those of the datacenter's first server). The agent file's
 * `autopilot` block only seeds a new cluster, so a later change would otherwise never reach
 * it: this reads the settings from a server of each datacenter and, where a wanted field
 * differs, writes the whole object back (`PUT ?cas=ModifyIndex`, since Consul resets the fields
 * a body leaves out), without a restart. Fields the inventory does not set are left as the
 * cluster has them. Run once (run_once) through a server, after the servers run; check mode only reads.
 */
export const consulAutopilotModule: ConversationModule<LeaderWaitArgs> = {
  kind: 'conversation',
  name: 'consul_autopilot',
  argsSchema: leaderWaitArgsSchema,
  async run(args: LeaderWaitArgs, ctx: ConversationContext): Promise<Outcome> {
    const here = hereOf(ctx.vars, ctx.host.name);
    const agents = GateAgents.fromVars(ctx.vars, ctx.steps.channel, here, gateOptions(args));
    const hostvars = hostvarsOf(ctx.vars);
    const done: string[] = [];
    // Check mode on servers that do not run yet: nothing to read.
    const waiting: string[] = [];
    for (const dc of agents.datacenters()) {
      const servers = agents.inDatacenter(dc).servers;
      const first = servers[0];
      if (!first) continue;
      const want = autopilotWantFromVars(hostvars[first.host] ?? ctx.vars);
      if (Object.keys(want).length === 0) continue;
      const where = agents.datacenters().length > 1 ? ` in ${dcName(dc)}` : '';
      // This host's own agent first; a new cluster may still be electing its first leader.
      const order = [...servers.filter((s) => s.host === here), ...servers.filter((s) => s.host !== here)];
      const seconds = leaderWaitSeconds(args, ctx.check);
      const via = await serverNamingALeader(agents, order, seconds, ctx);
      if (!via) {
        if (ctx.check) {
          waiting.push(`would check the autopilot settings${where} once the servers run`);
          continue;
        }
        throw new TaskFailedError(
          `no Consul server${where} named a leader within ${seconds}s: autopilot is unchecked`,
        );
      }
      const changes = await keepAutopilot(agents, via, want, ctx);
      if (changes.length > 0)
        done.push(`${ctx.check ? 'would set' : 'set'} autopilot${where}: ${changes.join(', ')}`);
    }
    if (done.length > 0) return { changed: true, summary: [...done, ...waiting].join('; ') };
    return {
      changed: false,
      summary: waiting.length > 0 ? waiting.join('; ') : 'autopilot as the inventory says',
    };
  },
};

/**
 * The changes made (or, in check mode, that would be) through `via`. A write that loses the
 * compare-and-set (someone changed the settings in between) reads again and tries once more.
 */
async function keepAutopilot(
  agents: GateAgents,
  via: ExpectedNode,
  want: AutopilotWant,
  ctx: ConversationContext,
): Promise<string[]> {
  const endpoint = { ...agents.endpoint(via), timeoutSeconds: agents.requestTimeout };
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await ctx.steps.run(httpStep({ ...endpoint, path: AUTOPILOT_CONFIG_PATH }));
    if (res.status !== 200) throw refused(via, 'GET', res.status, res.body);
    const have = parseAutopilotConfig(res.body);
    const changes = autopilotChanges(have, want);
    if (changes.length === 0 || ctx.check) return changes;
    const put = await ctx.steps.run(
      httpStep({
        ...endpoint,
        method: 'PUT',
        path: `${AUTOPILOT_CONFIG_PATH}?cas=${have.modifyIndex}`,
        body: JSON.stringify(autopilotBody(have, want)),
      }),
    );
    if (put.status !== 200) throw refused(via, 'PUT', put.status, put.body);
    if (put.body.trim() === 'true') return changes;
  }
  throw new TaskFailedError(
    `${via.host}: the autopilot settings changed twice while drover wrote them; run again`,
  );
}

const refused = (via: ExpectedNode, method: string, status: number, body: string): TaskFailedError =>
  new TaskFailedError(
    `${via.host}: ${method} ${AUTOPILOT_CONFIG_PATH} answered HTTP ${status}: ${body.trim().slice(0, 300)}`,
  );
