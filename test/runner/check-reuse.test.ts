/**
 * The check before any connection (src/input-check/check-run.ts) over the new constructs:
 * imported and included files, each loop item, every section of a block, roles' files and
 * defaults, the vars of includes and blocks; each problem where it is written, for its hosts.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { formatProblem } from '../../src/errors.js';
import { checkRunInput } from '../../src/input-check/check-run.js';
import { builtinModules } from '../../src/modules/registry.js';
import { loadPlaybook } from '../../src/playbook/load-playbook.js';
import { tree, type Tree } from '../playbook/tree.js';
import { makeInventory } from './helpers.js';

const modules = builtinModules();
const trees: Tree[] = [];
after(() => trees.forEach((t) => t.remove()));

const inv = makeInventory({
  groups: { servers: ['s1', 's2'], clients: ['c1'] },
  groupVars: { servers: { kind: 'server' }, clients: { kind: 'client' } },
});

async function check(files: Record<string, string>): Promise<{ t: Tree; lines: string[] }> {
  const t = tree(files);
  trees.push(t);
  const playbook = await loadPlaybook(t.path('site.yaml'), modules);
  const problems = await checkRunInput({ inventory: inv, playbook, modules, baseDir: t.dir });
  return { t, lines: problems.map(formatProblem) };
}

test('imported and included files are checked per host, each problem located in its own file', async () => {
  const { t, lines } = await check({
    'site.yaml': `
- hosts: servers:clients
  tasks:
    - import_tasks: tasks/common.yaml
    - name: by kind
      include_tasks: "tasks/{{ kind }}.yaml"
`,
    'tasks/common.yaml': '- name: dir\n  mkdir: { path: "{{ kind }}/x" }\n',
    'tasks/server.yaml': '- name: port\n  wait_for: { port: "{{ kind }}", timeout: 1 }\n',
  });
  // The playbook's own problems first, then the other files'.
  assert.deepEqual(lines, [
    `${t.path('site.yaml')}:6:22 [0].tasks[1].include_tasks: include_tasks "tasks/{{ kind }}.yaml": file not found (${t.path('tasks/client.yaml')}), for host c1`,
    `${t.path('tasks/common.yaml')}:2:18 [0].mkdir.path: task "dir": path: must match the pattern ^/, for hosts s1, s2, c1`,
    `${t.path('tasks/server.yaml')}:2:21 [0].wait_for.port: task "port": port: must be an integer, for hosts s1, s2`,
  ]);
});

test('a loop is checked item by item; a loop that renders to no list is located at the loop', async () => {
  const { t, lines } = await check({
    'site.yaml': `
- hosts: s1
  vars: { dirs: [/ok, relative], text: abc }
  tasks:
    - name: dirs
      mkdir: { path: "{{ item }}" }
      loop: "{{ dirs }}"
    - name: text
      mkdir: { path: "/{{ item }}" }
      loop: "{{ text }}"
    - name: labelled
      mkdir: { path: "/{{ item }}" }
      loop: [a]
      loop_control: { label: "{{ nosuch }}" }
`,
  });
  assert.deepEqual(lines, [
    `${t.path('site.yaml')}:7:13 [0].tasks[0].loop: must match the pattern ^/ (path of task "dirs"), for host s1`,
    `${t.path('site.yaml')}:10:13 [0].tasks[1].loop: task "text": loop must be a list, but it is a string, for host s1`,
    `${t.path('site.yaml')}:14:30 [0].tasks[2].loop_control.label: task "labelled": variable "nosuch" is not defined, for host s1`,
  ]);
});

test("what only the run knows is left to it: a loop over a result, a rescue's failed result, an include path built from one", async () => {
  const { lines } = await check({
    'site.yaml': `
- hosts: s1
  tasks:
    - name: list
      command: { argv: [ls], read_only: true }
      register: listed
    - name: each
      mkdir: { path: "/x/{{ item }}" }
      loop: "{{ listed.stdout }}"
    - block:
        - name: risky
          command: { argv: ["false"] }
      rescue:
        - name: report
          command: { argv: [echo, "{{ ansible_failed_result.msg }}"] }
          when: ansible_failed_task.name == 'risky'
    - include_tasks: "{{ listed.stdout }}.yaml"
`,
  });
  assert.deepEqual(lines, []);
});

test("every section of a block is checked, with the block's vars; a block's bad condition is located at the block", async () => {
  const { t, lines } = await check({
    'site.yaml': `
- hosts: s1
  tasks:
    - block:
        - name: in block
          mkdir: { path: "{{ where }}" }
      rescue:
        - name: in rescue
          mkdir: { path: "{{ nowhere }}" }
      vars: { where: relative }
    - block:
        - name: gated
          mkdir: { path: /x }
      when: nosuch == 1
`,
  });
  assert.deepEqual(lines, [
    `${t.path('site.yaml')}:9:26 [0].tasks[0].rescue[0].mkdir.path: task "in rescue": path: variable "nowhere" is not defined, for host s1`,
    `${t.path('site.yaml')}:10:22 [0].tasks[0].vars.where: must match the pattern ^/ (path of task "in block"), for host s1`,
    `${t.path('site.yaml')}:14:13 [0].tasks[1].when: task "gated": condition "nosuch == 1": nosuch is not defined, for host s1`,
  ]);
});

test("a role's template is read from its templates/ and rendered per host; a bad role default is located in defaults/main.yaml", async () => {
  const { t, lines } = await check({
    'roles/web/tasks/main.yaml':
      '- name: page\n  template: { src: page.hbs, dest: /srv/page, mode: "{{ web_mode }}" }\n- name: other\n  template: { src: missing.hbs, dest: /srv/other }\n',
    'roles/web/defaults/main.yaml': 'web_mode: rw\n',
    'roles/web/templates/page.hbs': 'hello {{ web_name }}\n',
    'site.yaml': '- hosts: s1\n  roles:\n    - role: web\n      vars: { web_name: site }\n',
  });
  assert.deepEqual(lines, [
    `${t.path('roles/web/defaults/main.yaml')}:1:11 web_mode: must match the pattern ^[0-7]{3,4}$ (mode of task "web : page"), for host s1`,
    `${t.path('roles/web/tasks/main.yaml')}:4:20 [1].template.src: task "web : other": src: file not found (${t.path('missing.hbs')}), for host s1`,
  ]);
  const ok = await check({
    'roles/web/tasks/main.yaml': '- name: page\n  template: { src: page.hbs, dest: /srv/page }\n',
    'roles/web/templates/page.hbs': 'hello {{ web_name }}\n',
    'site.yaml': '- hosts: s1\n  roles: [web]\n',
  });
  assert.deepEqual(ok.lines, [
    `${ok.t.path('roles/web/tasks/main.yaml')}:2:20 [0].template.src: task "web : page": src: line 1: variable "web_name" is not defined, for host s1`,
  ]);
});

test("an include's vars are what its tasks see; a bad one is located at the include's vars", async () => {
  const { t, lines } = await check({
    'site.yaml': `
- hosts: s1
  tasks:
    - include_tasks: inc.yaml
      vars: { port: many }
`,
    'inc.yaml': '- name: wait\n  wait_for: { port: "{{ port }}", timeout: 1 }\n',
  });
  assert.deepEqual(lines, [
    `${t.path('site.yaml')}:5:21 [0].tasks[0].vars.port: must be an integer (port of task "wait"), for host s1`,
  ]);
});
