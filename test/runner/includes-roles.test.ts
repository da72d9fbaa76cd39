/**
 * include_tasks, import_tasks, roles, task vars, --start-at-task and --step at run time: what
 * runs on which host, with which vars.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { loadPlaybook } from '../../src/playbook/load-playbook.js';
import { findStartTask } from '../../src/playbook/nodes.js';
import type { Playbook } from '../../src/playbook/types.js';
import type { StepAnswer } from '../../src/runner/run-playbook.js';
import { tree, type Tree } from '../playbook/tree.js';
import { makeInventory, runWith, testModules } from './helpers.js';

const trees: Tree[] = [];
after(() => trees.forEach((t) => t.remove()));
async function book(files: Record<string, string>): Promise<Playbook> {
  const t = tree(files);
  trees.push(t);
  return loadPlaybook(t.path('site.yaml'), testModules);
}

const inv = makeInventory({
  groups: { servers: ['s1', 's2'], clients: ['c1'] },
  groupVars: { servers: { kind: 'server' }, clients: { kind: 'client' } },
});

test('include_tasks: the file each host names (a template), its when, its vars; hosts of one file run it together', async () => {
  const b = await book({
    'site.yaml': `
- hosts: servers:clients
  tasks:
    - name: by kind
      include_tasks: "tasks/{{ kind }}.yaml"
      vars: { port: "{{ base_port }}" }
      when: inventory_hostname != 's2'
    - name: after
      probe: { what: after }
  vars: { base_port: 8300 }
`,
    'tasks/server.yaml': '- name: server task\n  probe: { what: "server {{ port }}" }\n',
    'tasks/client.yaml': '- name: client task\n  probe: { what: "client {{ port }}" }\n',
  });
  const r = await runWith(b, inv);
  assert.deepEqual(r.reporter.lines, [
    'ok s1 by kind',
    'skipped s2 by kind',
    'ok c1 by kind',
    'ok s1 server task',
    'ok c1 client task',
    'ok s1 after',
    'ok s2 after',
    'ok c1 after',
  ]);
  assert.equal(r.outcomes[0]?.message, 'included: tasks/server.yaml');
  assert.deepEqual(r.transports.get('s1')?.commands, ["probe 'server 8300'", 'probe after']);
  assert.deepEqual(r.transports.get('c1')?.commands, ["probe 'client 8300'", 'probe after']);
});

test('include_tasks: a file missing for one host fails that host only, located at the include', async () => {
  const b = await book({
    'site.yaml': `
- hosts: servers:clients
  tasks:
    - include_tasks: "tasks/{{ kind }}.yaml"
    - name: after
      probe: { what: after }
`,
    'tasks/server.yaml': '- probe: { what: server }\n',
  });
  const r = await runWith(b, inv);
  assert.deepEqual(r.failedHosts, ['c1']);
  assert.match(
    r.outcomes.find((o) => o.host === 'c1')?.message ?? '',
    /site\.yaml:4:22 \[0\]\.tasks\[0\]\.include_tasks: include_tasks "tasks\/\{\{ kind \}\}\.yaml": file not found \(.*tasks\/client\.yaml\)$/,
  );
  assert.deepEqual(
    r.reporter.lines.filter((l) => l.includes('after')),
    ['ok s1 after', 'ok s2 after'],
  );
});

test('include_tasks under --tags: the include is selected by its own tags (or always); apply gives the tasks theirs', async () => {
  const files = {
    'inc.yaml':
      '- name: plain\n  probe: { what: plain }\n- name: tagged\n  probe: { what: tagged }\n  tags: [cfg]\n',
  };
  const untagged = await book({
    ...files,
    'site.yaml': '- hosts: s1\n  tasks:\n    - include_tasks: inc.yaml\n',
  });
  assert.deepEqual((await runWith(untagged, inv, { tags: ['cfg'] })).reporter.lines, []);
  const always = await book({
    ...files,
    'site.yaml': '- hosts: s1\n  tasks:\n    - include_tasks: inc.yaml\n      tags: [always]\n',
  });
  assert.deepEqual((await runWith(always, inv, { tags: ['cfg'] })).reporter.lines, [
    'ok s1 include_tasks inc.yaml',
    'ok s1 tagged',
  ]);
  const applied = await book({
    ...files,
    'site.yaml':
      '- hosts: s1\n  tasks:\n    - include_tasks: inc.yaml\n      tags: [cfg]\n      apply: { tags: [cfg] }\n',
  });
  assert.deepEqual((await runWith(applied, inv, { tags: ['cfg'] })).reporter.lines, [
    'ok s1 include_tasks inc.yaml',
    'ok s1 plain',
    'ok s1 tagged',
  ]);
});

test('import_tasks: the import when is judged per task, so a task of the file can change it for the next', async () => {
  const b = await book({
    'site.yaml': `
- hosts: s1
  tasks:
    - import_tasks: tasks.yaml
      when: first is not defined or first.stdout != 'stop'
`,
    'tasks.yaml':
      '- name: one\n  probe: { what: one }\n  register: first\n- name: two\n  probe: { what: two }\n',
  });
  const r = await runWith(b, inv, { script: (t) => t.onExec('probe one', { stdout: 'stop' }) });
  assert.deepEqual(r.reporter.lines, ['ok s1 one', 'skipped s1 two']);
});

test('task and block vars: above play vars, below registered results; inner scopes win', async () => {
  const r = await runWith(
    `
- hosts: s1
  vars: { a: play, b: play, c: play }
  tasks:
    - block:
        - name: see
          probe: { what: "{{ a }} {{ b }} {{ c }}" }
          vars: { c: task }
      vars: { b: block, c: block }
    - name: reg
      probe: { what: reg }
      register: a
    - name: see again
      probe: { what: "{{ a.stdout }}" }
      vars: { a: task }
`,
    inv,
    { script: (t) => t.onExec('probe reg', { stdout: 'registered' }) },
  );
  assert.deepEqual(r.transports.get('s1')?.commands, [
    "probe 'play block task'",
    'probe reg',
    'probe registered',
  ]);
});

test('roles: their tasks before the play own, defaults lowest, entry vars for the role only; role handlers are notified', async () => {
  const b = await book({
    'roles/web/tasks/main.yaml':
      '- name: install\n  shell: { cmd: "install {{ web_port }} {{ web_user }}" }\n  notify: reload web\n',
    'roles/web/defaults/main.yaml': 'web_port: 80\nweb_user: www\n',
    'roles/web/handlers/main.yaml': '- name: reload web\n  probe: { what: "reload {{ web_port }}" }\n',
    'site.yaml': `
- hosts: s1
  roles:
    - role: web
      vars: { web_port: 8080 }
  tasks:
    - name: own
      probe: { what: "{{ web_port }} {{ web_user }}" }
`,
  });
  const inventory = makeInventory({ groups: { servers: ['s1'] }, vars: { s1: { web_user: 'nginx' } } });
  const r = await runWith(b, inventory);
  assert.deepEqual(r.reporter.lines, ['changed s1 web : install', 'ok s1 own', 'ok s1 reload web']);
  // The inventory's web_user wins over the role default; the entry's web_port is the role's own.
  assert.deepEqual(r.transports.get('s1')?.commands, [
    "sh -c 'install 8080 nginx'",
    "probe '80 nginx'",
    "probe 'reload 80'",
  ]);
});

const START = `
- hosts: servers
  name: first play
  tasks:
    - name: skipped play task
      probe: { what: p1 }
- hosts: servers
  name: second play
  serial: 1
  tasks:
    - name: a
      probe: { what: a }
    - block:
        - name: b
          probe: { what: b }
        - name: c
          probe: { what: c }
      always:
        - name: d
          probe: { what: d }
    - name: e
      probe: { what: e }
- hosts: servers
  name: third play
  tasks:
    - name: f
      probe: { what: f }
`;

test('--start-at-task: earlier plays do not run; every batch of its play starts at it; later plays run in full', async () => {
  const b = await book({ 'site.yaml': START });
  const start = findStartTask(b, 'c');
  assert.ok(start);
  const r = await runWith(b, inv, { startAt: start.task });
  assert.deepEqual(r.reporter.lines, [
    'ok s1 c',
    'ok s1 d',
    'ok s1 e',
    'ok s2 c',
    'ok s2 d',
    'ok s2 e',
    'ok s1 f',
    'ok s2 f',
  ]);
  assert.deepEqual(r.reporter.notes, ['--start-at-task: starting at "c"']);
  assert.deepEqual(Object.keys(r.recap), ['s1', 's2']);
  // A task of another playbook is refused before any host is touched.
  const other = await book({
    'site.yaml': '- hosts: s1\n  tasks:\n    - name: c\n      probe: { what: x }\n',
  });
  const foreign = findStartTask(other, 'c')?.task;
  await assert.rejects(runWith(b, inv, { ...(foreign ? { startAt: foreign } : {}) }), ConfigError);
});

test('--step: no skips the task, yes runs it, continue runs it and every later one without asking', async () => {
  const b = await book({ 'site.yaml': START });
  const asked: string[] = [];
  const answers: StepAnswer[] = ['no', 'yes', 'no', 'continue'];
  const r = await runWith(b, inv, {
    step: async ({ task }) => {
      asked.push(task);
      return answers.shift() ?? 'no';
    },
  });
  assert.deepEqual(asked, ['skipped play task', 'a', 'b', 'c']);
  assert.deepEqual(r.reporter.lines, [
    'ok s1 a',
    'ok s1 c',
    'ok s1 d',
    'ok s1 e',
    'ok s2 a',
    'ok s2 b',
    'ok s2 c',
    'ok s2 d',
    'ok s2 e',
    'ok s1 f',
    'ok s2 f',
  ]);
  assert.deepEqual(r.reporter.notes, ['--step: not running "skipped play task"', '--step: not running "b"']);
});
