/**
 * ansible-playbook's flags on `drover run` and `drover deploy` (src/cli/commands/playbook.ts
 * through PlaybookRun): --list-tasks, --list-hosts, --start-at-task, --step. The CLI runs
 * in-process over recorded transports (test/cli/argv/harness.ts).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { stepAnswers } from '../../src/cli/commands/playbook.js';
import { Hosts } from '../cli/argv/harness.js';
import { tree } from '../playbook/tree.js';

const t = tree({
  'inventory.yaml':
    'all:\n  children:\n    web:\n      hosts:\n        w1: { address: 10.9.0.1 }\n        w2: { address: 10.9.0.2 }\n',
  'site.yaml': `
- hosts: web
  name: site
  tasks:
    - name: first
      command: { argv: [echo, first] }
    - name: second
      command: { argv: [echo, second] }
      tags: [two]
`,
});
after(() => t.remove());

const run = (hosts: Hosts, ...args: string[]) =>
  hosts.drover(['run', t.path('site.yaml'), '-i', t.path('inventory.yaml'), ...args], { CI: 'true' });

test('--list-tasks and --list-hosts print and exit 0, connecting to nothing and taking no lock', async () => {
  const hosts = new Hosts();
  const tasks = await run(hosts, '--list-tasks', '--tags', 'two');
  assert.equal(tasks.code, 0, tasks.stderr);
  assert.match(
    tasks.stdout,
    /\n {2}play #1 \(web\): site\tTAGS: \[\]\n {4}tasks:\n {6}second\tTAGS: \[two\]\n$/,
  );
  const listed = await run(hosts, '--list-hosts', '--limit', 'w2');
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /\n {4}pattern: \['web'\]\n {4}hosts \(1\):\n {6}w2\n$/);
  assert.equal(hosts.transports.size, 0, 'no host was connected to');
  const deploy = await hosts.drover(
    ['deploy', '-p', t.path('site.yaml'), '-i', t.path('inventory.yaml'), '--list-tasks'],
    { CI: 'true' },
  );
  assert.equal(deploy.code, 0, deploy.stderr);
  assert.match(deploy.stdout, / {6}first\tTAGS: \[\]\n/);
  assert.equal(hosts.transports.size, 0);
});

test('--start-at-task: a name no task has is exit 3 before any connection; a known one skips what comes before', async () => {
  const hosts = new Hosts((h) => h.onExec(/.*/, { code: 0 }));
  const bad = await run(hosts, '--start-at-task', 'nope');
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /site\.yaml: --start-at-task "nope": no task of this playbook has that name/);
  assert.equal(hosts.transports.size, 0);
  const ok = await run(hosts, '--start-at-task', 'second');
  assert.equal(ok.code, 0, ok.stderr);
  const w1 = hosts.transports.get('w1')?.commands ?? [];
  assert.ok(w1.includes('echo second'), w1.join('\n'));
  assert.ok(!w1.includes('echo first'), w1.join('\n'));
});

test('--step needs a terminal: without one it is a usage error, before anything is read or connected', async () => {
  const hosts = new Hosts();
  const r = await run(hosts, '--step');
  assert.equal(r.code, 64);
  assert.match(r.stderr, /--step asks before each task on the terminal, and stdin is not one/);
  assert.equal(hosts.transports.size, 0);
});

test("--step's answers, as ansible-playbook reads them: y, c, and no for anything else", async () => {
  const questions: string[] = [];
  const replies = ['y', ' YES ', 'c', 'continue', 'n', '', 'maybe'];
  const step = stepAnswers(async (q) => {
    questions.push(q);
    return replies[questions.length - 1] ?? '';
  });
  const answers = [];
  for (let i = 0; i < replies.length; i++)
    answers.push(await step({ play: 'p', task: `t${i}`, handler: i === 0 }));
  assert.deepEqual(answers, ['yes', 'yes', 'continue', 'continue', 'no', 'no', 'no']);
  assert.equal(questions[0], 'Perform task: HANDLER: t0 (N)o/(y)es/(c)ontinue: ');
  assert.equal(questions[1], 'Perform task: TASK: t1 (N)o/(y)es/(c)ontinue: ');
});
