import {
  AGENT_CHECKS_PATH,
  AGENT_SERVICES_PATH,
  DROVER_REASON_PREFIX,
  maintenancePath,
  parseAgentServiceNames,
  parseNodeMaintenance,
} from '../consul/api/maintenance.js';
import { GateAgents } from '../consul/gates/gate-agents.js';
import {
  gateConnectionSchema,
  gateOptions,
  hereOf,
  type GateConnectionArgs,
} from '../consul/gates/gate-args.js';
import { TaskFailedError } from '../errors.js';
import { httpStep, type Step } from '../remote/step.js';
import type { HttpResponse } from '../ssh/transport.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';

export interface ConsulMaintenanceArgs extends GateConnectionArgs {
  /** `enabled`: out of DNS before a restart; `disabled`: back after it. */
  state: 'enabled' | 'disabled';
  /** Why, shown by `consul maint` and in the check's notes; drover's own prefix is added. */
  reason?: string;
}

/**
 * consul_maintenance: puts this host's agent in node maintenance before its restart, so that
 * DNS and `?passing` stop sending traffic to its services first, and takes it out after its
 * gate (`consul maint`, through the agent API). Only a node that runs services is touched, and
 * only a maintenance drover set is ever ended (its reason starts with `drover: `): one an
 * operator set stays. Consul keeps maintenance across restarts, so a run stopped in between
 * leaves the node out of DNS until a later run ends it (deploy does, on every client; a roll, on
 * each client it restarts). An agent that does not answer, or refuses, is not put in maintenance
 * and the restart goes on (`no maintenance: ...`); failing to end it fails the task, since the
 * node would stay out of DNS. Check mode only reads.
 */
export const consulMaintenanceModule: ConversationModule<ConsulMaintenanceArgs> = {
  kind: 'conversation',
  name: 'consul_maintenance',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['state'],
    properties: {
      ...gateConnectionSchema,
      state: { enum: ['enabled', 'disabled'], description: 'enabled: out of DNS; disabled: back.' },
      reason: { type: 'string', minLength: 1, description: 'Why; default "rolling restart".' },
    },
  },
  async run(args: ConsulMaintenanceArgs, ctx: ConversationContext): Promise<Outcome> {
    const here = hereOf(ctx.vars, ctx.host.name);
    const agents = GateAgents.fromVars(ctx.vars, ctx.steps.channel, here, gateOptions(args));
    const endpoint = { ...agents.endpoint(agents.node(here)), timeoutSeconds: agents.requestTimeout };
    const call = (step: Step<HttpResponse>, what: string) =>
      ctx.steps.run(step).then((res) => {
        if (res.status !== 200)
          throw new TaskFailedError(
            `${here}: ${what} answered HTTP ${res.status}: ${res.body.trim().slice(0, 300)}`,
          );
        return res.body;
      });
    let current: { reason: string } | undefined;
    try {
      current = parseNodeMaintenance(
        await call(httpStep({ ...endpoint, path: AGENT_CHECKS_PATH }), `GET ${AGENT_CHECKS_PATH}`),
      );
    } catch (err) {
      // An agent that does not answer is restarted (or left) as before: a roll is not stopped for it.
      return {
        changed: false,
        summary: `no maintenance: ${here}'s agent did not answer (${messageOf(err).slice(0, 200)})`,
      };
    }
    const ours = current?.reason.startsWith(DROVER_REASON_PREFIX) === true;
    if (args.state === 'disabled') {
      if (!current) return { changed: false, summary: 'not in maintenance' };
      if (!ours)
        return { changed: false, summary: `in maintenance set by someone else, left so: ${current.reason}` };
      if (!ctx.check)
        await call(httpStep({ ...endpoint, method: 'PUT', path: maintenancePath(false) }), 'maintenance off');
      return {
        changed: true,
        summary: `${ctx.check ? 'would take' : 'took'} ${here} out of maintenance: back in DNS`,
      };
    }
    if (current) {
      return {
        changed: false,
        summary: ours
          ? 'in maintenance already'
          : `in maintenance set by someone else, left so: ${current.reason}`,
      };
    }
    const services = parseAgentServiceNames(
      await call(httpStep({ ...endpoint, path: AGENT_SERVICES_PATH }), `GET ${AGENT_SERVICES_PATH}`),
    );
    if (services.length === 0) return { changed: false, summary: 'no services: nothing to take out of DNS' };
    const reason = `${DROVER_REASON_PREFIX}${args.reason ?? 'rolling restart'}`;
    if (!ctx.check) {
      // A refusal (a token without node:write) does not stop the roll: the restart goes on, said so.
      const refused = await call(
        httpStep({ ...endpoint, method: 'PUT', path: maintenancePath(true, reason) }),
        'maintenance on',
      ).then(
        () => undefined,
        (err: unknown) => messageOf(err),
      );
      if (refused) return { changed: false, summary: `no maintenance: ${refused.slice(0, 300)}` };
    }
    return {
      changed: true,
      summary: `${ctx.check ? 'would put' : 'put'} ${here} in maintenance (${services.join(', ')} out of DNS)`,
    };
  },
};

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
