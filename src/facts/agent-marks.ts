import { readAgentMarks, AGENT_MARKS, type AgentMark } from '../remote/agent-marks.js';
import { FactParseError, outputTail, type Fact } from './fact.js';

/** An agent container's start and the marks drover left beside it, as nanoseconds since 1970. */
export interface AgentMarks {
  /** Absent when there is no such container; 0n when it was created but never started. */
  startedAt?: bigint;
  running: boolean;
  marks: Partial<Record<AgentMark, bigint>>;
}

export function agentMarks(container: string): Fact<AgentMarks> {
  return {
    command: readAgentMarks(container),
    parse(result) {
      if (result.code !== 0)
        throw new FactParseError(`reading the agent marks failed (${outputTail(result)})`);
      return parseAgentMarks(result.stdout);
    },
  };
}

export function parseAgentMarks(stdout: string): AgentMarks {
  const out: AgentMarks = { running: false, marks: {} };
  let sawStart = false;
  for (const line of stdout.split('\n')) {
    const [word, value, running] = line.trim().split(/\s+/);
    if (word === 'started') {
      sawStart = true;
      if (value !== 'absent') {
        out.startedAt = parseDockerTime(value ?? '');
        out.running = running === 'true';
      }
    } else if (AGENT_MARKS.includes(word as AgentMark)) {
      if (!/^\d+$/.test(value ?? '')) throw new FactParseError(`mark ${word}: not a time: ${value}`);
      out.marks[word as AgentMark] = BigInt(value as string);
    }
  }
  if (!sawStart) throw new FactParseError(`no "started" line in: ${stdout.slice(0, 80)}`);
  return out;
}

/**
 * Docker's RFC 3339 time with up to nine fractional digits, always UTC (`...Z`), as nanoseconds;
 * Docker's zero time (a container never started) is 0n.
 */
export function parseDockerTime(text: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) throw new FactParseError(`not a Docker time: ${text}`);
  if (m[1]!.startsWith('0001-')) return 0n;
  const seconds = Date.parse(`${m[1]}Z`) / 1000;
  return BigInt(seconds) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
