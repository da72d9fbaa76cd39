import { CommandFailedError } from '../errors.js';
import type { CollectedRun } from '../report/collector.js';
import type { RunConclusion } from '../report/conclusion.js';
import { exec, render, type Cmd } from '../shell/cmd.js';
import { redactText } from '../shell/secret.js';
import type { Transport } from '../ssh/transport.js';
import { describeWho, type CiJob, type RunIdentity } from '../lock/identity.js';
import { snapshotLines } from '../app/run-summary.js';

/**
 * The on-host audit log, after Kamal's auditor: every host a run changed gets one line saying
 * when, who, what command, which tasks changed and how it ended. The format is JSON lines (one
 * object per line): greppable with `tail`/`grep`, parseable with `jq`, and free of the quoting
 * problems a tab-separated line has with task names and command lines.
 */
const DEFAULT_AUDIT_LOG = '/var/log/drover/audit.log';

export interface AuditEntry {
  /** ISO 8601, UTC. */
  time: string;
  /** Who ran drover, as `user@machine`. */
  user: string;
  /** The command line, secrets redacted. */
  command: string;
  /** Names of the tasks (and handlers) that changed something on this host, in order. */
  changed: string[];
  /** This host's result: `ok`, or `failed` / `unreachable` when a task on it did not succeed. */
  result: string;
  /** How the whole run ended (ok, failed, aborted, interrupted...), when it differs from the host's result. */
  run?: string;
  /** The snapshots the run saved before it changed anything (where each went), on every host's line. */
  snapshots?: string[];
  drover_version?: string;
  ci?: CiJob;
}

export interface AuditLocation {
  /** Default /var/log/drover/audit.log. */
  path?: string;
}

const TIMEOUT_SECONDS = 30;

/**
 * Creates the log's directory when needed, then appends the one line on stdin: the entry never
 * goes through argv. Builtins only (`${1%/*}` for dirname, read and printf for cat), so on a
 * host whose log directory exists the append starts no process at all.
 */
const APPEND_SCRIPT =
  'd=${1%/*}; { [ -d "${d:-/}" ] || mkdir -p -- "$d"; } && IFS= read -r line && printf \'%s\\n\' "$line" >> "$1"';
const appendAuditCmd = (path: string): Cmd => exec('sh', '-c', APPEND_SCRIPT, 'sh', path);

/** The last N lines; a host that never had a change has no log, which is an empty answer, not an error. */
const READ_SCRIPT = 'if [ -f "$1" ]; then tail -n "$2" -- "$1"; fi';
const readAuditCmd = (path: string, lines: number): Cmd =>
  exec('sh', '-c', READ_SCRIPT, 'sh', path, String(lines));

/** One JSON object on one line, every string passed through redactText. */
function formatAuditLine(entry: AuditEntry, secrets: Iterable<string> = []): string {
  const list = [...secrets];
  const scrub = (s: string): string => redactText(s, list);
  const clean: AuditEntry = {
    time: entry.time,
    user: scrub(entry.user),
    command: scrub(entry.command),
    changed: entry.changed.map(scrub),
    result: entry.result,
    ...(entry.run !== undefined ? { run: entry.run } : {}),
    ...(entry.snapshots !== undefined ? { snapshots: entry.snapshots.map(scrub) } : {}),
    ...(entry.drover_version !== undefined ? { drover_version: entry.drover_version } : {}),
    ...(entry.ci !== undefined ? { ci: entry.ci } : {}),
  };
  // JSON.stringify escapes newlines inside strings, so an entry is always exactly one line.
  return `${JSON.stringify(clean)}\n`;
}

export async function appendAudit(
  transport: Transport,
  entry: AuditEntry,
  options: AuditLocation & { secrets?: Iterable<string> } = {},
): Promise<void> {
  const cmd = appendAuditCmd(options.path ?? DEFAULT_AUDIT_LOG);
  const r = await transport.exec(cmd, {
    stdin: formatAuditLine(entry, options.secrets),
    timeoutSeconds: TIMEOUT_SECONDS,
  });
  if (r.code !== 0) {
    throw new CommandFailedError(transport.host, render(cmd, { redact: true }), r.code, r.stdout, r.stderr);
  }
}

export interface AuditLog {
  /** Oldest first. */
  entries: AuditEntry[];
  /** Lines among the last N that are not drover audit entries (edited by hand, truncated). */
  unreadable: number;
}

/** The last `lines` (default 50) entries of a host's audit log. */
export async function readAudit(
  transport: Transport,
  options: AuditLocation & { lines?: number } = {},
): Promise<AuditLog> {
  const lines = Math.max(1, Math.floor(options.lines ?? 50));
  const cmd = readAuditCmd(options.path ?? DEFAULT_AUDIT_LOG, lines);
  const r = await transport.exec(cmd, { timeoutSeconds: TIMEOUT_SECONDS });
  if (r.code !== 0) {
    throw new CommandFailedError(transport.host, render(cmd, { redact: true }), r.code, r.stdout, r.stderr);
  }
  const out: AuditLog = { entries: [], unreadable: 0 };
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const entry = parseAuditLine(line);
    if (entry) out.entries.push(entry);
    else out.unreadable++;
  }
  return out;
}

function parseAuditLine(line: string): AuditEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const { time, user, command, changed, result, run, snapshots, drover_version, ci } = o;
  if (typeof time !== 'string' || typeof user !== 'string' || typeof command !== 'string') return undefined;
  if (typeof result !== 'string' || !Array.isArray(changed) || !changed.every((c) => typeof c === 'string')) {
    return undefined;
  }
  const job = ci as Partial<CiJob> | undefined;
  const validCi =
    typeof job === 'object' && job !== null && typeof job.provider === 'string' && typeof job.id === 'string';
  return {
    time,
    user,
    command,
    changed: changed as string[],
    result,
    ...(typeof run === 'string' ? { run } : {}),
    ...(Array.isArray(snapshots) && snapshots.every((x) => typeof x === 'string')
      ? { snapshots: snapshots as string[] }
      : {}),
    ...(typeof drover_version === 'string' ? { drover_version } : {}),
    ...(validCi ? { ci: job as CiJob } : {}),
  };
}

/** `2025-05-01T12:00:00Z alice@ci-7 ok: drover deploy -i prod.yaml; changed: write config, restart consul`. */
export function formatAuditEntry(e: AuditEntry): string {
  const result = e.run && e.run !== e.result ? `${e.result} (run ${e.run})` : e.result;
  const ci = e.ci ? ` [CI job ${e.ci.id}]` : '';
  const snapshots = e.snapshots?.length ? `; ${e.snapshots.join('; ')}` : '';
  return `${e.time} ${e.user}${ci} ${result}: ${e.command}; changed: ${e.changed.join(', ') || 'nothing'}${snapshots}`;
}

export interface AuditRunInput {
  run: CollectedRun;
  conclusion: RunConclusion;
  identity: RunIdentity;
  command: string;
  droverVersion: string;
  now?: () => Date;
}

/**
 * One entry per host the run changed (exactly the recap's changed_hosts), for the CLI to
 * append after a run that was not in check mode. Hosts that changed nothing get no line.
 */
export function auditEntriesForRun(input: AuditRunInput): Map<string, AuditEntry> {
  const time = (input.now ?? (() => new Date()))().toISOString();
  const snapshots = snapshotLines(input.run.outcomes);
  const out = new Map<string, AuditEntry>();
  for (const host of input.run.hosts) {
    const mine = input.run.outcomes.filter((o) => o.host === host);
    const changed = mine
      .filter((o) => o.status === 'changed')
      .map((o) => (o.handler ? `${o.task} (handler)` : o.task));
    if (changed.length === 0) continue;
    const result = mine.some((o) => o.status === 'failed' && !o.ignoredError)
      ? 'failed'
      : mine.some((o) => o.status === 'unreachable')
        ? 'unreachable'
        : 'ok';
    out.set(host, {
      time,
      user: describeWho(input.identity),
      command: input.command,
      changed,
      result,
      ...(input.conclusion.status !== result ? { run: input.conclusion.status } : {}),
      ...(snapshots.length > 0 ? { snapshots } : {}),
      drover_version: input.droverVersion,
      ...(input.identity.ci ? { ci: input.identity.ci } : {}),
    });
  }
  return out;
}
