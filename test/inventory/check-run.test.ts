/**
 * The check of a run's input before any connection (src/input-check): what it checks, where it
 * says the problem is, and what it leaves to the run (values only the hosts can give).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseYaml } from '../../src/config/yaml-file.js';
import { formatProblem } from '../../src/errors.js';
import { checkBeforeConnecting } from '../../src/app/check-before-connecting.js';
import { checkRunInput } from '../../src/input-check/check-run.js';
import { withConsulRoleGroups } from '../../src/inventory/consul-checks.js';
import { loadInventory } from '../../src/inventory/load.js';
import { resolveInventory } from '../../src/inventory/resolve.js';
import type { Inventory, Vars } from '../../src/inventory/types.js';
import { builtinModules } from '../../src/modules/registry.js';
import { PLAYBOOKS_DIR, PROJECT_ROOT } from '../../src/paths.js';
import { loadPlaybook, parsePlaybookText } from '../../src/playbook/load-playbook.js';
import type { Playbook } from '../../src/playbook/types.js';
import { Secret } from '../../src/shell/secret.js';

const modules = builtinModules();
const scratch = mkdtempSync(join(tmpdir(), 'drover-check-run-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function inventoryAt(file: string, text: string, env: Record<string, string> = {}): Inventory {
  return resolveInventory(parseYaml(text, file), { env, homeDir: '/home/op' });
}

async function check(
  inventory: Inventory,
  playbook: Playbook,
  o: { baseDir?: string; extraVars?: Vars } = {},
): Promise<string[]> {
  const problems = await checkRunInput({
    inventory,
    playbook,
    modules,
    baseDir: o.baseDir ?? PROJECT_ROOT,
    ...(o.extraVars ? { extraVars: o.extraVars } : {}),
  });
  return problems.map(formatProblem);
}

const deploy = () => loadPlaybook(join(PLAYBOOKS_DIR, 'consul-deploy.yaml'), modules);

const KEY = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';

test('the shipped inventories pass every shipped Consul playbook, with the vars their commands add', async () => {
  const extra: Record<string, Vars> = {
    'consul-reset-node.yaml': { drover_reset_force: false },
    'consul-rotate-tls.yaml': { drover_tls_renew_before: '2026-12-07T10:00:00.000Z' },
    'consul-rotate-gossip-key.yaml': {
      consul_encrypt: new Secret(KEY),
      consul_encrypt_next: new Secret(KEY),
      drover_consul_nodes: 5,
    },
  };
  for (const inv of ['lab.yaml', 'prod.example.yaml']) {
    const inventory = withConsulRoleGroups(
      await loadInventory(join(PROJECT_ROOT, 'inventories', inv), { env: { CONSUL_GOSSIP_KEY: KEY } }),
    );
    for (const name of [
      'consul-deploy.yaml',
      'consul-preflight.yaml',
      'consul-rolling-restart.yaml',
      'consul-upgrade.yaml',
      'consul-services.yaml',
      'consul-reset-node.yaml',
      'consul-rotate-gossip-key.yaml',
      'consul-rotate-tls.yaml',
    ]) {
      const playbook = await loadPlaybook(join(PLAYBOOKS_DIR, name), modules);
      assert.deepEqual(
        await check(inventory, playbook, { extraVars: extra[name] ?? {} }),
        [],
        `${inv} ${name}`,
      );
    }
  }
});

test('a cluster of servers only passes; without the empty clients group its plays would name an unknown group', async () => {
  const text = 'all:\n  children:\n    servers:\n      hosts:\n        s1: { address: 10.0.0.1 }\n';
  const inventory = inventoryAt('/inv/servers.yaml', text);
  assert.deepEqual(await check(withConsulRoleGroups(inventory), await deploy()), []);
  const bare = await check(inventory, await deploy());
  assert.match(
    bare[0] ?? '',
    /consul-deploy\.yaml:\d+:\d+ \[0\]\.hosts: play "Consul agents": host pattern "clients" matches no host or group/,
  );
});

test('a gossip key of 16 or 24 bytes is a key Consul takes: the check takes it too', async () => {
  for (const bytes of [16, 24]) {
    const key = Buffer.alloc(bytes, 3).toString('base64');
    const text = `all:\n  vars:\n    consul_encrypt: "${key}"\n  children:\n    servers:\n      hosts:\n        s1: { address: 10.0.0.1 }\n`;
    assert.deepEqual(
      await check(withConsulRoleGroups(inventoryAt('/inv/k.yaml', text)), await deploy()),
      [],
      `${bytes} bytes`,
    );
  }
});

test('one bad value set for many hosts is one line naming them; its place is where it is written', async () => {
  const hosts = Array.from({ length: 6 }, (_, i) => `        c${i}: { address: 10.0.1.${i + 1} }`).join('\n');
  const text = [
    'all:',
    '  children:',
    '    servers:',
    '      hosts:',
    '        s1: { address: 10.0.0.1 }',
    '    clients:',
    '      vars:',
    '        consul_log_level: loud',
    '      hosts:',
    hosts,
    '',
  ].join('\n');
  assert.deepEqual(await check(withConsulRoleGroups(inventoryAt('/inv/p.yaml', text)), await deploy()), [
    '/inv/p.yaml:8:27 all.children.clients.vars.consul_log_level: must be one of trace, debug, info, warn, err, error (in any case) (log_level in the Consul agent config), for hosts c0, c1, c2 and 3 more',
  ]);
});

test("a host's own value wins over its group's, and is where the problem is reported", async () => {
  const text = [
    'all:',
    '  vars:',
    '    consul_retry_interval: 10s',
    '  children:',
    '    servers:',
    '      hosts:',
    '        s1: { address: 10.0.0.1, consul_retry_interval: soon }',
    '        s2: { address: 10.0.0.2 }',
    '',
  ].join('\n');
  const problems = await check(withConsulRoleGroups(inventoryAt('/inv/p.yaml', text)), await deploy());
  assert.deepEqual(problems, [
    '/inv/p.yaml:7:57 all.children.servers.hosts.s1.consul_retry_interval: must be a Go duration such as 30s, 1m30s or 500ms (not negative) (retry_interval in the Consul agent config), for host s1',
  ]);
});

test('bad TLS values in the inventory stop the load, each where it is written', () => {
  const text = [
    'all:',
    '  vars:',
    '    consul_tls_enable: "yes"',
    '  children:',
    '    servers:',
    '      vars:',
    '        consul_tls_http: loopbak',
    '      hosts:',
    '        s1: { address: 10.0.0.1, consul_tls_https_port: 0 }',
    '',
  ].join('\n');
  assert.throws(
    () => inventoryAt('/inv/p.yaml', text),
    (err: Error) => {
      assert.equal(
        err.message,
        [
          '/inv/p.yaml:3:24 all.vars.consul_tls_enable: must be a boolean',
          '/inv/p.yaml:7:26 all.children.servers.vars.consul_tls_http: must be one of: loopback, off, on',
          '/inv/p.yaml:9:57 all.children.servers.hosts.s1.consul_tls_https_port: must be >= 1',
        ].join('\n'),
      );
      return true;
    },
  );
});

/** One server and nothing else set: what the playbook's defaults and the command line decide. */
const ONE_SERVER = [
  'all:',
  '  children:',
  '    servers:',
  '      hosts:',
  '        s1: { address: 10.0.0.1 }',
  '',
].join('\n');

test('a bad TLS value from elsewhere (the command line, a play) is found before connecting', async () => {
  const problems = await check(withConsulRoleGroups(inventoryAt('/inv/p.yaml', ONE_SERVER)), await deploy(), {
    extraVars: { consul_tls_enable: true, consul_tls_http: 'loopbak' },
  });
  assert.deepEqual(problems, [
    'the command line consul_tls_http: consul_tls_http must be "loopback" (plain HTTP on 127.0.0.1 only), "off" or "on", for host s1',
  ]);
});

test('TLS left to the servers (consul_tls_enable unset): what only TLS would run is checked too, before connecting', async () => {
  const inventory = withConsulRoleGroups(inventoryAt(join(scratch, 'undecided.yaml'), ONE_SERVER));
  const { dir, playbook } = project(
    'undecided',
    [
      '- name: p',
      '  hosts: servers',
      '  tasks:',
      '    - name: only with TLS',
      '      mkdir: { path: "{{tls_dir}}" }',
      '      when: consul_tls_enable',
      '',
    ].join('\n'),
  );
  const run = (vars: Vars) =>
    checkBeforeConnecting({
      inventory,
      playbook,
      modules,
      baseDir: dir,
      check: true,
      consul: true,
      extraVars: vars,
    });
  await run({ consul_tls_enable: false });
  await assert.rejects(
    run({}),
    (err: unknown) => /only with TLS/.test(String(err)) && /path/.test(String(err)),
  );
});

test('TLS turned on, with the playbook defaults: nothing to complain about', async () => {
  const text = [
    'all:',
    '  vars:',
    '    consul_tls_enable: true',
    '  children:',
    '    servers:',
    '      hosts:',
    '        s1: { address: 10.0.0.1 }',
    '    clients:',
    '      hosts:',
    '        c1: { address: 10.0.0.2 }',
    '',
  ].join('\n');
  assert.deepEqual(await check(withConsulRoleGroups(inventoryAt('/inv/p.yaml', text)), await deploy()), []);
});

/** A project of its own (playbook, templates) in the scratch dir. */
function project(
  name: string,
  playbook: string,
  files: Record<string, string> = {},
): { dir: string; playbook: Playbook } {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return { dir, playbook: parsePlaybookText(playbook, join(dir, 'site.yaml'), modules) };
}

const ONE_HOST = 'all:\n  hosts:\n    h1: { address: 10.0.0.1 }\n';

test('what only the run knows is left to it: args reading a registered result, and tasks after them', async () => {
  const { dir, playbook } = project(
    'registered',
    [
      '- hosts: all',
      '  tasks:',
      '    - command: { argv: [hostname] }',
      '      register: r',
      '    - name: uses r',
      '      command: { argv: ["{{ r.stdout }}"] }',
      '    - name: when on r',
      '      wait_for: { host: "{{ r.stdout }}", port: "{{ port }}" }',
      '      when: r.rc == 0',
      '',
    ].join('\n'),
  );
  // `port` is not defined: that arg does not depend on the run, and is reported.
  assert.deepEqual(await check(inventoryAt(join(dir, 'inv.yaml'), ONE_HOST), playbook, { baseDir: dir }), [
    `${dir}/site.yaml:8:49 [0].tasks[2].wait_for.port: task "when on r": port: variable "port" is not defined, for host h1`,
  ]);
});

test('a false `when` skips the task for that host; a `when` that cannot be evaluated is reported', async () => {
  const { dir, playbook } = project(
    'when',
    [
      '- hosts: all',
      '  tasks:',
      '    - name: only with a port',
      '      wait_for: { host: localhost, port: "{{ port }}" }',
      '      when: port is defined',
      '    - name: broken condition',
      '      command: { argv: [true] }',
      '      when: nosuch == 1',
      '',
    ].join('\n'),
  );
  assert.deepEqual(await check(inventoryAt(join(dir, 'inv.yaml'), ONE_HOST), playbook, { baseDir: dir }), [
    `${dir}/site.yaml:8:13 [0].tasks[1].when: task "broken condition": condition "nosuch == 1": nosuch is not defined, for host h1`,
  ]);
});

test('a bad play default is reported in the playbook; a template that does not render, at its task', async () => {
  const { dir, playbook } = project(
    'defaults',
    [
      '- hosts: all',
      '  defaults:',
      '    consul_log_level: loud',
      '  tasks:',
      '    - name: config',
      '      template:',
      '        src: templates/agent.json.hbs',
      '        dest: /etc/agent.json',
      '        validate_schema: schemas/consul-agent.schema.json',
      '    - name: other',
      '      template: { src: templates/broken.json.hbs, dest: /etc/other.json }',
      '',
    ].join('\n'),
    {
      'templates/agent.json.hbs':
        '{ "datacenter": "dc1", "node_name": {{json inventory_hostname}}, "data_dir": "/d", "server": true,\n' +
        '  "bind_addr": {{json bind_addr}}, "retry_join": ["x"], "log_level": {{json consul_log_level}} }\n',
      'templates/broken.json.hbs': '{ "a": {{json nosuch}} }\n',
      'schemas/consul-agent.schema.json': '{}',
    },
  );
  // The schema path is the project's own (an empty schema) except for the agent config, which is drover's.
  rmSync(join(dir, 'schemas'), { recursive: true });
  symlinkSync(join(PROJECT_ROOT, 'schemas'), join(dir, 'schemas'));
  const problems = await check(inventoryAt(join(dir, 'inv.yaml'), ONE_HOST), playbook, { baseDir: dir });
  assert.deepEqual(problems, [
    `${dir}/site.yaml:3:23 [0].defaults.consul_log_level: must be one of trace, debug, info, warn, err, error (in any case) (log_level in the Consul agent config), for host h1`,
    `${dir}/site.yaml:11:24 [0].tasks[1].template.src: task "other": src: line 1: the value given to json is not defined (a missing variable?), for host h1`,
  ]);
});

test('template paths stay in the project and the inventory folder, links included', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'drover-outside-'));
  try {
    writeFileSync(join(outside, 't.hbs'), 'x');
    const { dir, playbook } = project(
      'confined',
      [
        '- hosts: all',
        '  tasks:',
        '    - name: linked',
        '      template: { src: templates/link.hbs, dest: /etc/a }',
        '    - name: from a var',
        '      template: { src: "templates/{{ t }}.hbs", dest: /etc/b }',
        '    - name: beside the inventory',
        '      template: { src: "{{ inventory_dir }}/mine.hbs", dest: /etc/c }',
        '',
      ].join('\n'),
      { 'templates/ok.hbs': 'ok' },
    );
    symlinkSync(join(outside, 't.hbs'), join(dir, 'templates', 'link.hbs'));
    const invDir = join(scratch, 'inventory-folder');
    mkdirSync(invDir, { recursive: true });
    writeFileSync(join(invDir, 'mine.hbs'), 'mine');
    const text = `all:\n  vars:\n    t: ../../../../../../../..${outside}/t\n    inventory_dir: ${invDir}\n  hosts:\n    h1: { address: 10.0.0.1 }\n`;
    const problems = await check(inventoryAt(join(invDir, 'inv.yaml'), text), playbook, { baseDir: dir });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(
      problems[0] ?? '',
      /inv\.yaml:3:8 all\.vars\.t: \S+\/t\.hbs is outside the project \(\S+\), the inventory's folder \(\S+\) and drover's own files \(\S+\); drover reads templates and schemas only there \(src of task "from a var"\), for host h1$/,
    );
    assert.match(
      problems[1] ?? '',
      /site\.yaml:4:\d+ \[0\]\.tasks\[0\]\.template\.src: task "linked": src: \S+link\.hbs \(a link to \S+\/t\.hbs\) is outside the project/,
    );
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test('a templated serial is checked before the play, where its var is written', async () => {
  const { dir, playbook } = project(
    'serial',
    ['- hosts: all', '  serial: "{{ batch }}"', '  tasks:', '    - command: { argv: [true] }', ''].join('\n'),
  );
  const text = `all:\n  vars:\n    batch: 0\n  hosts:\n    h1: { address: 10.0.0.1 }\n`;
  assert.deepEqual(await check(inventoryAt(join(dir, 'inv.yaml'), text), playbook, { baseDir: dir }), [
    `${dir}/inv.yaml:3:12 all.vars.batch: serial 0: expected a count of at least 1 or a percentage like "25%" (the serial of play "all"), for host h1`,
  ]);
});

test('secrets never appear in a message, whatever carries them', async () => {
  const { dir, playbook } = project(
    'secret',
    [
      '- hosts: all',
      '  tasks:',
      '    - template: { src: "templates/{{ api_token }}.hbs", dest: /etc/x }',
      '',
    ].join('\n'),
  );
  const text = `all:\n  vars:\n    api_token: "s3cr3t-t0ken"\n  hosts:\n    h1: { address: 10.0.0.1 }\n`;
  const problems = await check(inventoryAt(join(dir, 'inv.yaml'), text), playbook, { baseDir: dir });
  assert.equal(problems.length, 1);
  assert.match(
    problems[0] ?? '',
    /inv\.yaml:3:16 all\.vars\.api_token: file not found \(\S+\/templates\/<redacted>\.hbs\)/,
  );
  assert.ok(!problems[0]?.includes('s3cr3t-t0ken'));
});

test("Inventory.locateVar: a host's own value, else the winning group's; an unset bind_addr is the address", () => {
  const inv = inventoryAt(
    '/inv/p.yaml',
    [
      'all:',
      '  vars:',
      '    x: 1',
      '  children:',
      '    outer:',
      '      vars:',
      '        x: 2',
      '      children:',
      '        inner:',
      '          vars:',
      '            x: 3',
      '          hosts:',
      '            a: { address: 10.0.0.1 }',
      '            b: { address: 10.0.0.2, x: 4 }',
      '      hosts:',
      '        c: { address: 10.0.0.3 }',
      '',
    ].join('\n'),
  );
  const at = (h: string, v: string) => {
    const l = inv.locateVar?.(h, v);
    return l ? `${l.line}:${l.column} ${l.path}` : undefined;
  };
  assert.equal(at('a', 'x'), '11:16 all.children.outer.children.inner.vars.x');
  assert.equal(at('b', 'x'), '14:40 all.children.outer.children.inner.hosts.b.x');
  assert.equal(at('c', 'x'), '7:12 all.children.outer.vars.x');
  assert.equal(at('c', 'bind_addr'), '16:23 all.children.outer.hosts.c.address');
  assert.equal(at('c', 'nosuch'), undefined);
});
