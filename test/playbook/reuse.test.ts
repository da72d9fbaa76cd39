/**
 * Playbook reuse at load time (src/playbook): import_tasks, include_tasks, import_playbook,
 * blocks, loops and roles compile as docs/playbooks.md says, and what is wrong in any of the
 * files is located where it is written.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, formatProblem } from '../../src/errors.js';
import { listPlaybook } from '../../src/playbook/list.js';
import { loadPlaybook, playbookSource } from '../../src/playbook/load-playbook.js';
import { findStartTask, leafTasks, startTask } from '../../src/playbook/nodes.js';
import { withRoleFiles } from '../../src/playbook/roles.js';
import type { Block, IncludeTasks, Playbook, Task } from '../../src/playbook/types.js';
import { testModules } from '../runner/helpers.js';
import { tree, type Tree } from './tree.js';

const trees: Tree[] = [];
after(() => trees.forEach((t) => t.remove()));
function files(spec: Record<string, string>): Tree {
  const t = tree(spec);
  trees.push(t);
  return t;
}

const load = (t: Tree, name = 'site.yaml') => loadPlaybook(t.path(name), testModules);

/** The problems loading fails with, as printed. */
async function problems(t: Tree, name = 'site.yaml'): Promise<string[]> {
  try {
    await load(t, name);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map(formatProblem);
  }
  return assert.fail('expected a ConfigError');
}

const tasksOf = (book: Playbook, play = 0): Task[] => [...(book.plays[play]?.tasks ?? [])];

test('import_tasks: the file, relative to the importing one, in its place, with the import when, tags and vars', async () => {
  const t = files({
    'site.yaml': `
- hosts: all
  tags: [play]
  tasks:
    - probe: { what: first }
    - import_tasks: tasks/setup.yaml
      when: ready
      tags: [setup]
      vars: { level: 2 }
    - probe: { what: last }
`,
    // Relative to tasks/setup.yaml itself, as Ansible resolves it.
    'tasks/setup.yaml': `
- name: a
  probe: { what: a }
  when: a_ok
- import_tasks: more.yaml
`,
    'tasks/more.yaml': '- name: b\n  shell: { cmd: b }\n  tags: own\n',
  });
  const book = await load(t);
  assert.deepEqual(
    tasksOf(book).map((x) => [x.name, x.when.map((c) => c.source), x.tags, x.scopes.map((s) => s.vars)]),
    [
      ['probe', [], ['play'], []],
      ['a', ['ready', 'a_ok'], ['play', 'setup'], [{ level: 2 }]],
      ['b', ['ready'], ['play', 'setup', 'own'], [{ level: 2 }]],
      ['probe', [], ['play'], []],
    ],
  );
  // Each task is located in the file it is written in.
  assert.deepEqual(tasksOf(book)[2]?.location, { file: t.path('tasks/more.yaml'), line: 1, column: 3 });
});

test('import_tasks: a missing file, a cycle and a templated path are located at the import', async () => {
  const t = files({
    'site.yaml': `
- hosts: all
  tasks:
    - import_tasks: nowhere.yaml
    - import_tasks: loop.yaml
    - import_tasks: "{{ which }}.yaml"
`,
    'loop.yaml': '- import_tasks: loop.yaml\n',
  });
  const lines = await problems(t);
  assert.deepEqual(lines, [
    `${t.path('site.yaml')}:4:21 [0].tasks[0].import_tasks: import_tasks "nowhere.yaml": file not found (${t.path('nowhere.yaml')})`,
    `${t.path('loop.yaml')}:1:17 [0].import_tasks: import_tasks "loop.yaml": a cycle: ${t.path('loop.yaml')} -> ${t.path('loop.yaml')}`,
    `${t.path('site.yaml')}:6:21 [0].tasks[2].import_tasks: import_tasks "{{ which }}.yaml": an import is read when the playbook loads, before any var has a value; use include_tasks for a templated path`,
  ]);
});

test('a problem in an imported file is located in that file; notify must name a handler of the play', async () => {
  const t = files({
    'site.yaml': `
- hosts: all
  tasks:
    - import_tasks: tasks.yaml
  handlers:
    - name: restart
      shell: { cmd: restart }
`,
    'tasks.yaml': `
- name: typo
  shel: { cmd: x }
- name: notifies a ghost
  shell: { cmd: y }
  notify: reload
- name: not a task list
  retries: many
`,
  });
  const lines = await problems(t);
  assert.deepEqual(lines, [`${t.path('tasks.yaml')}:8:12 [2].retries: must be an integer`]);
  // Once the schema holds, the loader's own checks, in the imported file too.
  const fixed = files({
    'site.yaml': `
- hosts: all
  tasks:
    - import_tasks: tasks.yaml
  handlers:
    - name: restart
      shell: { cmd: restart }
`,
    'tasks.yaml': '- name: typo\n  shel: { cmd: x }\n- name: ghost\n  shell: { cmd: y }\n  notify: reload\n',
  });
  assert.deepEqual(await problems(fixed), [
    `${fixed.path('tasks.yaml')}:2:9 [0].shel: task "typo": unknown module "shel" (known modules: group_by, probe, shell, write)`,
    `${fixed.path('tasks.yaml')}:5:11 [1].notify: task "ghost": notifies "reload", but the play has no handler with that name`,
  ]);
});

test('include_tasks with a plain path is compiled when the playbook loads; its when and tags are its own', async () => {
  const t = files({
    'site.yaml': `
- hosts: all
  tasks:
    - block:
        - name: setup
          include_tasks: inc/setup.yaml
          when: wanted
          tags: [inc]
          vars: { port: 8500 }
          apply: { tags: [applied] }
      when: outer
      tags: [blk]
`,
    'inc/setup.yaml': '- name: inside\n  probe: { what: "{{ port }}" }\n  when: own\n',
  });
  const book = await load(t);
  const block = book.plays[0]?.body[0] as Block;
  const inc = block.block[0] as IncludeTasks;
  assert.equal(inc.kind, 'include');
  assert.deepEqual(
    inc.when.map((c) => c.source),
    ['outer', 'wanted'],
  );
  assert.deepEqual(inc.tags, ['blk', 'inc']);
  const inside = inc.static?.[0] as Task;
  // Ansible: the include's own when and tags do not go to the included tasks; apply's tags do.
  assert.deepEqual(
    inside.when.map((c) => c.source),
    ['outer', 'own'],
  );
  assert.deepEqual(inside.tags, ['blk', 'applied']);
  assert.deepEqual(
    inside.scopes.map((s) => s.vars),
    [{ port: 8500 }],
  );
  assert.deepEqual(
    tasksOf(book).map((x) => x.name),
    ['inside'],
    'a plain include is known when the playbook loads',
  );
});

test('include_tasks: a problem in a plain path is a load-time error; a templated path is read during the run', async () => {
  const bad = files({
    'site.yaml': '- hosts: all\n  tasks:\n    - include_tasks: gone.yaml\n    - include_tasks: broken.yaml\n',
    'broken.yaml': '- name: x\n  nope: {}\n',
  });
  assert.deepEqual(await problems(bad), [
    `${bad.path('site.yaml')}:3:22 [0].tasks[0].include_tasks: include_tasks "gone.yaml": file not found (${bad.path('gone.yaml')})`,
    `${bad.path('broken.yaml')}:2:9 [0].nope: task "x": unknown module "nope" (known modules: group_by, probe, shell, write)`,
  ]);
  const later = files({
    'site.yaml': '- hosts: all\n  tasks:\n    - include_tasks: "{{ inventory_hostname }}.yaml"\n',
  });
  const inc = (await load(later)).plays[0]?.body[0] as IncludeTasks;
  assert.equal(inc.static, undefined);
  assert.equal(inc.name, 'include_tasks {{ inventory_hostname }}.yaml');
});

test('import_playbook: the plays of the file, relative to the importing one, in its place, with its tags', async () => {
  const t = files({
    'site.yaml': `
- hosts: all
  name: first
  tasks: [{ probe: { what: a } }]
- import_playbook: books/more.yaml
  tags: [more]
- hosts: all
  name: last
  tasks: []
`,
    'books/more.yaml':
      '- import_playbook: inner.yaml\n- hosts: web\n  name: more\n  tasks: [{ probe: { what: b } }]\n',
    'books/inner.yaml': '- hosts: db\n  name: inner\n  tags: own\n  tasks: [{ probe: { what: c } }]\n',
  });
  const book = await load(t);
  assert.deepEqual(
    book.plays.map((p) => [p.name, p.tags, p.tasks.map((x) => x.tags)]),
    [
      ['first', [], [[]]],
      ['inner', ['more', 'own'], [['more', 'own']]],
      ['more', ['more'], [['more']]],
      ['last', [], []],
    ],
  );
  // The run's plays are located in the files they are written in.
  const at = playbookSource(book)?.problem([1, 'hosts'], 'x');
  assert.deepEqual(at, {
    file: t.path('books/inner.yaml'),
    line: 1,
    column: 10,
    path: '[0].hosts',
    message: 'x',
  });
});

test('import_playbook: a missing file, a cycle and a problem inside are located', async () => {
  const t = files({
    'site.yaml': '- import_playbook: missing.yaml\n- import_playbook: a.yaml\n',
    'a.yaml': '- import_playbook: site.yaml\n- hosts: all\n  tasks: 3\n',
  });
  assert.deepEqual(await problems(t), [
    `${t.path('site.yaml')}:1:20 [0].import_playbook: import_playbook "missing.yaml": file not found (${t.path('missing.yaml')})`,
    `${t.path('a.yaml')}:3:10 [1].tasks: must be a list`,
  ]);
  const cycle = files({
    'site.yaml': '- import_playbook: a.yaml\n',
    'a.yaml': '- import_playbook: site.yaml\n',
  });
  assert.deepEqual(await problems(cycle), [
    `${cycle.path('a.yaml')}:1:20 [0].import_playbook: import_playbook "site.yaml": a cycle: ${cycle.path('site.yaml')} -> ${cycle.path('a.yaml')} -> ${cycle.path('site.yaml')}`,
  ]);
});

test('a block gives its when, tags, vars, ignore_errors and check_mode to every task in it', async () => {
  const t = files({
    'site.yaml': `
- hosts: all
  tasks:
    - name: outer
      block:
        - name: a
          probe: { what: a }
        - name: b
          shell: { cmd: b }
          ignore_errors: false
          when: b_ok
      rescue:
        - name: r
          shell: { cmd: r }
      always:
        - block:
            - name: c
              probe: { what: c }
          vars: { inner: 1 }
      when: go
      tags: [blk]
      vars: { outer: 1 }
      ignore_errors: true
      check_mode: false
`,
  });
  const book = await load(t);
  const block = book.plays[0]?.body[0] as Block;
  assert.equal(block.kind, 'block');
  assert.equal(block.name, 'outer');
  assert.deepEqual(
    tasksOf(book).map((x) => [
      x.name,
      x.when.map((c) => c.source),
      x.tags,
      x.scopes.map((s) => s.vars),
      x.ignoreErrors,
      x.runInCheckMode,
    ]),
    [
      ['a', ['go'], ['blk'], [{ outer: 1 }], true, true],
      ['b', ['go', 'b_ok'], ['blk'], [{ outer: 1 }], false, true],
      ['r', ['go'], ['blk'], [{ outer: 1 }], true, true],
      ['c', ['go'], ['blk'], [{ outer: 1 }, { inner: 1 }], true, true],
    ],
  );
});

test('rescue without a block, a loop on a block, a block among handlers: clear errors', async () => {
  const t = files({
    'site.yaml': `
- hosts: all
  tasks:
    - name: lonely
      probe: { what: x }
      rescue: [{ probe: { what: y } }]
  handlers:
    - name: h
      block: [{ probe: { what: h } }]
`,
  });
  assert.deepEqual((await problems(t)).sort(), [
    `${t.path('site.yaml')}:6:15 [0].tasks[0].rescue: task "lonely": "rescue" belongs to a block: put the tasks it rescues under "block:" beside it`,
    `${t.path('site.yaml')}:9:14 [0].handlers[0].block: task "h": a handler is one task: "block" is not allowed among handlers`,
  ]);
  // A loop belongs to a task: on a block (as on an import, in Ansible) the schema refuses it.
  const looped = files({
    'site.yaml': '- hosts: all\n  tasks:\n    - block: [{ probe: { what: z } }]\n      loop: [1, 2]\n',
  });
  assert.deepEqual(await problems(looped), [
    `${looped.path('site.yaml')}:4:13 [0].tasks[0].loop: unknown key`,
  ]);
});

test('loop and loop_control compile; a loop that cannot be a list, or loop_control alone, is an error', async () => {
  const ok = files({
    'site.yaml': `
- hosts: all
  tasks:
    - probe: { what: "{{ item }}" }
      loop: [a, b]
    - probe: { what: "{{ server }}" }
      loop: "{{ groups.servers }}"
      loop_control: { loop_var: server, index_var: i, label: "{{ server }}!" }
`,
  });
  const [plain, templated] = tasksOf(await load(ok));
  assert.deepEqual(plain?.loop, { items: ['a', 'b'], loopVar: 'item' });
  assert.deepEqual(templated?.loop, {
    items: '{{ groups.servers }}',
    loopVar: 'server',
    indexVar: 'i',
    label: '{{ server }}!',
  });
  const bad = files({
    'site.yaml': `
- hosts: all
  tasks:
    - probe: { what: x }
      loop: not-a-list
    - probe: { what: x }
      loop_control: { loop_var: x }
    - probe: { what: x }
      loop: [1]
      loop_control: { loop_var: x, index_var: x }
    - probe: { what: x }
      loop: { a: 1 }
`,
  });
  assert.deepEqual(await problems(bad), [
    `${bad.path('site.yaml')}:12:13 [0].tasks[3].loop: must be a list or a string`,
  ]);
  const bad2 = files({
    'site.yaml': `
- hosts: all
  tasks:
    - probe: { what: x }
      loop: not-a-list
    - probe: { what: x }
      loop_control: { loop_var: x }
    - probe: { what: x }
      loop: [1]
      loop_control: { loop_var: x, index_var: x }
`,
  });
  assert.deepEqual(await problems(bad2), [
    `${bad2.path('site.yaml')}:5:13 [0].tasks[0].loop: task "probe": a loop is a list, or a template that renders to one ("{{ servers }}")`,
    `${bad2.path('site.yaml')}:7:21 [0].tasks[1].loop_control: task "probe": loop_control needs a loop`,
    `${bad2.path('site.yaml')}:10:47 [0].tasks[2].loop_control.index_var: task "probe": index_var and loop_var are both "x"`,
  ]);
});

const ROLE = {
  'roles/web/tasks/main.yaml':
    '- name: install\n  probe: { what: "{{ web_port }}" }\n  notify: reload web\n- import_tasks: more.yaml\n',
  'roles/web/tasks/more.yaml': '- shell: { cmd: more }\n',
  'roles/web/defaults/main.yaml': 'web_port: 80\nweb_user: www\n',
  'roles/web/handlers/main.yaml': '- name: reload web\n  shell: { cmd: reload }\n',
  'roles/web/templates/page.hbs': 'hello\n',
};

test('roles: tasks first (named role : task), defaults under the play defaults, handlers first, entry vars, when and tags', async () => {
  const t = files({
    ...ROLE,
    'site.yaml': `
- hosts: all
  defaults: { web_user: nginx }
  roles:
    - web
    - role: web
      vars: { web_port: 8080 }
      when: second
      tags: [again]
  tasks:
    - name: own
      probe: { what: own }
      notify: own handler
  handlers:
    - name: own handler
      shell: { cmd: x }
`,
  });
  const book = await load(t);
  const play = book.plays[0];
  assert.ok(play);
  assert.deepEqual(play.roles, ['web', 'web']);
  assert.deepEqual(
    play.tasks.map((x) => [
      x.name,
      x.when.map((c) => c.source),
      x.tags,
      x.scopes.map((s) => s.vars),
      x.role?.name,
    ]),
    [
      ['web : install', [], [], [], 'web'],
      ['shell', [], [], [], 'web'],
      ['web : install', ['second'], ['again'], [{ web_port: 8080 }], 'web'],
      ['shell', ['second'], ['again'], [{ web_port: 8080 }], 'web'],
      ['own', [], [], [], undefined],
    ],
  );
  assert.equal(play.tasks[0]?.role?.dir, t.path('roles/web'));
  // A role listed twice has its handlers and defaults once.
  assert.deepEqual(
    play.handlers.map((h) => h.name),
    ['reload web', 'own handler'],
  );
  assert.deepEqual(play.defaults, { web_port: 80, web_user: 'nginx' });
  // A default from the role is located in its defaults/main.yaml; the play's own where it is.
  const source = playbookSource(book);
  assert.equal(
    formatProblem(source?.problem([0, 'defaults', 'web_port'], 'x') ?? { file: '', message: '' }),
    `${t.path('roles/web/defaults/main.yaml')}:1:11 web_port: x`,
  );
  assert.equal(
    formatProblem(source?.problem([0, 'defaults', 'web_user'], 'x') ?? { file: '', message: '' }),
    `${t.path('site.yaml')}:3:25 [0].defaults.web_user: x`,
  );
});

test("roles: the project's roles/ for a playbook in playbooks/; a role found nowhere names where it was looked for", async () => {
  const t = files({
    ...Object.fromEntries(Object.entries(ROLE).map(([k, v]) => [`project/${k}`, v])),
    'project/playbooks/site.yaml': '- hosts: all\n  roles: [web, nosuch]\n',
    'project/roles/empty/README': 'nothing\n',
    'project/playbooks/empty.yaml': '- hosts: all\n  roles: [empty]\n',
  });
  assert.deepEqual(await problems(t, 'project/playbooks/site.yaml'), [
    `${t.path('project/playbooks/site.yaml')}:2:16 [0].roles[1]: role "nosuch": not found (looked in ${t.path('project/playbooks/roles/nosuch')}, ${t.path('project/roles/nosuch')})`,
  ]);
  assert.deepEqual(await problems(t, 'project/playbooks/empty.yaml'), [
    `${t.path('project/playbooks/empty.yaml')}:2:11 [0].roles[0]: role "empty": ${t.path('project/roles/empty')} has none of tasks/main.yaml, handlers/main.yaml, defaults/main.yaml`,
  ]);
});

test("withRoleFiles: a role task's relative template is the role's when the role has it, else as written", async () => {
  const t = files(ROLE);
  const role = { name: 'web', dir: t.path('roles/web') };
  assert.deepEqual(withRoleFiles({ module: 'template', role }, { src: 'page.hbs', dest: '/x' }), {
    src: t.path('roles/web/templates/page.hbs'),
    dest: '/x',
  });
  assert.deepEqual(withRoleFiles({ module: 'template', role }, { src: 'templates/other.hbs' }), {
    src: 'templates/other.hbs',
  });
  assert.deepEqual(withRoleFiles({ module: 'template' }, { src: 'page.hbs' }), { src: 'page.hbs' });
  assert.deepEqual(withRoleFiles({ module: 'copy', role }, { src: 'page.hbs' }), { src: 'page.hbs' });
});

test('--start-at-task finds the first task by name (a role task by its bare name too); an unknown name is bad input', async () => {
  const t = files({
    ...ROLE,
    'site.yaml': `
- hosts: all
  name: one
  tasks:
    - block:
        - name: deep
          probe: { what: x }
- hosts: all
  name: two
  roles: [web]
  tasks:
    - name: deep
      probe: { what: y }
`,
  });
  const book = await load(t);
  assert.equal(findStartTask(book, 'deep')?.play.name, 'one');
  assert.equal(findStartTask(book, 'install')?.task.name, 'web : install');
  assert.equal(findStartTask(book, 'web : install')?.play.name, 'two');
  assert.equal(findStartTask(book, 'nope'), undefined);
  assert.throws(
    () => startTask(book, 'nope'),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message ===
        `${t.path('site.yaml')}: --start-at-task "nope": no task of this playbook has that name (the tasks of an include_tasks whose path is a template are known only during the run)`,
  );
});

test('--list-tasks / --list-hosts: ansible-playbook layout, tasks as --tags selects them', async () => {
  const t = files({
    ...ROLE,
    'site.yaml': `
- hosts: web
  name: site
  tags: [site]
  roles: [web]
  tasks:
    - block:
        - name: in block
          probe: { what: x }
          tags: [b]
      rescue:
        - name: in rescue
          probe: { what: y }
    - include_tasks: "{{ f }}.yaml"
      tags: [b]
`,
  });
  const book = await load(t);
  const text = listPlaybook(book, { tasks: true, hosts: true, hostsOf: () => ['w1', 'w2'] });
  assert.equal(
    text,
    [
      '',
      `playbook: ${t.path('site.yaml')}`,
      '',
      '  play #1 (web): site\tTAGS: [site]',
      "    pattern: ['web']",
      '    hosts (2):',
      '      w1',
      '      w2',
      '    tasks:',
      '      web : install\tTAGS: [site]',
      '      shell\tTAGS: [site]',
      '      in block\tTAGS: [site, b]',
      '      in rescue\tTAGS: [site]',
      '      include_tasks {{ f }}.yaml\tTAGS: [site, b]',
      '',
    ].join('\n'),
  );
  const tagged = listPlaybook(book, { tasks: true, hosts: false, tags: ['b'], hostsOf: () => [] });
  assert.deepEqual(
    tagged.split('\n').filter((l) => l.startsWith('      ')),
    ['      in block\tTAGS: [site, b]', '      include_tasks {{ f }}.yaml\tTAGS: [site, b]'],
  );
  const unknown = listPlaybook(book, { tasks: false, hosts: true, hostsOf: () => ({ unknown: 'later' }) });
  assert.match(unknown, /\n {4}hosts: later\n/);
});

test('every task known at load, in run order, is in play.tasks (and leafTasks)', async () => {
  const t = files({
    'site.yaml': `
- hosts: all
  tasks:
    - block:
        - { name: a, probe: { what: a } }
      rescue:
        - { name: b, probe: { what: b } }
      always:
        - { name: c, probe: { what: c } }
    - include_tasks: inc.yaml
`,
    'inc.yaml': '- { name: d, probe: { what: d } }\n',
  });
  const play = (await load(t)).plays[0];
  assert.deepEqual(
    [...leafTasks(play?.body ?? [])].map((x) => x.name),
    ['a', 'b', 'c', 'd'],
  );
  assert.deepEqual(
    play?.tasks.map((x) => x.name),
    ['a', 'b', 'c', 'd'],
  );
  assert.equal(resolve(play?.location.file ?? ''), t.path('site.yaml'));
});
