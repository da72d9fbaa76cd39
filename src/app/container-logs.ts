import { agentContainerName } from '../consul/agent/container-name.js';
import { UnreachableError, UsageError } from '../errors.js';
import { selectHosts } from '../inventory/patterns.js';
import { containerLogs, untilStdinCloses } from '../remote/docker.js';
import { scrubHostOutput, secretsToScrub } from './output-secrets.js';
import type { Session } from './session.js';

/** One line of an agent's log, with the time docker stamped it with. */
export interface LogLine {
  host: string;
  /** Docker's RFC 3339 stamp with its fraction padded to nanoseconds, so that text order is time order. */
  at: string;
  text: string;
}

export interface LogsOptions {
  /** Hosts whose agents' logs are read (default every Consul node). */
  pattern: string;
  /** docker's --since: `10m`, `2h`, an RFC 3339 time. */
  since?: string;
  /** The last N lines of each host (docker's --tail). */
  lines?: number;
  grep?: RegExp;
  follow: boolean;
  /** Each line, in time order across hosts (within a short reorder window while following). */
  onLine: (line: LogLine) => void;
  /** A host whose log could not be read, or whose stream ended. */
  onProblem: (host: string, message: string) => void;
  signal: AbortSignal;
}

/** How long a followed line waits for a line of another host that docker stamped earlier. */
const REORDER_MS = 300;
const READ_TIMEOUT_SECONDS = 60;

/** docker's `--since` forms drover passes on: a duration, a date or time, or a Unix time. */
const SINCE =
  /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$|^\d{4}-\d\d-\d\d([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?$|^\d+(\.\d+)?$/;

/**
 * `drover logs`: the agents' container logs of many hosts as one stream in time order, each
 * line with its host. Without follow: each host's log (docker logs --timestamps) read whole,
 * then merged. Following: one stream per host; a line is held REORDER_MS so that lines of
 * hosts that arrive a little later still come out in docker's time order; Ctrl-C (the signal)
 * ends every stream on the hosts too (untilStdinCloses) and flushes what is held. Returns the
 * hosts that could not be read.
 */
export async function readLogs(session: Session, o: LogsOptions): Promise<string[]> {
  if (o.since !== undefined && !SINCE.test(o.since))
    throw new UsageError(`logs: --since ${JSON.stringify(o.since)} is not a duration (10m, 2h) or a time`);
  const inventory = await session.load({ consul: false });
  const limited = session.hosts();
  const hosts = [...selectHosts(inventory, o.pattern)].filter((h) => limited.includes(h));
  if (hosts.length === 0) throw new UsageError(`logs: "${o.pattern}" matches no host`);
  const secrets = await secretsToScrub(inventory);
  const failed: string[] = [];
  const keep = (host: string, raw: string): LogLine | undefined => {
    const line = parseDockerLine(host, scrubHostOutput(raw, secrets));
    return line && (!o.grep || o.grep.test(line.text)) ? line : undefined;
  };
  const cmdOf = (host: string) =>
    containerLogs(agentContainerName(inventory.hosts.get(host)?.vars), {
      ...(o.since !== undefined && { since: o.since }),
      ...(o.lines !== undefined && { tail: o.lines }),
      follow: o.follow,
    });

  if (!o.follow) {
    const all = await Promise.all(
      hosts.map(async (host) => {
        try {
          const t = await session.connections.get(host);
          const r = await t.exec(cmdOf(host), { timeoutSeconds: READ_TIMEOUT_SECONDS });
          if (r.code !== 0)
            throw new Error(r.stderr.trim().split('\n').pop() || `docker logs exited ${r.code}`);
          // docker logs sends the container's stdout and stderr on its own two: both are the log.
          return [...r.stdout.split('\n'), ...r.stderr.split('\n')].flatMap((l) => keep(host, l) ?? []);
        } catch (err) {
          failed.push(host);
          o.onProblem(host, message(err));
          return [];
        }
      }),
    );
    for (const line of all.flat().sort(byTime)) o.onLine(line);
    return failed;
  }

  const held: (LogLine & { until: number })[] = [];
  const flush = (all: boolean) => {
    const now = Date.now();
    const ready = held.filter((l) => all || l.until <= now).sort(byTime);
    if (ready.length === 0) return;
    const newest = ready[ready.length - 1] as LogLine;
    // Everything held that docker stamped before the newest line that goes out goes out too.
    const out = held.filter((l) => all || l.until <= now || byTime(l, newest) <= 0).sort(byTime);
    for (const l of out) held.splice(held.indexOf(l), 1);
    for (const l of out) o.onLine({ host: l.host, at: l.at, text: l.text });
  };
  const timer = setInterval(() => flush(false), 100);
  try {
    await Promise.all(
      hosts.map(async (host) => {
        try {
          const t = await session.connections.get(host);
          if (!t.stream) throw new Error('this connection cannot stream');
          const { code } = await t.stream(untilStdinCloses(cmdOf(host)), {
            onLine: (raw) => {
              const line = keep(host, raw);
              if (line) held.push({ ...line, until: Date.now() + REORDER_MS });
            },
            signal: o.signal,
          });
          if (!o.signal.aborted) o.onProblem(host, `its log stream ended (exit ${code ?? 'none'})`);
        } catch (err) {
          failed.push(host);
          o.onProblem(host, message(err));
        }
      }),
    );
  } finally {
    clearInterval(timer);
    flush(true);
  }
  return failed;
}

const message = (err: unknown): string =>
  err instanceof UnreachableError ? err.message : err instanceof Error ? err.message : String(err);

/** `2026-12-08T01:45:07.1234Z text` -> its host, its stamp padded to nanoseconds, and its text. */
export function parseDockerLine(host: string, raw: string): LogLine | undefined {
  if (raw === '') return undefined;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z (.*)$/.exec(raw);
  if (!m) return { host, at: '', text: raw };
  return { host, at: `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}Z`, text: m[3] ?? '' };
}

const byTime = (a: LogLine, b: LogLine): number => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0);
