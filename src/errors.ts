/**
 * One error tree for the whole library. Library code throws these; src/report/conclusion.ts
 * decides the exit code of each (`exitCodeOf`) and only src/cli/main.ts sets the process's.
 * Exit codes are part of drover's public contract.
 */
export const ExitCode = {
  ok: 0,
  internal: 1,
  taskFailed: 2,
  badInput: 3,
  unreachable: 4,
  gateAborted: 5,
  lockHeld: 6,
  usage: 64,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class DroverError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where in an input file a problem sits; line and column are 1-based, when the YAML gives them. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
  /** Dotted path inside the document, e.g. `all.children.servers.hosts.s1.address`. */
  path?: string;
}

export interface ConfigProblem extends SourceLocation {
  message: string;
}

/** Formats a problem the way compilers do: `file:line:col path: message`. */
export function formatProblem(p: ConfigProblem): string {
  const where = [p.file, p.line, p.line !== undefined ? p.column : undefined]
    .filter((part) => part !== undefined)
    .join(':');
  return `${where}${p.path ? ` ${p.path}` : ''}: ${p.message}`;
}

/** Bad inventory, playbook, template or schema input. Raised before any host is touched. */
export class ConfigError extends DroverError {
  readonly exitCode = ExitCode.badInput;
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super(problems.map(formatProblem).join('\n'), options);
    this.problems = problems;
  }
}

export class UsageError extends DroverError {
  readonly exitCode = ExitCode.usage;
}

export class UnreachableError extends DroverError {
  readonly exitCode = ExitCode.unreachable;
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${host}: unreachable: ${message}`, options);
  }
}

/** A remote command exited non-zero. `command` is already redacted. */
export class CommandFailedError extends DroverError {
  readonly exitCode = ExitCode.taskFailed;
  constructor(
    readonly host: string,
    readonly command: string,
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${host}: command failed (exit ${code ?? 'signal'}): ${command}${tail(stderr || stdout)}`);
  }
}

/** A task failed for a reason other than a command's exit code (bad facts, failed checks). */
export class TaskFailedError extends DroverError {
  readonly exitCode = ExitCode.taskFailed;
}

/** A safety gate (pre-flight, health gate, quorum check) stopped the run. */
export class GateError extends DroverError {
  readonly exitCode = ExitCode.gateAborted;
}

export class LockHeldError extends DroverError {
  readonly exitCode = ExitCode.lockHeld;
}

export class InterruptedError extends DroverError {
  readonly exitCode = ExitCode.interrupted;
}

function tail(text: string): string {
  const lines = text.trim().split('\n').slice(-5).join('\n');
  return lines ? `\n${lines}` : '';
}
