import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { loadPlaybook, parsePlaybookText } from '../../src/playbook/load-playbook.js';
import { testModules } from '../runner/helpers.js';

const parse = (text: string) => parsePlaybookText(text, 'site.yaml', testModules);

/** The error's lines, e.g. `site.yaml:5:7 [0].tasks[0].shel: task "x": unknown module "shel" ...`. */
function problems(text: string): string[] {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n');
  }
  return assert.fail('expected a ConfigError');
}

test('a playbook compiles into plays, tasks and handlers with defaults filled in', () => {
  const book = parse(`
- name: deploy consul
  hosts: servers
  serial: [1, "50%"]
  max_fail_percentage: 20
  tags: consul
  defaults: { consul_version: "1.19.2" }
  vars: { datacenter: dc1 }
  tasks:
    - name: write config
      write: { path: /etc/consul.json, content: "{}" }
      notify: restart consul
      tags: [config]
    - shell: { cmd: "consul members" }
      register: members
      until: members.rc == 0
      retries: 5
      delay: 2
      check_mode: false
      when: ["inventory_hostname in groups.servers", true]
  handlers:
    - name: restart consul
      shell: { cmd: "docker restart consul" }
`);
  const play = book.plays[0];
  assert.ok(play);
  assert.equal(play.name, 'deploy consul');
  assert.deepEqual(play.serial, [1, { percent: 50 }]);
  assert.equal(play.maxFailPercentage, 20);
  assert.deepEqual(
    play.tasks.map((t) => [t.name, t.module, t.tags]),
    [
      ['write config', 'write', ['consul', 'config']],
      ['shell', 'shell', ['consul']],
    ],
  );
  const probe = play.tasks[1];
  assert.equal(probe?.retries, 5);
  assert.equal(probe?.delay, 2);
  assert.equal(probe?.runInCheckMode, true);
  assert.equal(probe?.when.length, 2);
  assert.equal(play.tasks[0]?.retries, 3, "Ansible's default retries");
  assert.equal(play.tasks[0]?.delay, 5, "Ansible's default delay");
  assert.deepEqual(
    play.handlers.map((h) => h.name),
    ['restart consul'],
  );
  assert.deepEqual(play.tasks[0]?.location, { file: 'site.yaml', line: 10, column: 7 });
});

test('an unknown module names the file, line, task and the modules that exist', () => {
  const [line] = problems(`
- hosts: all
  tasks:
    - name: install
      shel: { cmd: "true" }
`);
  assert.match(
    line ?? '',
    /^site\.yaml:5:13 \[0\]\.tasks\[0\]\.shel: task "install": unknown module "shel" \(known modules: group_by, probe, shell, write\)$/,
  );
});

test('an unknown task key is named as a key, at its line', () => {
  const [line] = problems(`
- hosts: all
  tasks:
    - name: check
      probe: { what: x }
      retires: 3
`);
  assert.match(
    line ?? '',
    /^site\.yaml:6:16 \[0\]\.tasks\[0\]\.retires: task "check": unknown key "retires"$/,
  );
});

test('a task with two modules, or none, is an error', () => {
  assert.match(
    problems(`
- hosts: all
  tasks:
    - name: both
      probe: { what: x }
      shell: { cmd: y }
`)[0] ?? '',
    /task "both": has more than one module: probe, shell/,
  );
  assert.match(
    problems(`
- hosts: all
  tasks:
    - name: nothing
      register: r
`)[0] ?? '',
    /site\.yaml:4:7 \[0\]\.tasks\[0\]: task "nothing": names no module/,
  );
});

test('a bad serial is located', () => {
  assert.match(
    problems(`
- hosts: all
  serial: "half"
  tasks: []
`)[0] ?? '',
    /^site\.yaml:3:11 \[0\]\.serial: /,
  );
  assert.match(
    problems(`
- hosts: all
  serial: [1, "0%"]
  tasks: []
`)[0] ?? '',
    /^site\.yaml:3:15 \[0\]\.serial\[1\]: serial "0%": a percentage must be above 0% and at most 100%$/,
  );
  assert.match(
    problems(`
- hosts: all
  serial: 0
`)[0] ?? '',
    /^site\.yaml:3:11 \[0\]\.serial: /,
  );
});

test('notify of a handler that does not exist is a load-time error', () => {
  const [line] = problems(`
- hosts: all
  tasks:
    - name: write config
      write: { path: /x, content: y }
      notify: [restart consul, reload consul]
  handlers:
    - name: restart consul
      shell: { cmd: restart }
`);
  assert.match(
    line ?? '',
    /^site\.yaml:6:15 \[0\]\.tasks\[0\]\.notify: task "write config": notifies "reload consul", but the play has no handler with that name$/,
  );
});

test('module args are checked against the module schema when no template is involved', () => {
  const lines = problems(`
- hosts: all
  tasks:
    - name: static
      write: { path: /x }
    - name: templated is checked at run time
      write: { path: "{{ dir }}/x", content: "{{ body }}" }
    - name: wrong type
      probe: { what: 3 }
`);
  assert.equal(lines.length, 2);
  assert.match(
    lines[0] ?? '',
    /site\.yaml:5:14 \[0\]\.tasks\[0\]\.write: task "static": module "write": missing required key "content"/,
  );
  assert.match(
    lines[1] ?? '',
    /site\.yaml:9:22 \[0\]\.tasks\[2\]\.probe\.what: task "wrong type": module "probe": must be a string/,
  );
});

test('a malformed condition is located and names the task and expression', () => {
  assert.match(
    problems(`
- hosts: all
  tasks:
    - name: gated
      probe: { what: x }
      when: "result.rc =="
`)[0] ?? '',
    /^site\.yaml:6:13 \[0\]\.tasks\[0\]\.when: task "gated": condition "result\.rc ==": unexpected end of condition/,
  );
});

test('schema problems (unknown play key, missing hosts) are located', () => {
  const lines = problems(`
- name: no hosts
  gather_facts: false
  tasks: []
`);
  assert.ok(
    lines.some((l) => /^site\.yaml:2:3 \[0\]: missing required key "hosts"$/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /^site\.yaml:3:17 \[0\]\.gather_facts: unknown key$/.test(l)),
    lines.join('\n'),
  );
});

test('every problem is reported at once; handlers need names', () => {
  const lines = problems(`
- hosts: all
  tasks:
    - name: a
      nope: {}
    - name: b
      probe: { what: x }
      notify: ghost
  handlers:
    - shell: { cmd: x }
`);
  assert.ok(
    lines.some((l) => l.includes('missing required key "name"')),
    lines.join('\n'),
  );
});

test('loadPlaybook reads a file and reports a missing one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'drover-pb-'));
  const file = join(dir, 'site.yaml');
  await writeFile(file, '- hosts: all\n  tasks:\n    - probe: { what: x }\n');
  const book = await loadPlaybook(file, testModules);
  assert.equal(book.plays[0]?.tasks[0]?.name, 'probe');
  await assert.rejects(loadPlaybook(join(dir, 'missing.yaml'), testModules), /missing\.yaml: file not found/);
});
