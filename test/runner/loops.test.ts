/** `loop:` at run time (runner/run-loop.ts): per item, registered as Ansible registers it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeInventory, runWith } from './helpers.js';

const two = makeInventory({
  groups: { servers: ['s1', 's2'] },
  vars: { s1: { ports: [8300, 8301] }, s2: { ports: [8500] } },
});

test('a loop runs the task once per item, with the item in `item`; the result has one entry per item', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - name: open
      shell: { cmd: "open {{ item }}" }
      loop: "{{ ports }}"
      register: opened
    - name: count
      probe: { what: "{{ opened.results.[0].item }} {{ opened.msg }} {{ opened.changed }}" }
`,
    two,
  );
  assert.deepEqual(r.transports.get('s1')?.commands, [
    "sh -c 'open 8300'",
    "sh -c 'open 8301'",
    "probe '8300 All items completed true'",
  ]);
  assert.deepEqual(r.transports.get('s2')?.commands, [
    "sh -c 'open 8500'",
    "probe '8500 All items completed true'",
  ]);
  // One outcome per host for the whole loop, as Ansible's recap counts it.
  assert.deepEqual(r.reporter.lines, ['changed s1 open', 'changed s2 open', 'ok s1 count', 'ok s2 count']);
  const message = r.outcomes[0]?.message;
  assert.equal(
    message,
    "changed (item=8300) - run sh -c 'open 8300'\nchanged (item=8301) - run sh -c 'open 8301'",
  );
});

test('loop_control: loop_var, index_var and label; when is judged per item', async () => {
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - name: each
      shell: { cmd: "n={{ i }} {{ node.name }}" }
      loop: [{ name: a, on: true }, { name: b, on: false }, { name: c, on: true }]
      loop_control: { loop_var: node, index_var: i, label: "{{ node.name }}" }
      when: node.on
      register: each
    - name: see
      probe: { what: "{{ each.results.[1].skipped }} {{ each.results.[2].i }} {{ each.results.[2].ansible_loop_var }}" }
`,
    two,
  );
  assert.deepEqual(r.transports.get('s1')?.commands, [
    "sh -c 'n=0 a'",
    "sh -c 'n=2 c'",
    "probe 'true 2 node'",
  ]);
  assert.equal(
    r.outcomes[0]?.message,
    "changed (item=a) - run sh -c 'n=0 a'\nskipped (item=b)\nchanged (item=c) - run sh -c 'n=2 c'",
  );
});

test('an item failing fails the task after every item has run; ignore_errors still applies', async () => {
  const script = (t: { onExec: (m: RegExp, r: { code: number }) => unknown }) => t.onExec(/bad/, { code: 1 });
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - name: each
      shell: { cmd: "{{ item }}" }
      loop: [good, bad, also-good]
      register: each
    - name: never
      probe: { what: x }
`,
    two,
    { script },
  );
  assert.deepEqual(r.transports.get('s1')?.commands, ['sh -c good', 'sh -c bad', 'sh -c also-good']);
  assert.deepEqual(r.reporter.lines, ['failed s1 each']);
  assert.equal(r.status, 'failed');
  const ignored = await runWith(
    `
- hosts: s1
  tasks:
    - name: each
      shell: { cmd: "{{ item }}" }
      loop: [bad, good]
      ignore_errors: true
      register: each
    - name: after
      probe: { what: "{{ each.failed }} {{ each.msg }} {{ each.results.[0].rc }}" }
`,
    two,
    { script },
  );
  assert.deepEqual(ignored.reporter.lines, ['failed s1 each', 'ok s1 after']);
  assert.equal(ignored.outcomes[0]?.ignoredError, true);
  assert.deepEqual(ignored.transports.get('s1')?.commands.at(-1), "probe 'true One or more items failed 1'");
});

test('an empty loop is skipped; a loop that renders to no list fails the task, saying what it is', async () => {
  const r = await runWith(
    `
- hosts: s1
  vars: { none: [], text: "abc" }
  tasks:
    - name: empty
      shell: { cmd: x }
      loop: "{{ none }}"
      register: e
    - name: see
      probe: { what: "{{ e.skipped }} {{ e.skipped_reason }}" }
    - name: not a list
      shell: { cmd: x }
      loop: "{{ text }}"
`,
    two,
  );
  assert.deepEqual(r.reporter.lines, ['skipped s1 empty', 'ok s1 see', 'failed s1 not a list']);
  assert.equal(r.transports.get('s1')?.commands[0], "probe 'true No items in the list'");
  assert.equal(r.outcomes[2]?.message, 'task "not a list": loop must be a list, but it is a string');
});

test('until composes with loop: each item is retried on its own until its condition holds', async () => {
  const tries: Record<string, number> = {};
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - name: wait
      probe: { what: "{{ item }}" }
      loop: [a, b]
      register: w
      until: w.stdout == 'up'
      retries: 3
      delay: 1
    - name: see
      probe: { what: "{{ w.results.[0].attempts }} {{ w.results.[1].attempts }}" }
`,
    two,
    {
      script: (t) =>
        t.onExec(/^probe [ab]$/, (cmd) => {
          const item = cmd.slice(-1);
          tries[item] = (tries[item] ?? 0) + 1;
          return { stdout: tries[item] >= (item === 'a' ? 2 : 3) ? 'up' : 'down' };
        }),
    },
  );
  assert.deepEqual(r.reporter.lines, ['ok s1 wait', 'ok s1 see']);
  assert.deepEqual(tries, { a: 2, b: 3 });
  assert.equal(r.transports.get('s1')?.commands.at(-1), "probe '2 3'");
});

test("a loop over a registered result (an earlier loop's results); group_by in a loop joins a group per item", async () => {
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - name: first
      probe: { what: "{{ item }}" }
      loop: [p, q]
      register: first
    - name: again
      shell: { cmd: "use {{ item.item }} {{ item.stdout }}" }
      loop: "{{ first.results }}"
      loop_control: { label: "{{ item.item }}" }
`,
    two,
    { script: (t) => t.onExec(/^probe [pq]$/, (cmd) => ({ stdout: `seen-${cmd.slice(-1)}` })) },
  );
  assert.deepEqual(r.transports.get('s1')?.commands, [
    'probe p',
    'probe q',
    "sh -c 'use p seen-p'",
    "sh -c 'use q seen-q'",
  ]);
  assert.match(r.outcomes[1]?.message ?? '', /^changed \(item=p\) - /);
  const grouped = await runWith(
    `
- hosts: servers
  tasks:
    - name: groups
      group_by: { key: "role_{{ item }}" }
      loop: "{{ ports }}"
- hosts: role_8301
  tasks:
    - name: in 8301
      probe: { what: y }
`,
    two,
  );
  assert.deepEqual(grouped.reporter.lines, ['ok s1 groups', 'ok s2 groups', 'ok s1 in 8301']);
});
