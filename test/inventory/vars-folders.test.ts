/**
 * group_vars/ and host_vars/ beside the inventory, as Ansible reads them: their place in the
 * precedence order, how a folder's files merge, and every way they can be wrong, located in them.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { formatProblem } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { inventoryList } from '../../src/inventory/show.js';
import { isSecret, type Secret } from '../../src/shell/secret.js';
import { lines, rejection, tempTree } from './helpers.js';

const INVENTORY = lines(
  'all:',
  '  vars: { a: inv-all, b: inv-all, c: inv-all, d: inv-all, e: inv-all, f: inv-all }',
  '  children:',
  '    consul:',
  '      vars: { b: inv-consul }',
  '      children:',
  '        servers:',
  '          vars: { c: inv-servers }',
  '          hosts:',
  '            s1: { address: 10.0.0.1, e: inv-host }',
  '            s2: { address: 10.0.0.2, d: inv-host }',
);

const layered = tempTree({
  'prod.yaml': INVENTORY,
  'group_vars/all.yaml': 'c: gv-all\nd: gv-all\n',
  'group_vars/consul.yml': 'd: gv-consul\nf: gv-consul\n',
  'group_vars/servers/10-base.yaml': 'f: gv-servers-10\ng: base\n',
  'group_vars/servers/20-override.json': '{"f": "gv-servers-20"}\n',
  'group_vars/servers/sub/30-more.yaml': 'h: deeper\n',
  // Hidden files and editor backups are not read; they would win if they were.
  'group_vars/servers/.hidden.yaml': 'f: hidden\n',
  'group_vars/servers/zz.yaml~': 'f: backup\n',
  'group_vars/servers/notes.md': 'f: not yaml\n',
  'group_vars/README.md': '# What these are\n',
  'host_vars/s1.yaml': 'e: hv-s1\n',
});
after(layered.remove);

test("Ansible's order: inventory group vars < group_vars/all < group_vars/<group> < inventory host vars < host_vars/", async () => {
  const inv = await loadInventory(layered.path('prod.yaml'));
  const s1 = inv.hosts.get('s1')?.vars ?? {};
  assert.deepEqual(
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k) => s1[k]),
    // group_vars/all wins over the inventory file's `servers` vars (c): Ansible's documented order.
    ['inv-all', 'inv-consul', 'gv-all', 'gv-consul', 'hv-s1', 'gv-servers-20', 'base', 'deeper'],
  );
  const s2 = inv.hosts.get('s2')?.vars ?? {};
  assert.deepEqual([s2['d'], s2['e'], s2['f']], ['inv-host', 'inv-all', 'gv-servers-20']);
  // A group's vars are what its hosts get from it: its files over its inventory vars.
  assert.deepEqual(inv.groups.get('servers')?.vars, {
    c: 'inv-servers',
    f: 'gv-servers-20',
    g: 'base',
    h: 'deeper',
  });
});

test('each value is located where it won: a vars file, its line, the key', async () => {
  const inv = await loadInventory(layered.path('prod.yaml'));
  const at = (host: string, name: string) => {
    const loc = inv.locateVar?.(host, name);
    return loc && `${loc.file.slice(layered.dir.length + 1)}:${loc.line}:${loc.column} ${loc.path}`;
  };
  assert.equal(at('s1', 'f'), 'group_vars/servers/20-override.json:1:7 f');
  assert.equal(at('s1', 'c'), 'group_vars/all.yaml:1:4 c');
  assert.equal(at('s1', 'e'), 'host_vars/s1.yaml:1:4 e');
  assert.equal(at('s2', 'd'), 'prod.yaml:11:41 all.children.consul.children.servers.hosts.s2.d');
  assert.equal(at('s2', 'b'), 'prod.yaml:5:18 all.children.consul.vars.b');
});

test('a file drover does not read in group_vars/ (a README.md) is a warning naming it', async () => {
  const inv = await loadInventory(layered.path('prod.yaml'));
  const notRead =
    'not read: drover reads .yaml, .yml and .json files (and files without an extension) in group_vars/';
  assert.deepEqual(inv.warnings.map(formatProblem), [
    `${layered.path('group_vars/README.md')}: ${notRead}`,
    `${layered.path('group_vars/servers/notes.md')}: ${notRead}`,
  ]);
});

test('values in vars files take the forms the inventory takes: env, secrets, paths beside the inventory', async () => {
  const t = tempTree({
    'inv/prod.yaml': lines('all:', '  hosts:', '    s1: { address: 10.0.0.1 }'),
    'inv/group_vars/all': lines(
      'consul_encrypt: { env: GOSSIP }',
      'db_password: "1234"',
      'ssh_key: keys/id',
      'nested: { api_token: tok-5678 }',
    ),
  });
  try {
    const inv = await loadInventory(t.path('inv/prod.yaml'), { env: { GOSSIP: 'k3y-from-env' } });
    const vars = inv.hosts.get('s1')?.vars ?? {};
    assert.ok(isSecret(vars['consul_encrypt']));
    assert.equal((vars['consul_encrypt'] as Secret).reveal(), 'k3y-from-env');
    assert.ok(isSecret(vars['db_password']));
    // Relative to the inventory's folder, as in the inventory file itself, not to group_vars/.
    assert.equal(vars['ssh_key'], t.path('inv/keys/id'));
    const shown = JSON.stringify(inventoryList(inv));
    for (const clear of ['k3y-from-env', '1234', 'tok-5678'])
      assert.ok(!shown.includes(clear), `${clear} leaked`);
  } finally {
    t.remove();
  }
});

test('a vars file of the wrong shape is refused at its line, before anything else is checked', async () => {
  const t = tempTree({
    'prod.yaml': lines('all:', '  hosts:', '    s1: { address: 10.0.0.1 }'),
    'group_vars/all.yaml': 'ssh_port: "22"\nconsul_encrypt: 12\n',
    'host_vars/s1.json': '[1, 2]\n',
  });
  try {
    assert.deepEqual(await rejection(loadInventory(t.path('prod.yaml'))), [
      `${t.path('group_vars/all.yaml')}:1:11 ssh_port: must be an integer`,
      `${t.path('group_vars/all.yaml')}:2:17 consul_encrypt: must be a string or a mapping`,
      `${t.path('host_vars/s1.json')}:1:1: must be a mapping or null`,
    ]);
  } finally {
    t.remove();
  }
});

test('two files for one group or host are refused, both named (Ansible would quietly read one)', async () => {
  const t = tempTree({
    'prod.yaml': lines('all:', '  hosts:', '    s1: { address: 10.0.0.1 }'),
    'group_vars/all.yaml': 'y: 1\n',
    'group_vars/all.yml': 'y: 2\n',
    'host_vars/s1/': '',
    'host_vars/s1.yaml': 'a: 1\n',
  });
  const p = (name: string) => t.path(name);
  try {
    // Finding and reading the files comes first, as a parse error in the inventory does.
    assert.deepEqual(await rejection(loadInventory(p('prod.yaml'))), [
      `${p('group_vars/all.yml')}: ${p('group_vars/all.yaml')} holds the vars of group "all" too; keep one of them`,
      `${p('host_vars/s1.yaml')}: ${p('host_vars/s1')}/ holds the vars of host "s1" too; keep one of them`,
    ]);
  } finally {
    t.remove();
  }
});

test("vars files for no group or host, bad names, missing env: all named with the inventory's own problems", async () => {
  const t = tempTree({
    'prod.yaml': lines(
      'all:',
      '  children:',
      '    servers:',
      '      hosts:',
      '        s1: { address: 10.0.0.1 }',
      '        s2: { address: 10.0.0.1 }',
    ),
    'group_vars/sever/main.yaml': 'x: 1\n',
    'group_vars/servers.yaml': 'bad-name: 1\ninventory_hostname: s\n',
    'group_vars/ungrouped.yaml': 'z: 1\n',
    'host_vars/s2.yaml': 'token: { env: NOPE }\n',
    'host_vars/s9.yaml': 'a: 1\n',
  });
  const p = (name: string) => t.path(name);
  try {
    assert.deepEqual(await rejection(loadInventory(p('prod.yaml'), { env: {} })), [
      `${p('prod.yaml')}:6:24 all.children.servers.hosts.s2.address: address 10.0.0.1 is also the address of host "s1"`,
      `${p('group_vars/servers.yaml')}:1:11 bad-name: "bad-name" is not a valid variable name (letters, digits and "_", not starting with a digit)`,
      `${p('group_vars/servers.yaml')}:2:21 inventory_hostname: is set by drover to the host name; remove it`,
      `${p('group_vars/sever')}/: no group "sever" in the inventory: group_vars/ files are named after a group of ` +
        'the inventory (an inventory without such hosts can list it as "hosts: {}")',
      `${p('group_vars/ungrouped.yaml')}: no group "ungrouped" in the inventory: "ungrouped" is the group drover ` +
        'makes of hosts in no other group; give such vars to the hosts',
      `${p('host_vars/s2.yaml')}:1:8 token: token comes from the environment variable NOPE, which is not set or empty`,
      `${p('host_vars/s9.yaml')}: no host "s9" in the inventory: host_vars/ files are named after a host of the inventory`,
    ]);
  } finally {
    t.remove();
  }
});

test('group_vars that is a file, not a folder, is refused', async () => {
  const t = tempTree({
    'prod.yaml': lines('all:', '  hosts:', '    s1: { address: 10.0.0.1 }'),
    group_vars: 'a: 1\n',
  });
  try {
    assert.deepEqual(await rejection(loadInventory(t.path('prod.yaml'))), [
      `${t.path('group_vars')}: is not a folder: group_vars/ holds files named after groups`,
    ]);
  } finally {
    t.remove();
  }
});

test('two groups at one depth in group_vars/: the later in the inventory wins, with a warning in the file', async () => {
  const t = tempTree({
    'prod.yaml': lines(
      'all:',
      '  children:',
      '    east:',
      '      vars: { zone: e }',
      '      hosts: { s1: { address: 10.0.0.1 } }',
      '    west:',
      '      vars: { zone: w }',
      '      hosts: { s1: }',
    ),
    'group_vars/east.yaml': 'rack: gv-east\nzone: gv-east\n',
    'group_vars/west.yaml': 'rack: gv-west\n',
  });
  try {
    const inv = await loadInventory(t.path('prod.yaml'));
    const s1 = inv.hosts.get('s1')?.vars ?? {};
    // rack: a tie between the two files; zone: east's file wins over both inventory entries.
    assert.equal(s1['rack'], 'gv-west');
    assert.equal(s1['zone'], 'gv-east');
    assert.deepEqual(inv.warnings.map(formatProblem), [
      `${t.path('group_vars/west.yaml')}:1:7 rack: group "west" overrides rack from group "east" for host "s1" ` +
        'only because it comes later in the inventory (both are at the same depth)',
    ]);
  } finally {
    t.remove();
  }
});
