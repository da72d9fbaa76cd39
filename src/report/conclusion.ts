import {
  CommandFailedError,
  DroverError,
  ExitCode,
  GateError,
  InterruptedError,
  LockHeldError,
  TaskFailedError,
  UnreachableError,
  type ExitCodeValue,
} from '../errors.js';
import { redactText } from '../shell/secret.js';
import type { TaskOutcome } from '../runner/reporter.js';

/**
 * How a run ended, as machines read it. `error` is a run that could not start or broke for a
 * reason that is not a host's (bad input 3, usage 64, internal 1); `exit_code` says which.
 */
export type RunOutcomeStatus =
  'ok' | 'failed' | 'unreachable' | 'aborted' | 'interrupted' | 'lock_held' | 'error';

export interface RunConclusion {
  status: RunOutcomeStatus;
  exitCode: ExitCodeValue;
  /** Why the run stopped early or did not start; already redacted. */
  reason?: string;
}

export interface ConcludeOptions {
  /** The status the runner computed (its RunResult.status), when the run got that far. */
  status?: RunOutcomeStatus;
  /** The error that ended the run, when one did (lock held, gate, interrupt, bad input...). */
  error?: unknown;
  /** A reason to show with the status, e.g. the runner's abortReason. */
  reason?: string;
  secrets?: Iterable<string>;
}

const STATUS_EXIT: Record<Exclude<RunOutcomeStatus, 'error'>, ExitCodeValue> = {
  ok: ExitCode.ok,
  failed: ExitCode.taskFailed,
  unreachable: ExitCode.unreachable,
  aborted: ExitCode.gateAborted,
  lock_held: ExitCode.lockHeld,
  interrupted: ExitCode.interrupted,
};

/** The exit code a status stands for; `error` takes the error's own code, else 1. */
export const exitCodeFor = (status: Exclude<RunOutcomeStatus, 'error'>): ExitCodeValue => STATUS_EXIT[status];

function statusOfError(error: unknown): RunOutcomeStatus {
  if (error instanceof LockHeldError) return 'lock_held';
  if (error instanceof GateError) return 'aborted';
  if (error instanceof InterruptedError) return 'interrupted';
  if (error instanceof UnreachableError) return 'unreachable';
  if (error instanceof CommandFailedError || error instanceof TaskFailedError) return 'failed';
  return 'error';
}

/** The exit code of an error that ended a command: its own for drover's errors, else 1 (internal). */
export function exitCodeOf(error: unknown): ExitCodeValue {
  const status = statusOfError(error);
  if (status !== 'error') return exitCodeFor(status);
  return error instanceof DroverError ? error.exitCode : ExitCode.internal;
}

/**
 * One answer to "how did it end" for the exit code, the JSON recap, the events' run_end and the
 * audit log.
 * An error wins over an explicit status, which wins over what the outcomes say: a failed
 * (not ignored) task makes it `failed`; else an unreachable host makes it `unreachable`.
 */
export function concludeRun(outcomes: readonly TaskOutcome[], options: ConcludeOptions = {}): RunConclusion {
  const secrets = [...(options.secrets ?? [])];
  const reasonText = options.reason ?? (options.error !== undefined ? messageOf(options.error) : undefined);
  const reason = reasonText !== undefined ? { reason: redactText(reasonText, secrets) } : {};
  if (options.error !== undefined) {
    return { status: statusOfError(options.error), exitCode: exitCodeOf(options.error), ...reason };
  }
  if (options.status !== undefined && options.status !== 'error') {
    return { status: options.status, exitCode: exitCodeFor(options.status), ...reason };
  }
  if (options.status === 'error') return { status: 'error', exitCode: ExitCode.internal, ...reason };
  const status: RunOutcomeStatus = outcomes.some((o) => o.status === 'failed' && !o.ignoredError)
    ? 'failed'
    : outcomes.some((o) => o.status === 'unreachable')
      ? 'unreachable'
      : 'ok';
  return { status, exitCode: exitCodeFor(status), ...reason };
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
