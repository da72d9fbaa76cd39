/**
 * Several inventories merged (`-i base.yaml -i prod.yaml`): later ones add hosts and groups and
 * replace vars, as Ansible's later inventory sources do; the first names the inventory (what
 * drover keeps beside an inventory is beside it); every problem names its own file.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { Command } from 'commander';
import { loadCheckedInventory } from '../../src/app/load-checked-inventory.js';
import type { Output } from '../../src/app/output.js';
import { Session } from '../../src/app/session.js';
import { withCommon } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { inventoryPath, inventoryPaths, sessionOptions, type CommonOptions } from '../../src/cli/options.js';
import { ExitCode, UsageError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { Hosts } from '../cli/argv/harness.js';
import { lines, rejection, tempTree } from './helpers.js';

const t = tempTree({
  'base/base.yaml': lines(
    'all:',
    '  vars: { consul_datacenter: dc1, level: base, ssh_key: keys/base }',
    '  children:',
    '    servers:',
    '      vars: { role: server }',
    '      hosts:',
    '        s1: { address: 10.0.0.1 }',
    '        s2: { address: 10.0.0.2 }',
    '        s3: { address: 10.0.0.3 }',
  ),
  'base/group_vars/servers.yaml': 'gv: base\nonly_base: 1\n',
  'prod/prod.yaml': lines(
    'all:',
    '  vars: { level: prod }',
    '  children:',
    '    servers:',
    '      vars: { role: voter }',
    '      hosts:',
    '        s2: { address: 10.0.1.2, ssh_key: keys/s2 }',
    '    clients:',
    '      hosts:',
    '        c1: { address: 10.0.2.1 }',
  ),
  'prod/group_vars/servers.yaml': 'gv: prod\n',
  'prod/canary.yaml': lines('all:', '  children:', '    canary:', '      hosts:', '        c1:'),
});
after(t.remove);
const base = t.path('base/base.yaml');
const prod = t.path('prod/prod.yaml');

test('a later inventory adds hosts and groups and replaces vars; the first names the inventory', async () => {
  const inv = await loadInventory([base, prod]);
  assert.equal(inv.file, base);
  assert.deepEqual([...inv.hosts.keys()], ['s1', 's2', 's3', 'c1']);
  assert.deepEqual([...inv.groups.keys()], ['all', 'ungrouped', 'servers', 'clients']);
  const s2 = inv.hosts.get('s2');
  assert.equal(s2?.address, '10.0.1.2');
  assert.deepEqual(
    ['level', 'role', 'consul_datacenter', 'gv', 'only_base'].map((k) => s2?.vars[k]),
    ['prod', 'voter', 'dc1', 'prod', 1],
  );
  // Each file's relative paths are relative to its own folder.
  assert.equal(inv.hosts.get('s1')?.vars['ssh_key'], t.path('base/keys/base'));
  assert.equal(s2?.vars['ssh_key'], t.path('prod/keys/s2'));
  assert.deepEqual(inv.locateVar?.('s2', 'address'), {
    file: prod,
    line: 7,
    column: 24,
    path: 'all.children.servers.hosts.s2.address',
  });
  assert.equal(inv.locateVar?.('s1', 'address')?.file, base);
  // In the other order, base's values win instead.
  const reversed = await loadInventory([prod, base]);
  assert.equal(reversed.file, prod);
  assert.deepEqual(
    ['level', 'gv', 'address'].map((k) => reversed.hosts.get('s2')?.vars[k]),
    ['base', 'base', '10.0.0.2'],
  );
});

test('two inventories in one folder share its group_vars/, read once', async () => {
  const inv = await loadInventory([prod, t.path('prod/canary.yaml')]);
  assert.deepEqual(inv.groups.get('canary')?.hosts, ['c1']);
  assert.equal(inv.hosts.get('s2')?.vars['gv'], 'prod');
  assert.deepEqual(inv.warnings, []);
});

test('within one file a var written twice must still agree; across files the later wins', async () => {
  const d = tempTree({
    'a.yaml': lines(
      'all:',
      '  children:',
      '    servers:',
      '      hosts: { s1: { address: 10.0.0.1, port: 1 } }',
      '    canary:',
      '      hosts: { s1: { port: 2 } }',
    ),
    'b.yaml': lines('all:', '  hosts:', '    s1: { port: 3 }'),
  });
  try {
    assert.deepEqual(await rejection(loadInventory([d.path('a.yaml'), d.path('b.yaml')])), [
      `${d.path('a.yaml')}:6:28 all.children.canary.hosts.s1.port: host "s1" already has a different port at ` +
        "line 4:47; a host's vars must agree",
    ]);
  } finally {
    d.remove();
  }
});

test('problems of several files are all reported, each naming its file, in -i order', async () => {
  const d = tempTree({
    'a.yaml': lines('all:', '  hosts:', '    s1: { address: 10.0.0.1, bad-var: 1 }'),
    'b.yaml': lines(
      'all:',
      '  hosts:',
      '    s2: { address: 10.0.0.1 }',
      '    s3: { "x y": 1, address: 10.0.0.3 }',
    ),
  });
  try {
    assert.deepEqual(await rejection(loadInventory([d.path('b.yaml'), d.path('a.yaml')])), [
      `${d.path('b.yaml')}:4:18 all.hosts.s3.x y: "x y" is not a valid variable name (letters, digits and "_", not starting with a digit)`,
      `${d.path('a.yaml')}:3:20 all.hosts.s1.address: address 10.0.0.1 is also the address of host "s2"`,
      `${d.path('a.yaml')}:3:39 all.hosts.s1.bad-var: "bad-var" is not a valid variable name (letters, digits and "_", not starting with a digit)`,
    ]);
    assert.deepEqual(
      await rejection(loadInventory([d.path('nope1.yaml'), d.path('a.yaml'), d.path('nope2.yaml')])),
      [`${d.path('nope1.yaml')}: file not found`, `${d.path('nope2.yaml')}: file not found`],
    );
  } finally {
    d.remove();
  }
});

test('loadCheckedInventory runs the Consul checks on the merged inventory', async () => {
  const warnings: string[] = [];
  const inv = await loadCheckedInventory([base, prod], { consul: true, warn: (l) => warnings.push(l) });
  assert.deepEqual(inv.groups.get('clients')?.hosts, ['c1']);
  assert.deepEqual(warnings, []);
  // c1 comes from the second file only: the limit is checked against the merged inventory.
  await loadCheckedInventory([base, prod], { consul: true, limit: 'c1', warn: () => undefined });
  await assert.rejects(
    loadCheckedInventory(base, { consul: true, limit: 'c1', warn: () => undefined }),
    /host pattern "c1" matches no host or group/,
  );
});

const sink = new Writable({ write: (_c, _e, done) => done() });
const silent: Output = {
  progress: sink,
  progressIsTty: false,
  ci: true,
  result: sink,
  warn: () => undefined,
};

test('a session loads its inventory file with the ones merged over it', async () => {
  const inv = await Session.with(
    { inventoryFile: base, moreInventoryFiles: [prod], output: silent, command: 'drover test' },
    (s) => s.load({ consul: false }),
  );
  assert.equal(inv.file, base);
  assert.equal(inv.hosts.get('c1')?.address, '10.0.2.1');
});

const io = (env: Record<string, string> = {}): CliIo => ({
  stdout: sink,
  stderr: sink,
  env,
  stdinIsTty: false,
  signal: new AbortController().signal,
});

test('-i repeats: the first is the inventory file, the rest are merged over it; one-inventory commands refuse several', () => {
  let seen: CommonOptions | undefined;
  const cmd = withCommon(new Command('verify').exitOverride()).action((o: CommonOptions) => {
    seen = o;
  });
  cmd.parse(['-i', 'a.yaml', '-i', 'b.yaml', '--inventory', 'c.yaml'], { from: 'user' });
  const o = seen ?? assert.fail('no options');
  assert.deepEqual(inventoryPaths(o, io()), ['a.yaml', 'b.yaml', 'c.yaml']);
  const session = sessionOptions(o, io(), ['node', 'drover']);
  assert.equal(session.inventoryFile, 'a.yaml');
  assert.deepEqual(session.moreInventoryFiles, ['b.yaml', 'c.yaml']);
  assert.throws(
    () => inventoryPath(o, io()),
    (err: unknown) =>
      err instanceof UsageError &&
      /reads one inventory; give -i once \(a.yaml, b.yaml, c.yaml were given\)/.test(err.message),
  );
  // One -i, or none and DROVER_INVENTORY, as before.
  assert.equal(inventoryPath({ inventory: 'x.yaml' }, io()), 'x.yaml');
  assert.deepEqual(inventoryPaths({}, io({ DROVER_INVENTORY: 'env.yaml' })), ['env.yaml']);
  assert.deepEqual(sessionOptions({}, io({ DROVER_INVENTORY: 'env.yaml' }), []).moreInventoryFiles, []);
});

test('the CLI: a bad second inventory is exit 3 naming it, before any host; a --limit sees the merged hosts', async () => {
  const d = tempTree({ 'bad.yaml': lines('all:', '  hosts:', '    s9: { address: 7 }') });
  try {
    const hosts = new Hosts();
    const r = await hosts.drover(['deploy', '-i', base, '-i', d.path('bad.yaml')]);
    assert.equal(r.code, ExitCode.badInput);
    assert.match(r.stderr, new RegExp(`${d.path('bad.yaml')}:3:20 all.hosts.s9.address: must be a string`));
    assert.equal(hosts.transports.size, 0);
    // c1 is in the second file: only the unknown term is reported.
    const p = await new Hosts().drover(['plan', '-i', base, '-i', prod, '--limit', 'c1:nowhere']);
    assert.equal(p.code, ExitCode.usage);
    assert.match(p.stderr, /host pattern "nowhere" matches no host or group/);
  } finally {
    d.remove();
  }
});
