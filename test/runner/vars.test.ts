import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PlayVars } from '../../src/runner/host-vars.js';
import { Secret } from '../../src/shell/secret.js';
import { renderTemplate } from '../../src/template/render.js';
import { makeInventory, playbook, runWith } from './helpers.js';
import { exitCodeFor } from '../../src/report/conclusion.js';

const inv = makeInventory({
  groups: { servers: ['s1', 's2', 's3'], clients: ['c1'] },
  groupVars: { servers: { role: 'server', level: 'group' } },
  vars: {
    s1: { bind_addr: '10.0.1.1', level: 'host' },
    s2: { bind_addr: '10.0.1.2' },
    s3: { bind_addr: '10.0.1.3' },
    c1: { bind_addr: '10.0.2.1', gossip_key: new Secret('c2VjcmV0LWdvc3NpcC1rZXk=') },
  },
});

function varsFor(yaml: string): PlayVars {
  const play = playbook(yaml).plays[0];
  assert.ok(play);
  return new PlayVars(inv, play, new Map());
}

test('precedence: defaults < inventory vars < play vars < registered results', () => {
  const v = varsFor(`
- hosts: all
  defaults: { level: default, only_default: d, role: from-defaults }
  vars: { level: play }
  tasks: []
`);
  assert.equal(v.get('s1', 'only_default'), 'd');
  assert.equal(v.get('s1', 'role'), 'server', 'inventory beats play defaults');
  assert.equal(v.get('c1', 'role'), 'from-defaults');
  assert.equal(v.get('s1', 'level'), 'play', 'play vars beat inventory host vars');
  v.register('s1', 'level', { rc: 0 });
  assert.deepEqual(v.get('s1', 'level'), { rc: 0 }, 'registered results beat play vars');
  assert.equal(v.get('s2', 'level'), 'play', 'registering is per host');
});

test('templated vars render per host, lazily, in dependency order', () => {
  const v = varsFor(`
- hosts: all
  defaults:
    client_addr: "127.0.0.1 {{ bind_addr }}"
    http_url: "http://{{ first_word }}:8500"
    first_word: "{{ api_host }}"
    api_host: "{{ bind_addr }}"
    retry_join: "{{ json (group_values 'servers' 'bind_addr') }}"
    server_addrs: "{{ groups.servers }}"
  tasks: []
`);
  assert.equal(v.get('s1', 'client_addr'), '127.0.0.1 10.0.1.1');
  assert.equal(v.get('s2', 'client_addr'), '127.0.0.1 10.0.1.2');
  assert.equal(v.get('c1', 'http_url'), 'http://10.0.2.1:8500');
  assert.equal(v.get('c1', 'retry_join'), '["10.0.1.1","10.0.1.2","10.0.1.3"]');
  // One `{{ path }}` keeps the value's type.
  assert.deepEqual(v.get('c1', 'server_addrs'), ['s1', 's2', 's3']);
  assert.deepEqual(v.get('s2', 'group_names'), ['servers']);
  assert.equal(
    (v.view('c1')['hostvars'] as Record<string, Record<string, unknown>>)['s3']?.['client_addr'],
    '127.0.0.1 10.0.1.3',
  );
});

test('a cycle between vars is an error naming the vars, not a hang', () => {
  const v = varsFor(`
- hosts: all
  vars: { a: "x{{ b }}", b: "{{ c }}y", c: "{{ a }}" }
  tasks: []
`);
  assert.throws(
    () => v.get('s1', 'a'),
    /host s1: variables refer to each other in a cycle: a -> b -> c -> a/,
  );
});

test('a var whose template reads a missing var names both', () => {
  const v = varsFor(`
- hosts: all
  defaults: { url: "http://{{ consul_addr }}:8500", wrapper: "{{ url }}/v1" }
  tasks: []
`);
  assert.throws(
    () => v.get('s1', 'wrapper'),
    /host s1: variable "url": line 1: variable "consul_addr" is not defined/,
  );
});

test('secrets stay Secret objects; templates that read them yield Secrets', () => {
  const v = varsFor(`
- hosts: all
  vars: { encrypt: "{{ gossip_key }}", header: "key={{ gossip_key }}" }
  tasks: []
`);
  const encrypt = v.get('c1', 'encrypt');
  assert.ok(encrypt instanceof Secret);
  const header = v.get('c1', 'header');
  assert.ok(header instanceof Secret);
  // Shown as the template with only the secret part redacted.
  assert.equal(String(header), 'key=<redacted>');
  assert.equal(JSON.stringify({ header }), '{"header":"key=<redacted>"}');
  assert.equal((header as Secret).reveal(), 'key=c2VjcmV0LWdvc3NpcC1rZXk=');
  // What modules do with ctx.vars: reveal only for what goes to the host.
  assert.equal(renderTemplate('{{ header }}', v.view('c1'), { name: 't', reveal: false }), 'key=<redacted>');
  assert.equal(
    renderTemplate('{{ header }}', v.view('c1'), { name: 't', reveal: true }),
    'key=c2VjcmV0LWdvc3NpcC1rZXk=',
  );
});

test('a render that reads a secret through other templated vars reveals it only to the host', () => {
  const v = varsFor(`
- hosts: all
  vars: { inner: "{{ gossip_key }}", outer: "x-{{ inner }}" }
  tasks: []
`);
  // The first render resolves outer and inner while it is tracking secrets: the memo must still
  // hold Secrets, so that later reads of the same vars show them redacted.
  const rendered = v.render('c1', 'a {{ outer }}', 'test arg');
  assert.ok(rendered instanceof Secret);
  assert.equal(String(rendered), 'a x-<redacted>');
  assert.equal((rendered as Secret).reveal(), 'a x-c2VjcmV0LWdvc3NpcC1rZXk=');
  assert.ok(v.get('c1', 'inner') instanceof Secret);
  assert.equal(String(v.get('c1', 'outer')), 'x-<redacted>');
  assert.equal(v.render('c1', 'plain {{ bind_addr }}', 'test arg'), 'plain 10.0.2.1');
  assert.equal(String(v.render('s1', '{{ hostvars.c1.outer }}!', 'test arg')), 'x-<redacted>!');
});

test("secretTexts: every host's secrets, whichever host asks; a register is seen", () => {
  const v = varsFor(`
- hosts: all
  vars: { header: "key={{ gossip_key }}" }
  tasks: []
`);
  // Only c1 holds the gossip key; s1's output must still be scrubbed of it (hostvars reach it).
  // On s1..s3 `header` does not resolve (no gossip_key there): that is no error for redaction.
  assert.deepEqual([...v.secretTexts()].sort(), ['c2VjcmV0LWdvc3NpcC1rZXk=', 'key=c2VjcmV0LWdvc3NpcC1rZXk=']);
  v.register('s2', 'token', { value: new Secret('registered-token') });
  assert.ok(v.secretTexts().includes('registered-token'));
});

test('a missing var in task args fails that task, naming the task and the var', async () => {
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - name: write config
      write: { path: "/etc/{{ config_dir }}/consul.json", content: x }
    - name: never reached
      probe: { what: x }
`,
    inv,
  );
  assert.deepEqual(r.reporter.lines, ['failed s1 write config']);
  assert.match(
    r.reporter.outcomes[0]?.message ?? '',
    /task "write config" args\.path: line 1: variable "config_dir" is not defined/,
  );
  assert.equal(exitCodeFor(r.status), 2);
});

test('--limit narrows where tasks run, never groups/hostvars', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - name: join
      shell: { cmd: "join {{ json (group_values 'servers' 'bind_addr') }} of {{ groups.all.length }}" }
`,
    inv,
    { limit: 's2' },
  );
  assert.deepEqual(r.reporter.lines, ['changed s2 join']);
  assert.deepEqual(r.transports.get('s2')?.commands, [
    `sh -c 'join ["10.0.1.1","10.0.1.2","10.0.1.3"] of 4'`,
  ]);
  assert.deepEqual(r.connects, ['s2']);
});

test('templated args take the type the module declares; one {{ list }} stays a list', async () => {
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - name: count
      shell: { cmd: "echo 1" }
      register: out
    - name: probe rc
      probe: { what: "{{ out.rc }}" }
`,
    inv,
  );
  assert.deepEqual(r.reporter.lines, ['changed s1 count', 'ok s1 probe rc']);
  assert.deepEqual(r.transports.get('s1')?.commands, [`sh -c 'echo 1'`, 'probe 0']);
});

test('hostvars is built once per host between registers, and a register shows in it', () => {
  const v = varsFor(`
- hosts: all
  tasks: []
`);
  const hostvars = (host: string) => v.view(host)['hostvars'] as Record<string, Record<string, unknown>>;
  assert.equal(hostvars('s1'), hostvars('c1'), 'one container for every view without a tracker');
  assert.equal(hostvars('s1')['s2'], hostvars('c1')['s2'], 'one view per host');
  assert.equal(hostvars('s1')['s2']?.['bind_addr'], '10.0.1.2');
  assert.equal(hostvars('s1')['s2']?.['probe'], undefined);
  v.register('s2', 'probe', { rc: 0 });
  assert.deepEqual(
    hostvars('s1')['s2']?.['probe'],
    { rc: 0 },
    'a registered result is seen through hostvars',
  );
});
