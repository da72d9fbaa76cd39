import type { AgentMarks } from '../../facts/agent-marks.js';

/** What an agent still owes its config files, judged from its host's facts alone (pure). */
export interface OwedWork {
  restart: boolean;
  reload: boolean;
  /** For people: why, e.g. `restart owed: config changed since the agent started`. */
  reasons: string[];
}

/**
 * A restart is owed when a restart-class change was written after the agent last started; a
 * reload when a reload-class change was written after both its last start and its last
 * reload. A container that is absent or stopped owes nothing: starting it reads everything.
 */
export function owedWork(facts: AgentMarks): OwedWork {
  const owed: OwedWork = { restart: false, reload: false, reasons: [] };
  if (facts.startedAt === undefined || !facts.running) return owed;
  const started = facts.startedAt;
  const { marks } = facts;
  if (marks['restart-owed'] !== undefined && marks['restart-owed'] > started) {
    owed.restart = true;
    owed.reasons.push('restart owed: config changed since the agent started');
  }
  const lastRead = max(started, marks['reloaded'] ?? 0n);
  if (!owed.restart && marks['reload-owed'] !== undefined && marks['reload-owed'] > lastRead) {
    owed.reload = true;
    owed.reasons.push('reload owed: config or services changed since the agent last read them');
  }
  return owed;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
