import { formatRecap } from './recap.js';
import type { HostRecap, Reporter, TaskBeginEvent, TaskOutcome } from './reporter.js';

/** Anything with write(): process.stdout, a file stream, a test buffer. */
export interface TextSink {
  write(text: string): unknown;
}

/**
 * One line per task result per host, for CI logs and pipes: nothing redraws, everything greps.
 *
 *     TASK [write config]
 *     changed: [s1] write config - write /opt/consul/config/consul.json
 *     failed: [s2] write config - s2: command failed (exit 1): ...
 */
export class PlainReporter implements Reporter {
  constructor(private readonly out: TextSink) {}

  playStart(play: string, hosts: readonly string[]): void {
    this.line(`\nPLAY [${play}] (${hosts.length} ${hosts.length === 1 ? 'host' : 'hosts'})`);
  }

  batchStart(_play: string, hosts: readonly string[], index: number, total: number): void {
    if (total > 1) this.line(`BATCH ${index}/${total}: ${hosts.join(', ')}`);
  }

  taskBegin(event: TaskBeginEvent): void {
    this.line(`${event.handler ? 'HANDLER' : 'TASK'} [${event.task}]`);
  }

  taskStart(): void {
    // Results carry everything worth a line; a start line per host would double CI logs.
  }

  taskEnd(o: TaskOutcome): void {
    this.line(formatOutcome(o));
    if (o.diff) this.out.write(o.diff.endsWith('\n') ? o.diff : `${o.diff}\n`);
  }

  note(message: string, host?: string): void {
    this.line(host ? `note: [${host}] ${message}` : `note: ${message}`);
  }

  runEnd(recap: Readonly<Record<string, HostRecap>>): void {
    this.out.write(`\n${formatRecap(recap)}`);
  }

  async flush(): Promise<void> {}

  private line(text: string): void {
    this.out.write(`${text}\n`);
  }
}

/**
 * `-q`: the PLAY RECAP, and nothing before it but the lines of tasks that failed (and were not
 * ignored), so that a quiet run still says why a host failed.
 */
export class QuietReporter implements Reporter {
  constructor(private readonly out: TextSink) {}
  playStart(): void {}
  taskStart(): void {}
  taskEnd(o: TaskOutcome): void {
    if ((o.status === 'failed' && !o.ignoredError) || o.status === 'unreachable')
      this.out.write(`${formatOutcome(o)}\n`);
  }
  runEnd(recap: Readonly<Record<string, HostRecap>>): void {
    this.out.write(`${formatRecap(recap)}`);
  }
  async flush(): Promise<void> {}
}

/**
 * An `ok` result whose summary announces work still to come, which every view shows although
 * the task itself changed nothing: a Consul config change and its class (`config change:
 * restart: retry_interval (restart)`, from consul_config_check) and a restart or reload an
 * agent still owes (`restart owed: ...`, from consul_agent_state), a leader that could not hand
 * over before its stop (`no transfer: ...`, from consul_leader_transfer), a client restarted
 * without going out of DNS first (`no maintenance: ...`, consul_maintenance), a downgrade let through
 * by --force or a version that could not be compared (`forced: ...`, `cannot compare versions:
 * ...`, from consul_image_version). These modules register the
 * same facts as data, but a reporter only sees a task's summary: the summary is the contract.
 */
export function announcesChange(o: TaskOutcome): boolean {
  return o.status === 'ok' && o.message !== undefined && ANNOUNCES.test(o.message);
}

const ANNOUNCES =
  /^(config change: (?!no-op)|restart owed: |reload owed: |no transfer: |no maintenance: |forced: |cannot compare versions: )/;

/** `changed: [s1] task - message`, with `...ignoring` for ignored failures (`...rescued` for rescued ones). */
export function formatOutcome(o: TaskOutcome): string {
  const label = o.handler ? `${o.task} (handler)` : o.task;
  const said = o.status !== 'ok' && o.status !== 'skipped';
  const tail = o.message && (said || announcesChange(o) || includes(o)) ? ` - ${o.message}` : '';
  const ignoring = o.rescued ? ' ...rescued' : o.ignoredError ? ' ...ignoring' : '';
  return `${o.status}: [${o.host}] ${label}${tail}${ignoring}`;
}

/** An include_tasks that ran says which file it read for the host, as Ansible's `included:` line does. */
const includes = (o: TaskOutcome): boolean =>
  o.status === 'ok' && o.message?.startsWith('included: ') === true;
