import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Change, ConversationModule, Outcome, PlannedModule } from '../../src/modules/module.js';
import { execStep, httpStep, mapStep } from '../../src/remote/step.js';
import { exec } from '../../src/shell/cmd.js';
import { makeInventory, runWith, selectHosts, testModules } from './helpers.js';
import { runPlaybook } from '../../src/runner/run-playbook.js';
import { parsePlaybookText } from '../../src/playbook/load-playbook.js';
import { RecordingReporter } from './helpers.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { FakeClock } from '../../src/util/fake-clock.js';
import { exitCodeFor } from '../../src/report/conclusion.js';

const five = makeInventory({ groups: { servers: ['s1', 's2', 's3', 's4', 's5'] } });
const three = makeInventory({ groups: { servers: ['s1', 's2', 's3'] } });

test('linear strategy: each task finishes on every host before the next starts', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - name: one
      shell: { cmd: one }
    - name: two
      probe: { what: two }
`,
    three,
    { forks: 2 },
  );
  // Hosts finish a task in any order, but every host ends task one before any host starts task two.
  const order = r.reporter.events.flatMap((e) =>
    e.kind === 'end' ? [`end ${e.outcome.task}`] : e.kind === 'start' ? [`start ${e.event.task}`] : [],
  );
  assert.ok(order.lastIndexOf('end one') < order.indexOf('start two'), order.join(', '));
  assert.deepEqual([...r.reporter.lines].sort(), [
    'changed s1 one',
    'changed s2 one',
    'changed s3 one',
    'ok s1 two',
    'ok s2 two',
    'ok s3 two',
  ]);
  assert.equal(exitCodeFor(r.status), 0);
  assert.equal(r.status, 'ok');
  assert.deepEqual(r.changedHosts, ['s1', 's2', 's3']);
  assert.deepEqual(r.recap['s1'], { ok: 2, changed: 1, failed: 0, skipped: 0, unreachable: 0, ignored: 0 });
});

test('forks bounds how many hosts work at once', async () => {
  let running = 0;
  let peak = 0;
  const slow: ConversationModule<Record<string, never>> = {
    kind: 'conversation',
    name: 'slow',
    argsSchema: { type: 'object' },
    async run() {
      running++;
      peak = Math.max(peak, running);
      await new Promise((res) => setTimeout(res, 5));
      running--;
      return { changed: false, summary: 'slept' };
    },
  };
  const modules = { ...testModules, slow };
  const inv = makeInventory({ groups: { all5: ['a', 'b', 'c', 'd', 'e'] } });
  const result = await runPlaybook({
    playbook: parsePlaybookText('- hosts: all5\n  tasks:\n    - slow: {}\n', 'p.yaml', modules),
    inventory: inv,
    selectHosts,
    modules,
    connect: async (h) => new RecordingTransport(h.name),
    forks: 2,
    baseDir: '/',
    reporter: new RecordingReporter(),
  });
  assert.equal(exitCodeFor(result.status), 0);
  assert.equal(peak, 2);
});

test('when skips, register stores the result, later conditions read it', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - name: leader?
      probe: { what: leader }
      register: leader
    - name: only on the leader
      shell: { cmd: "bootstrap {{ inventory_hostname }}" }
      when: leader.stdout == 'yes'
      register: boot
    - name: after
      probe: { what: "{{ boot.skipped }}" }
`,
    three,
    { forks: 1, script: (t) => t.onExec('probe leader', { stdout: t.host === 's2' ? 'yes\n' : 'no\n' }) },
  );
  assert.deepEqual(r.reporter.lines, [
    'ok s1 leader?',
    'ok s2 leader?',
    'ok s3 leader?',
    'skipped s1 only on the leader',
    'changed s2 only on the leader',
    'skipped s3 only on the leader',
    'ok s1 after',
    'ok s2 after',
    'ok s3 after',
  ]);
  assert.deepEqual(r.transports.get('s2')?.commands, ['probe leader', "sh -c 'bootstrap s2'", 'probe false']);
  assert.deepEqual(r.transports.get('s1')?.commands, ['probe leader', 'probe true']);
  assert.deepEqual(r.changedHosts, ['s2']);
  assert.equal(r.recap['s1']?.skipped, 1);
});

test('until/retries re-runs a task until the condition holds, noting each retry', async () => {
  let calls = 0;
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - name: wait for leader
      probe: { what: leader }
      register: leader
      until: leader.stdout == 'elected'
      retries: 5
      delay: 1
`,
    three,
    { script: (t) => t.onExec('probe leader', () => ({ stdout: ++calls >= 3 ? 'elected' : 'none' })) },
  );
  assert.deepEqual(r.reporter.lines, ['ok s1 wait for leader']);
  assert.equal(calls, 3);
  assert.deepEqual(r.reporter.notes, [
    'retrying "wait for leader" (attempt 2 of 6, next in 1s)',
    'retrying "wait for leader" (attempt 3 of 6, next in 1s)',
  ]);
});

test('until gives up after retries+1 attempts and fails the host', async () => {
  const clock = new FakeClock();
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - name: wait
      probe: { what: leader }
      register: leader
      until: leader.stdout == 'elected'
      retries: 2
      delay: 3
`,
    three,
    { clock },
  );
  assert.deepEqual(r.reporter.lines, ['failed s1 wait']);
  assert.deepEqual(r.transports.get('s1')?.commands, ['probe leader', 'probe leader', 'probe leader']);
  assert.deepEqual(clock.sleeps, [3000, 3000]);
  // The last attempt's own words first (what was seen), then how long it was tried.
  assert.match(
    r.reporter.outcomes[0]?.message ?? '',
    /^probe leader\n\(until "leader.stdout == 'elected'" still false after 3 attempts\)$/,
  );
  assert.equal(exitCodeFor(r.status), 2);
});

test('a failed host stops; the others go on; ignore_errors keeps a host going', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - name: risky
      shell: { cmd: risky }
    - name: optional
      shell: { cmd: optional }
      ignore_errors: true
    - name: last
      probe: { what: last }
`,
    three,
    {
      script: (t) => {
        if (t.host === 's2') t.onExec(`sh -c risky`, { code: 1, stderr: 'boom' });
        if (t.host === 's3') t.onExec(`sh -c optional`, { code: 3 });
      },
    },
  );
  assert.deepEqual(r.reporter.lines, [
    'changed s1 risky',
    'failed s2 risky',
    'changed s3 risky',
    'changed s1 optional',
    'failed s3 optional',
    'ok s1 last',
    'ok s3 last',
  ]);
  assert.match(r.reporter.outcomes[1]?.message ?? '', /s2: command failed \(exit 1\): sh -c risky\nboom/);
  assert.equal(r.reporter.outcomes[4]?.ignoredError, true);
  assert.deepEqual(r.recap['s3'], { ok: 2, changed: 1, failed: 0, skipped: 0, unreachable: 0, ignored: 1 });
  assert.deepEqual(r.failedHosts, ['s2']);
  assert.equal(exitCodeFor(r.status), 2);
});

test('changed_when and failed_when override what the module said', async () => {
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - name: grep
      shell: { cmd: "grep x /f" }
      register: g
      failed_when: g.rc is defined and g.rc > 1
      changed_when: false
    - name: was it found?
      probe: { what: "{{ g.rc }}" }
    - name: mark
      probe: { what: mark }
      changed_when: true
`,
    three,
    { script: (t) => t.onExec(/grep/, { code: 1 }) },
  );
  assert.deepEqual(r.reporter.lines, ['ok s1 grep', 'ok s1 was it found?', 'changed s1 mark']);
  assert.deepEqual(r.transports.get('s1')?.commands, [`sh -c 'grep x /f'`, 'probe 1', 'probe mark']);
});

test('handlers run once per host at the end of the batch, only where notified, in definition order', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - name: config
      write: { path: /etc/c.json, content: "new" }
      notify: restart
    - name: config again
      write: { path: /etc/d.json, content: "new" }
      notify: [reload, restart]
    - name: after
      probe: { what: after }
  handlers:
    - name: reload
      shell: { cmd: reload }
    - name: restart
      shell: { cmd: restart }
`,
    three,
    // s1 is already up to date: it changes nothing, so it runs no handler.
    { script: (t) => t.host === 's1' && t.onExec(/^cat /, { stdout: 'new' }) },
  );
  assert.deepEqual(r.reporter.lines, [
    'ok s1 config',
    'changed s2 config',
    'changed s3 config',
    'ok s1 config again',
    'changed s2 config again',
    'changed s3 config again',
    'ok s1 after',
    'ok s2 after',
    'ok s3 after',
    'changed s2 reload',
    'changed s3 reload',
    'changed s2 restart',
    'changed s3 restart',
  ]);
  assert.deepEqual(r.transports.get('s1')?.commands, ['cat /etc/c.json', 'cat /etc/d.json', 'probe after']);
  assert.equal(r.transports.get('s2')?.commands.filter((c) => c === 'sh -c restart').length, 1);
  assert.ok(r.reporter.outcomes.filter((o) => o.task === 'restart').every((o) => o.handler));
});

test('a host that fails after notifying does not run its handlers', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - name: config
      write: { path: /c, content: x }
      notify: restart
    - name: check
      shell: { cmd: check }
  handlers:
    - name: restart
      shell: { cmd: restart }
`,
    three,
    { script: (t) => t.host === 's3' && t.onExec('sh -c check', { code: 1 }) },
  );
  assert.deepEqual(
    r.reporter.lines.filter((l) => l.endsWith('restart')),
    ['changed s1 restart', 'changed s2 restart'],
  );
});

test('serial [1, 2]: batches in order, handlers at the end of each batch', async () => {
  const r = await runWith(
    `
- hosts: servers
  serial: [1, 2]
  tasks:
    - name: config
      write: { path: /c, content: x }
      notify: restart
  handlers:
    - name: restart
      shell: { cmd: restart }
`,
    five,
  );
  const batches = r.reporter.events.flatMap((e) => (e.kind === 'batch' ? [[...e.hosts]] : []));
  assert.deepEqual(batches, [['s1'], ['s2', 's3'], ['s4', 's5']]);
  assert.deepEqual(r.reporter.lines, [
    'changed s1 config',
    'changed s1 restart',
    'changed s2 config',
    'changed s3 config',
    'changed s2 restart',
    'changed s3 restart',
    'changed s4 config',
    'changed s5 config',
    'changed s4 restart',
    'changed s5 restart',
  ]);
});

test('serial "50%" of 5 hosts makes batches of 2, 2, 1', async () => {
  const r = await runWith('- hosts: servers\n  serial: "50%"\n  tasks:\n    - probe: { what: x }\n', five);
  const batches = r.reporter.events.flatMap((e) => (e.kind === 'batch' ? [[...e.hosts]] : []));
  assert.deepEqual(batches, [['s1', 's2'], ['s3', 's4'], ['s5']]);
});

test('max_fail_percentage: exceeded aborts the remaining batches; equalled does not', async () => {
  const book = (pct: number) => `
- hosts: servers
  serial: 2
  max_fail_percentage: ${pct}
  tasks:
    - name: upgrade
      shell: { cmd: upgrade }
    - name: verify
      probe: { what: ok }
`;
  const failS2 = (t: RecordingTransport) => t.host === 's2' && t.onExec('sh -c upgrade', { code: 1 });
  // 1 of 2 failed = 50%: more than 49 -> abort after the task; s3..s5 are never touched.
  const r = await runWith(book(49), five, { script: failS2 });
  assert.deepEqual(r.reporter.lines, ['changed s1 upgrade', 'failed s2 upgrade']);
  assert.match(r.abortReason ?? '', /1 of 2 hosts in the batch failed \(50% > max_fail_percentage 49%\)/);
  assert.deepEqual(r.connects, ['s1', 's2']);
  assert.equal(exitCodeFor(r.status), 2);
  // 50% is not more than 50: the run goes on.
  const r2 = await runWith(book(50), five, { script: failS2 });
  assert.equal(r2.abortReason, undefined);
  assert.deepEqual(r2.reporter.lines.slice(-6), [
    'changed s3 upgrade',
    'changed s4 upgrade',
    'ok s3 verify',
    'ok s4 verify',
    'changed s5 upgrade',
    'ok s5 verify',
  ]);
});

test('any_errors_fatal stops the run after the current task', async () => {
  const r = await runWith(
    `
- hosts: servers
  any_errors_fatal: true
  tasks:
    - name: a
      shell: { cmd: a }
    - name: b
      shell: { cmd: b }
- hosts: servers
  tasks:
    - name: next play
      probe: { what: x }
`,
    three,
    { script: (t) => t.host === 's1' && t.onExec('sh -c a', { code: 1 }) },
  );
  assert.deepEqual(r.reporter.lines, ['failed s1 a', 'changed s2 a', 'changed s3 a']);
  assert.match(r.abortReason ?? '', /any_errors_fatal/);
});

test('an unreachable host is dropped while the others finish; exit code 4', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - name: a
      shell: { cmd: a }
    - name: b
      probe: { what: b }
- hosts: servers
  tasks:
    - name: second play
      probe: { what: c }
`,
    three,
    { unreachable: ['s2'], forks: 1 },
  );
  assert.deepEqual(r.reporter.lines, [
    'changed s1 a',
    'unreachable s2 a',
    'changed s3 a',
    'ok s1 b',
    'ok s3 b',
    'ok s1 second play',
    'ok s3 second play',
  ]);
  assert.match(r.reporter.outcomes[1]?.message ?? '', /s2: unreachable: connection refused/);
  assert.deepEqual(r.connects, ['s1', 's2', 's3'], 'connect is called once per host');
  assert.deepEqual(r.unreachableHosts, ['s2']);
  assert.equal(r.recap['s2']?.unreachable, 1);
  assert.equal(r.status, 'unreachable');
  assert.equal(exitCodeFor(r.status), 4);
  assert.ok(
    [...r.transports.values()].every((t) => !t.closed),
    'the connections stay open: their owner (the session) closes them after the lock and the audit log',
  );
});

test('an UnreachableError from a transport call marks the host unreachable', async () => {
  const { UnreachableError } = await import('../../src/errors.js');
  const flaky: ConversationModule<Record<string, never>> = {
    kind: 'conversation',
    name: 'flaky',
    argsSchema: { type: 'object' },
    async run(_a, ctx): Promise<Outcome> {
      if (ctx.host.name === 's1') throw new UnreachableError('s1', 'connection reset');
      return { changed: false, summary: 'fine' };
    },
  };
  const modules = { ...testModules, flaky };
  const reporter = new RecordingReporter();
  const result = await runPlaybook({
    playbook: parsePlaybookText(
      '- hosts: servers\n  tasks:\n    - flaky: {}\n    - flaky: {}\n',
      'p.yaml',
      modules,
    ),
    inventory: three,
    selectHosts,
    modules,
    connect: async (h) => new RecordingTransport(h.name),
    baseDir: '/',
    reporter,
  });
  assert.deepEqual(reporter.lines, [
    'unreachable s1 flaky',
    'ok s2 flaky',
    'ok s3 flaky',
    'ok s2 flaky',
    'ok s3 flaky',
  ]);
  assert.equal(exitCodeFor(result.status), 4);
});

test('failed wins over unreachable in the exit code', async () => {
  const r = await runWith('- hosts: servers\n  tasks:\n    - shell: { cmd: x }\n', three, {
    unreachable: ['s1'],
    script: (t) => t.host === 's2' && t.onExec('sh -c x', { code: 1 }),
  });
  assert.equal(r.status, 'failed');
  assert.equal(exitCodeFor(r.status), 2);
});

test('check mode: plan only; read-only changes and check_mode: false tasks still run', async () => {
  let applied = 0;
  const counting: PlannedModule<{ readOnly: boolean }> = {
    kind: 'planned',
    name: 'counting',
    argsSchema: { type: 'object', properties: { readOnly: { type: 'boolean' } } },
    facts: () => ({}),
    plan(args): Change {
      const count = httpStep({
        method: args.readOnly ? 'GET' : 'PUT',
        host: '127.0.0.1',
        port: 1,
        path: '/count',
      });
      return {
        changed: true,
        summary: args.readOnly ? 'look' : 'touch',
        steps: [
          mapStep(count, () => {
            applied++;
          }),
        ],
      };
    },
  };
  const modules = { ...testModules, counting };
  const reporter = new RecordingReporter();
  const t = new RecordingTransport('s1')
    .onExec(/^cat /, { code: 1 })
    .onExec(/.*/, {})
    .onHttp(/\/count$/, { status: 200 });
  const result = await runPlaybook({
    playbook: parsePlaybookText(
      `
- hosts: s1
  tasks:
    - name: write
      write: { path: /etc/c.json, content: "{\\"a\\": 1}\\n" }
      notify: restart
    - name: touch
      counting: { readOnly: false }
    - name: look
      counting: { readOnly: true }
    - name: real
      shell: { cmd: "consul members" }
      check_mode: false
  handlers:
    - name: restart
      shell: { cmd: restart }
`,
      'p.yaml',
      modules,
    ),
    inventory: three,
    selectHosts,
    modules,
    connect: async () => t,
    baseDir: '/',
    reporter,
    check: true,
    diff: true,
  });
  assert.equal(applied, 1, 'only the read-only change was applied');
  // Only reads and the check_mode: false task reached the host; no write, no restart.
  assert.deepEqual(t.commands, ['cat /etc/c.json', `sh -c 'consul members'`]);
  assert.deepEqual(reporter.lines, [
    'changed s1 write',
    'changed s1 touch',
    'changed s1 look',
    'changed s1 real',
    'changed s1 restart',
  ]);
  const write = reporter.outcomes[0];
  assert.equal(write?.message, 'write /etc/c.json');
  assert.equal(write?.diff, '--- /dev/null\n+++ b/etc/c.json\n@@ -0,0 +1 @@\n+{"a": 1}\n');
  assert.deepEqual(result.changedHosts, ['s1']);
});

test('tags and skip-tags choose tasks; untagged tasks do not run under --tags', async () => {
  const book = `
- hosts: s1
  tasks:
    - name: config
      probe: { what: config }
      tags: config
    - name: untagged
      probe: { what: untagged }
    - name: always
      probe: { what: always }
      tags: [always]
    - name: debug
      probe: { what: debug }
      tags: [never, debug]
`;
  const only = await runWith(book, three, { tags: ['config'] });
  assert.deepEqual(only.transports.get('s1')?.commands, ['probe config', 'probe always']);
  const skip = await runWith(book, three, { skipTags: ['config'] });
  assert.deepEqual(skip.transports.get('s1')?.commands, ['probe untagged', 'probe always']);
  const all = await runWith(book, three);
  assert.deepEqual(all.transports.get('s1')?.commands, ['probe config', 'probe untagged', 'probe always']);
});

test('run_once runs on the first host of each batch and registers for all of them', async () => {
  const r = await runWith(
    `
- hosts: servers
  serial: 2
  tasks:
    - name: leader
      probe: { what: leader }
      register: leader
      run_once: true
    - name: use
      probe: { what: "{{ inventory_hostname }} sees {{ leader.stdout }}" }
`,
    three,
    { script: (t) => t.onExec('probe leader', { stdout: `${t.host}-says` }) },
  );
  assert.deepEqual(r.reporter.lines, ['ok s1 leader', 'ok s1 use', 'ok s2 use', 'ok s3 leader', 'ok s3 use']);
  assert.deepEqual(r.transports.get('s2')?.commands, [`probe 's2 sees s1-says'`]);
  assert.deepEqual(r.transports.get('s3')?.commands, ['probe leader', `probe 's3 sees s3-says'`]);
});

test('a run_once task that fails fails every host of its batch, as in Ansible', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - name: setup
      shell: { cmd: setup }
      register: setup
      run_once: true
    - name: use
      probe: { what: "{{ setup.stdout }}" }
`,
    three,
    { script: (t) => t.onExec('sh -c setup', { code: 1, stderr: 'no leader' }) },
  );
  assert.deepEqual(r.reporter.lines.slice(0, 3), ['failed s1 setup', 'failed s2 setup', 'failed s3 setup']);
  assert.equal(r.reporter.lines.length, 3, 'no host goes on to "use"');
  assert.match(
    r.outcomes.find((o) => o.host === 's2')?.message ?? '',
    /run_once task "setup" did not run for this host: it failed on s1/,
  );
  assert.deepEqual(r.transports.get('s2')?.commands ?? [], []);
  assert.equal(r.recap['s3']?.failed, 1);
});

test('an aborted signal stops starting new tasks', async () => {
  const controller = new AbortController();
  const stopper: ConversationModule<Record<string, never>> = {
    kind: 'conversation',
    name: 'stopper',
    argsSchema: { type: 'object' },
    async run(_a, ctx) {
      await ctx.steps.run(execStep('read', exec('stop')));
      controller.abort();
      return { changed: false, summary: 'stopped' };
    },
  };
  const modules = { ...testModules, stopper };
  const reporter = new RecordingReporter();
  const t = new RecordingTransport('s1').onExec(/.*/, {});
  const result = await runPlaybook({
    playbook: parsePlaybookText(
      '- hosts: s1\n  tasks:\n    - stopper: {}\n    - probe: { what: later }\n',
      'p.yaml',
      modules,
    ),
    inventory: three,
    selectHosts,
    modules,
    connect: async () => t,
    baseDir: '/',
    reporter,
    signal: controller.signal,
  });
  assert.deepEqual(t.commands, ['stop']);
  assert.equal(result.status, 'interrupted');
  assert.equal(exitCodeFor(result.status), 130);
  assert.equal(t.closed, false, 'an interrupted run leaves closing to the connection owner');
});

test('a module that throws a plain Error fails the host with a wrapped, redacted message', async () => {
  const { Secret } = await import('../../src/shell/secret.js');
  const leaky: ConversationModule<Record<string, never>> = {
    kind: 'conversation',
    name: 'leaky',
    argsSchema: { type: 'object' },
    async run(_a, ctx) {
      throw new Error(`bad token ${(ctx.host.vars['token'] as InstanceType<typeof Secret>).reveal()}`);
    },
  };
  const modules = { ...testModules, leaky };
  const inv = makeInventory({ groups: { g: ['h1'] }, vars: { h1: { token: new Secret('tok-123456') } } });
  const reporter = new RecordingReporter();
  await runPlaybook({
    playbook: parsePlaybookText('- hosts: g\n  tasks:\n    - leaky: {}\n', 'p.yaml', modules),
    inventory: inv,
    selectHosts,
    modules,
    connect: async () => new RecordingTransport('h1'),
    baseDir: '/',
    reporter,
  });
  assert.equal(reporter.outcomes[0]?.message, 'module "leaky" failed: bad token <redacted>');
});

test('a read-only probe that reports no change still runs, in check mode and out of it', async () => {
  let probes = 0;
  const probe: ConversationModule<Record<string, never>> = {
    kind: 'conversation',
    name: 'probe',
    argsSchema: { type: 'object', additionalProperties: false },
    async run(): Promise<Outcome> {
      probes++;
      return { changed: false, summary: 'wait for the port', data: { waited: true } };
    },
  };
  const modules = { ...testModules, probe };
  for (const check of [false, true]) {
    const result = await runPlaybook({
      playbook: parsePlaybookText(
        '- hosts: s1\n  tasks:\n    - probe: {}\n      register: p\n',
        'p.yaml',
        modules,
      ),
      inventory: three,
      selectHosts,
      modules,
      connect: async () => new RecordingTransport('s1'),
      baseDir: '/',
      reporter: new RecordingReporter(),
      check,
    });
    assert.equal(exitCodeFor(result.status), 0);
  }
  assert.equal(probes, 2, 'the probe ran in both runs');
});
