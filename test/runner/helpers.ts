/**
 * Test fixtures for the runner: hand-built inventories, a tiny host selector, planned modules
 * whose facts and steps go through the transport like real ones, and a reporter that records
 * every event.
 */
import { CommandFailedError } from '../../src/errors.js';
import type { Group, Host, Inventory, Vars } from '../../src/inventory/types.js';
import type { Change, PlannedModule } from '../../src/modules/module.js';
import { parsePlaybookText } from '../../src/playbook/load-playbook.js';
import type { Playbook } from '../../src/playbook/types.js';
import { runPlaybook, type RunOptions, type RunResult } from '../../src/runner/run-playbook.js';
import type { Reporter, TaskBeginEvent, TaskEvent, TaskOutcome } from '../../src/runner/reporter.js';
import { effectOnly, execStep, mapStep } from '../../src/remote/step.js';
import { exec, render } from '../../src/shell/cmd.js';
import { Secret } from '../../src/shell/secret.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import type { ExecResult } from '../../src/ssh/transport.js';
import { FakeClock } from '../../src/util/fake-clock.js';

/** groups: group -> hosts (in order); vars: host -> vars; groupVars: group -> vars (applied below host vars). */
export function makeInventory(spec: {
  groups: Record<string, string[]>;
  vars?: Record<string, Vars>;
  groupVars?: Record<string, Vars>;
}): Inventory {
  const hostNames = [...new Set(Object.values(spec.groups).flat())];
  const hosts = new Map<string, Host>();
  for (const name of hostNames) {
    const groups = ['all', ...Object.keys(spec.groups).filter((g) => spec.groups[g]?.includes(name))];
    const vars: Vars = { address: `10.0.0.${hosts.size + 1}` };
    for (const g of groups) Object.assign(vars, spec.groupVars?.[g]);
    Object.assign(vars, spec.vars?.[name]);
    hosts.set(name, { name, address: vars['address'] as string, groups, vars });
  }
  const groups = new Map<string, Group>();
  groups.set('all', { name: 'all', vars: {}, children: [], directHosts: hostNames, hosts: hostNames });
  for (const [name, members] of Object.entries(spec.groups)) {
    groups.set(name, {
      name,
      vars: spec.groupVars?.[name] ?? {},
      children: [],
      directHosts: members,
      hosts: members,
    });
  }
  return { file: 'inventory.yaml', hosts, groups, warnings: [] };
}

/** Union of group and host names (`a:b`), in inventory order; enough for runner tests. */
export function selectHosts(inv: Inventory, pattern: string): string[] {
  const wanted = new Set(
    pattern.split(':').flatMap((p) => inv.groups.get(p)?.hosts ?? (inv.hosts.has(p) ? [p] : [])),
  );
  return [...inv.hosts.keys()].filter((h) => wanted.has(h));
}

/** `shell: {cmd}`: plans the command as a write step; a non-zero exit is a CommandFailedError. */
export const shellModule: PlannedModule<{ cmd: string; creates?: boolean }> = {
  kind: 'planned',
  name: 'shell',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['cmd'],
    properties: { cmd: { type: 'string' }, creates: { type: 'boolean' } },
  },
  facts: () => ({}),
  plan(args): Change {
    const cmd = exec('sh', '-c', args.cmd);
    return {
      changed: true,
      summary: `run ${render(cmd, { redact: true })}`,
      steps: [
        mapStep(execStep('write', cmd), (r, site) => {
          if (r.code !== 0) {
            throw new CommandFailedError(
              site.host,
              render(cmd, { redact: true }),
              r.code,
              r.stdout,
              r.stderr,
            );
          }
          return { rc: r.code, stdout: r.stdout.trim(), stderr: r.stderr };
        }),
      ],
    };
  },
};

/** `probe: {what}`: a read-only check (runs `probe <what>` even in check mode), never changed. */
export const probeModule: PlannedModule<{ what: string }, { what: string }, { r: ExecResult }> = {
  kind: 'planned',
  name: 'probe',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['what'],
    properties: { what: { type: 'string' } },
  },
  facts: (args) => ({ r: execStep('read', exec('probe', args.what)) }),
  plan: (args, { r }) => ({
    changed: false,
    summary: `probe ${args.what}`,
    data: { rc: r.code, stdout: r.stdout.trim() },
  }),
};

/** `write: {path, content}`: reads the file as a fact, writes it in a step; content may be a Secret. */
export const writeModule: PlannedModule<
  { path: string; content: string | Secret },
  { path: string; content: string | Secret },
  { current: ExecResult }
> = {
  kind: 'planned',
  name: 'write',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['path', 'content'],
    properties: { path: { type: 'string' }, content: { type: 'string' } },
  },
  facts: (args) => ({ current: execStep('read', exec('cat', args.path)) }),
  plan(args, { current }): Change {
    const wanted = args.content instanceof Secret ? args.content.reveal() : args.content;
    const shown = String(args.content); // a Secret prints redacted
    const before = current.code === 0 ? current.stdout : null;
    if (before === wanted) return { changed: false, summary: `${args.path} is up to date` };
    return {
      changed: true,
      summary: `write ${args.path}`,
      diff: [{ path: args.path, before, after: shown }],
      steps: [effectOnly(execStep('write', exec('write', args.path), { stdin: wanted }))],
    };
  },
};

export const testModules = { shell: shellModule, probe: probeModule, write: writeModule };

export type Event =
  | { kind: 'play'; play: string; hosts: readonly string[] }
  | { kind: 'batch'; hosts: readonly string[]; index: number; total: number }
  | { kind: 'begin'; event: TaskBeginEvent }
  | { kind: 'start'; event: TaskEvent }
  | { kind: 'end'; outcome: TaskOutcome }
  | { kind: 'note'; message: string; host?: string };

export class RecordingReporter implements Reporter {
  readonly events: Event[] = [];
  playStart(play: string, hosts: readonly string[]) {
    this.events.push({ kind: 'play', play, hosts });
  }
  batchStart(_play: string, hosts: readonly string[], index: number, total: number) {
    this.events.push({ kind: 'batch', hosts, index, total });
  }
  taskBegin(event: TaskBeginEvent) {
    this.events.push({ kind: 'begin', event });
  }
  taskStart(event: TaskEvent) {
    this.events.push({ kind: 'start', event });
  }
  taskEnd(outcome: TaskOutcome) {
    this.events.push({ kind: 'end', outcome });
  }
  note(message: string, host?: string) {
    this.events.push({ kind: 'note', message, ...(host ? { host } : {}) });
  }
  get outcomes(): TaskOutcome[] {
    return this.events.flatMap((e) => (e.kind === 'end' ? [e.outcome] : []));
  }
  /** `status host task` lines, in report order. */
  get lines(): string[] {
    return this.outcomes.map((o) => `${o.status} ${o.host} ${o.task}`);
  }
  get notes(): string[] {
    return this.events.flatMap((e) => (e.kind === 'note' ? [e.message] : []));
  }
}

export function playbook(yaml: string): Playbook {
  return parsePlaybookText(yaml, 'site.yaml', testModules);
}

/** Transports that answer every command with success unless scripted otherwise first. */
export function transports(
  hosts: string[],
  script?: (t: RecordingTransport) => void,
): Map<string, RecordingTransport> {
  return new Map(
    hosts.map((h) => {
      const t = new RecordingTransport(h);
      script?.(t);
      t.onExec(/^cat /, { code: 1, stderr: 'No such file' }).onExec(/.*/, { code: 0 });
      return [h, t];
    }),
  );
}

export interface Harness extends RunResult {
  reporter: RecordingReporter;
  transports: Map<string, RecordingTransport>;
  connects: string[];
}

export async function runWith(
  book: string | Playbook,
  inventory: Inventory,
  opts: Partial<RunOptions> & { script?: (t: RecordingTransport) => void; unreachable?: string[] } = {},
): Promise<Harness> {
  const reporter = new RecordingReporter();
  const ts = transports([...inventory.hosts.keys()], opts.script);
  const connects: string[] = [];
  const { script: _s, unreachable = [], ...rest } = opts;
  const result = await runPlaybook({
    playbook: typeof book === 'string' ? playbook(book) : book,
    inventory,
    selectHosts,
    modules: testModules,
    baseDir: '/project',
    reporter,
    clock: new FakeClock(),
    // One host at a time keeps report order = host order, so tests can compare whole lists.
    forks: 1,
    connect: async (host) => {
      connects.push(host.name);
      const { UnreachableError } = await import('../../src/errors.js');
      if (unreachable.includes(host.name)) throw new UnreachableError(host.name, 'connection refused');
      return ts.get(host.name) as RecordingTransport;
    },
    ...rest,
  });
  return { ...result, reporter, transports: ts, connects };
}
