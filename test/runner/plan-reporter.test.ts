/**
 * The text of `drover plan` (src/report/plan-text.ts): one short block of what would change per
 * host, with each Consul config change's class and what an agent still owes, from what the
 * runner reports. The class reaches the reporter as consul_config_check's summary, made by
 * describeConfigChange from the same data the module registers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { classifyConfigChange, describeConfigChange } from '../../src/consul/agent/config-change.js';
import { builtinModules } from '../../src/modules/registry.js';
import { parsePlaybookText } from '../../src/playbook/load-playbook.js';
import { formatPlan, PlanReporter } from '../../src/report/plan-text.js';
import { createReporter } from '../../src/runner/create-reporter.js';
import { ListrReporter } from '../../src/runner/listr-reporter.js';
import { announcesChange, formatOutcome, PlainReporter } from '../../src/runner/plain-reporter.js';
import { formatRecap } from '../../src/runner/recap.js';
import { runPlaybook } from '../../src/runner/run-playbook.js';
import type { TaskOutcome } from '../../src/runner/reporter.js';
import { Screen } from '../cli/terminal.js';
import { makeInventory, selectHosts, transports } from './helpers.js';

/** A result as the runner reports it; durations do not show. */
const outcome = (
  host: string,
  task: string,
  status: TaskOutcome['status'],
  more: Partial<TaskOutcome> = {},
) => ({ play: 'agents', task, host, status, durationMs: 1, ...more }) satisfies TaskOutcome;

/** consul_config_check's summary for a change from `before` to `after`, as the module builds it. */
const configChange = (before: Record<string, unknown>, after: Record<string, unknown>) =>
  `config change: ${describeConfigChange(classifyConfigChange(before, after))}`;

const DIFF =
  '--- a/etc/consul.json\n+++ b/etc/consul.json\n@@ -1 +1 @@\n-{"log_level":"info"}\n+{"log_level":"debug"}\n';

describe('the plan block', () => {
  it('per host: the config change with its class, the changes with their diffs; the rest folded', () => {
    const outcomes = [
      outcome('h1', 'agent config change class', 'ok', {
        message: configChange({ log_level: 'info' }, { log_level: 'debug' }),
      }),
      outcome('h2', 'agent config change class', 'ok', {
        message: configChange(
          { log_level: 'info', retry_interval: '30s' },
          { log_level: 'debug', retry_interval: '5s' },
        ),
      }),
      outcome('h3', 'agent config change class', 'ok', { message: configChange({ a: 1 }, { a: 1 }) }),
      outcome('h1', 'agent config', 'changed', {
        message: 'update /etc/consul.json (mode 0600)',
        diff: DIFF,
      }),
      outcome('h2', 'agent config', 'changed', { message: 'update /etc/consul.json (mode 0600)' }),
      outcome('h1', 'look around', 'ok', { message: 'probe x' }),
      outcome('h3', 'look around', 'ok'),
      outcome('h3', 'optional', 'failed', { message: 'h3: nope', ignoredError: true }),
      outcome('h1', 'reload consul', 'changed', { message: 'run docker exec consul consul reload' }),
      outcome('h2', 'restart consul', 'changed', { message: 'run docker restart consul', handler: true }),
      outcome('h4', 'host pre-flight', 'skipped', { message: 'skipped: condition "x" is false' }),
    ];
    assert.equal(
      formatPlan(['h1', 'h2', 'h3', 'h4'], outcomes),
      [
        'ok: [h1] agent config change class - config change: reload: log_level (reload)',
        'changed: [h1] agent config - update /etc/consul.json (mode 0600)',
        DIFF.trimEnd(),
        'changed: [h1] reload consul - run docker exec consul consul reload',
        '',
        'ok: [h2] agent config change class - config change: restart: log_level (reload), retry_interval (restart)',
        'changed: [h2] agent config - update /etc/consul.json (mode 0600)',
        'changed: [h2] restart consul (handler) - run docker restart consul',
        '',
        'no change: h3, h4',
        '',
      ].join('\n'),
    );
  });

  it('shows the restart (or reload) an agent owes, though no file changes', () => {
    const outcomes = [
      outcome('s1', 'what the agent owes', 'ok', {
        message: 'restart owed: config changed since the agent started',
      }),
      outcome('s2', 'what the agent owes', 'ok', {
        message: 'nothing owed: the agent runs the files on disk',
      }),
      outcome('c1', 'what the agent owes', 'ok', {
        message: 'reload owed: config or services changed since the agent last read them',
      }),
      outcome('s1', 'restart consul', 'changed', { message: 'run docker restart consul' }),
    ];
    assert.equal(
      formatPlan(['s1', 's2', 'c1'], outcomes),
      [
        'ok: [s1] what the agent owes - restart owed: config changed since the agent started',
        'changed: [s1] restart consul - run docker restart consul',
        '',
        'ok: [c1] what the agent owes - reload owed: config or services changed since the agent last read them',
        '',
        'no change: s2',
        '',
      ].join('\n'),
    );
  });

  it('says in one line when nothing would change; hosts no task ran on are not counted as unchanged', () => {
    const outcomes = [
      outcome('h1', 'agent config', 'ok'),
      outcome('h2', 'agent config', 'ok', { message: configChange({ a: 1 }, { a: 1 }) }),
    ];
    assert.equal(formatPlan(['h1', 'h2', 'h3'], outcomes), 'nothing to change (2 hosts)\n');
    assert.equal(formatPlan(['h1'], outcomes.slice(0, 1)), 'nothing to change (1 host)\n');
    assert.equal(formatPlan(['h1'], []), 'nothing to change: no task ran\n');
  });

  it('shows why a host could not be planned', () => {
    const outcomes = [
      outcome('h1', 'agent config', 'ok'),
      outcome('h2', 'agent config', 'unreachable', {
        message: 'h2: unreachable: connection refused by 10.0.0.2:22',
      }),
      outcome('h3', 'agent config', 'failed', { message: 'h3: template x: unknown variable' }),
    ];
    assert.equal(
      formatPlan(['h1', 'h2', 'h3'], outcomes),
      [
        'unreachable: [h2] agent config - h2: unreachable: connection refused by 10.0.0.2:22',
        '',
        'failed: [h3] agent config - h3: template x: unknown variable',
        '',
        'no change: h1',
        '',
      ].join('\n'),
    );
  });
});

describe('a config change and a restart owed show in every view, though their tasks are ok', () => {
  const announced = outcome('h1', 'agent config change class', 'ok', {
    message: 'config change: restart: retry_interval (restart)',
  });
  const quiet = [
    outcome('h1', 'agent config change class', 'ok', {
      message: 'config change: no-op (no setting changed)',
    }),
    outcome('h1', 'what the agent owes', 'ok', { message: 'nothing owed: the agent runs the files on disk' }),
    outcome('h1', 'look', 'ok', { message: 'probe x' }),
  ];

  it('in the plain lines of deploy, run and plan -v', () => {
    assert.ok(announcesChange(announced));
    assert.equal(
      formatOutcome(announced),
      'ok: [h1] agent config change class - config change: restart: retry_interval (restart)',
    );
    for (const o of quiet) {
      assert.ok(!announcesChange(o), o.message);
      assert.equal(formatOutcome(o), `ok: [h1] ${o.task}`);
    }
    // Only an ok result announces: a failure already shows its message, a change is a change.
    assert.ok(!announcesChange({ ...announced, status: 'changed' }));
    // A leader that could not hand over before its restart is said too (an election follows).
    const kept = outcome('s1', 'leadership moves away', 'ok', {
      message:
        'no transfer: s1 leads and keeps it (this Consul has no leadership transfer (1.15+)); stopping it forces an election',
    });
    assert.equal(formatOutcome(kept), `ok: [s1] leadership moves away - ${kept.message}`);
    const follower = outcome('s2', 'leadership moves away', 'ok', {
      message: 's2 does not lead (leader: s1)',
    });
    assert.equal(formatOutcome(follower), 'ok: [s2] leadership moves away');
    // A downgrade --force let through, and a version that could not be compared, are said too.
    for (const message of [
      'forced: s1: reg/consul:1.20.1 is Consul 1.20.1, older than the 1.20.2 this agent runs',
      'cannot compare versions: hashicorp/consul:latest names no version',
    ]) {
      const o = outcome('s1', 'image is not older than the running agent', 'ok', { message });
      assert.equal(formatOutcome(o), `ok: [s1] image is not older than the running agent - ${message}`);
    }
    const same = outcome('s1', 'image is not older than the running agent', 'ok', {
      message: 'Consul 1.20.1, as running',
    });
    assert.equal(formatOutcome(same), 'ok: [s1] image is not older than the running agent');
  });

  it('in the live list', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    const listr = new ListrReporter({ stream, renderer: 'simple' });
    listr.playStart('agents', ['h1']);
    for (const o of [announced, ...quiet]) {
      listr.taskBegin({ play: 'agents', task: o.task, hosts: ['h1'] });
      listr.taskEnd(o);
    }
    await listr.flush();
    assert.match(text, /h1: ok - config change: restart: retry_interval \(restart\)/);
    assert.doesNotMatch(text, /no-op|nothing owed|probe x/);
  });
});

describe('the real modules, planned through the runner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-plan-text-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'agent.json.hbs'),
    '{"log_level": {{json level}}, "retry_interval": {{json retry}} }',
  );

  it('consul_config_check gives each host its class, consul_agent_state the restart it owes', async () => {
    const inv = makeInventory({
      groups: { servers: ['s1', 's2', 's3'] },
      groupVars: { all: { level: 'info', retry: '30s' } },
      vars: { s1: { level: 'debug' }, s2: { retry: '5s' } },
    });
    const onHost = { log_level: 'info', retry_interval: '30s' };
    const started = 'started 2026-12-06T21:00:00.000000001Z true\n';
    const later = `${BigInt(Date.UTC(2026, 11, 6, 21, 0, 1)) * 1_000_000n}`;
    const ts = transports(['s1', 's2', 's3'], (t) => {
      t.onExec(/^sh -c 'if \[ -f/, {
        stdout: `present 600 100 consul 1000 consul\n${JSON.stringify(onHost)}`,
      });
      // s3's config is as planned, but an earlier run wrote a restart-class change it never applied.
      t.onExec(/^sh -c .*State\.StartedAt/s, {
        stdout: t.host === 's3' ? `${started}restart-owed ${later}\n` : started,
      });
    });
    const modules = builtinModules();
    const book = parsePlaybookText(
      [
        '- name: agents',
        '  hosts: servers',
        '  tasks:',
        '    - name: agent config change class',
        '      consul_config_check: { src: agent.json.hbs, dest: /etc/consul/consul.json }',
        '    - name: what the agent owes',
        '      consul_agent_state: { container: consul }',
        '',
      ].join('\n'),
      'site.yaml',
      modules,
    );
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    const result = await runPlaybook({
      playbook: book,
      inventory: inv,
      selectHosts,
      modules,
      connect: async (h) => ts.get(h.name)!,
      baseDir: dir,
      reporter: new PlanReporter(stream),
      check: true,
      diff: true,
    });
    assert.equal(result.status, 'ok', text);
    assert.equal(
      text,
      [
        'ok: [s1] agent config change class - config change: reload: log_level (reload)',
        '',
        'ok: [s2] agent config change class - config change: restart: retry_interval (restart)',
        '',
        'ok: [s3] what the agent owes - restart owed: config changed since the agent started',
        '',
        formatRecap(result.recap),
      ].join('\n'),
    );
  });
});

describe('PlanReporter', () => {
  const run = (reporter: PlanReporter) => {
    reporter.playStart('agents', ['h1', 'h2']);
    reporter.taskBegin({ play: 'agents', task: 'agent config', hosts: ['h1', 'h2'] });
    reporter.taskEnd(outcome('h1', 'agent config', 'changed', { message: 'update /etc/consul.json' }));
    reporter.taskEnd(outcome('h2', 'agent config', 'ok'));
    const recap = {
      h1: { ok: 1, changed: 1, failed: 0, skipped: 0, unreachable: 0, ignored: 0 },
      h2: { ok: 1, changed: 0, failed: 0, skipped: 0, unreachable: 0, ignored: 0 },
    };
    reporter.runEnd(recap);
    return formatRecap(recap);
  };

  it('prints nothing until the run is over, then the plan and the recap', () => {
    let text = '';
    const recap = run(new PlanReporter({ write: (t: string) => (text += t) }));
    assert.equal(text, `changed: [h1] agent config - update /etc/consul.json\n\nno change: h2\n\n${recap}`);
  });

  it('on a terminal, one line says where the plan is, and is gone when the plan prints', () => {
    let raw = '';
    const recap = run(new PlanReporter({ write: (t: string) => (raw += t) }, { liveColumns: 120 }));
    assert.ok(raw.includes('\r\x1b[2Kplanning: agent config (0/2)'), JSON.stringify(raw));
    assert.ok(raw.includes('\r\x1b[2Kplanning: agent config (1/2)'), JSON.stringify(raw));
    // What the terminal shows at the end (a pty turns \n into \r\n): the plan, no progress line.
    const screen = new Screen(120);
    screen.feed(raw.replaceAll('\n', '\r\n'));
    assert.deepEqual(screen.lines(), [
      'changed: [h1] agent config - update /etc/consul.json',
      '',
      'no change: h2',
      '',
      ...recap.trimEnd().split('\n'),
    ]);
  });

  it('cuts its line to the width less one column: a full line would wrap, and a carriage return would redraw only its end', () => {
    let raw = '';
    const reporter = new PlanReporter({ write: (t: string) => (raw += t) }, { liveColumns: 20 });
    reporter.taskBegin({ play: 'agents', task: 'a task with a long name', hosts: ['h1'] });
    assert.equal(raw, '\r\x1b[2Kplanning: a task wi');
  });

  it('erases its line when the run throws instead of ending', async () => {
    let raw = '';
    const reporter = new PlanReporter({ write: (t: string) => (raw += t) }, { liveColumns: 80 });
    reporter.taskBegin({ play: 'agents', task: 'agent config', hosts: ['h1'] });
    await reporter.flush();
    assert.ok(raw.endsWith('planning: agent config (0/1)\r\x1b[2K'), JSON.stringify(raw));
  });

  it('is what createReporter gives plan, on a terminal and in a pipe', async () => {
    const stream = Object.assign(new PassThrough(), { columns: 80 });
    for (const tty of [true, false])
      assert.ok((await createReporter({ tty, ci: false, stream, view: 'plan' })) instanceof PlanReporter);
    assert.ok(
      (await createReporter({ tty: false, ci: false, stream, view: 'tasks' })) instanceof PlainReporter,
    );
  });
});
