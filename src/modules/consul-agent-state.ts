import { touchAgentMark, type AgentMark } from '../remote/agent-marks.js';
import { owedWork } from '../consul/agent/agent-owed.js';
import { agentMarks, type AgentMarks } from '../facts/agent-marks.js';
import { factStep } from '../facts/fact.js';
import { converging } from '../facts/gather.js';
import { checkedStep, effectOnly } from '../remote/step.js';
import type { Change, PlannedModule } from './module.js';

export interface ConsulAgentStateArgs {
  /** The agent's container. */
  container: string;
  /**
   * Outside check mode, first record on the host that the agent is about to owe a restart or a
   * reload (before the file is written), or that it was just reloaded; "" records nothing.
   */
  mark?: 'restart' | 'reload' | 'reloaded' | '';
}

const MARK_FILES: Record<'restart' | 'reload' | 'reloaded', AgentMark> = {
  restart: 'restart-owed',
  reload: 'reload-owed',
  reloaded: 'reloaded',
};

/**
 * consul_agent_state: whether the agent still owes a restart or a reload for files already on
 * its host (src/consul/agent/agent-owed.ts), registered as `restart_owed`, `reload_owed` and `reasons`,
 * so a run that follows an interrupted, refused or killed one finishes its work. The marks are
 * drover's own bookkeeping, not a change to the host: the task never reports `changed`.
 */
export const consulAgentStateModule: PlannedModule<
  ConsulAgentStateArgs,
  ConsulAgentStateArgs,
  { mark: void; marks: AgentMarks }
> = {
  kind: 'planned',
  name: 'consul_agent_state',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['container'],
    properties: {
      container: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'Container name.' },
      mark: {
        enum: ['restart', 'reload', 'reloaded', ''],
        description: 'Record an owed restart or reload before writing, or a done reload.',
      },
    },
  },
  facts: (args) => ({
    // Outside check mode only: a plan never leaves a mark.
    mark: args.mark
      ? converging(
          undefined,
          effectOnly(
            checkedStep('write', touchAgentMark(args.container, MARK_FILES[args.mark]), {
              timeoutSeconds: 30,
            }),
          ),
        )
      : undefined,
    marks: factStep(agentMarks(args.container), { timeoutSeconds: 30 }),
  }),
  plan(_args, { marks }): Change {
    const owed = owedWork(marks);
    return {
      changed: false,
      summary:
        owed.reasons.length > 0 ? owed.reasons.join('; ') : 'nothing owed: the agent runs the files on disk',
      data: { restart_owed: owed.restart, reload_owed: owed.reload, reasons: owed.reasons },
    };
  },
};
