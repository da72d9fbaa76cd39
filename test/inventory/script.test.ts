/**
 * Inventory scripts (Ansible's `--list` JSON): run with no shell, stdin closed and a bounded
 * time, turned into the Inventory the same YAML would give, and every failure a located error.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { ExitCode, InterruptedError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { inventoryGraph, inventoryList } from '../../src/inventory/show.js';
import { isSecret, type Secret } from '../../src/shell/secret.js';
import { Hosts } from '../cli/argv/harness.js';
import { lines, rejection, tempTree } from './helpers.js';

/** A /bin/sh script that prints `json` for --list (and fails on anything else). */
const script = (json: unknown, before = ''): { text: string; mode: number } => ({
  text: [
    '#!/bin/sh',
    before,
    '[ "$1" = "--list" ] || { echo "usage: $0 --list" >&2; exit 2; }',
    "cat <<'JSON'",
    typeof json === 'string' ? json : JSON.stringify(json),
    'JSON',
    '',
  ].join('\n'),
  mode: 0o755,
});
const sh = (body: string): { text: string; mode: number } => ({ text: `#!/bin/sh\n${body}\n`, mode: 0o755 });

const YAML = lines(
  'all:',
  '  vars: { consul_datacenter: dc1, consul_encrypt: { env: GOSSIP } }',
  '  hosts:',
  '    bastion: { address: 10.0.0.9 }',
  '  children:',
  '    consul:',
  '      vars: { level: consul }',
  '      children:',
  '        servers:',
  '          vars: { level: servers }',
  '          hosts:',
  '            s1: { address: 10.0.1.1, api_token: tok-1234 }',
  '            s2: { address: 10.0.1.2 }',
  '        clients:',
  '          hosts:',
  '            c1: { address: 10.0.2.1 }',
  '    canary:',
  '      hosts: { s2: , c1: }',
  '      children: { servers: }',
);

// The same inventory as a script prints it: flat groups, a group as a bare list, vars in _meta.
const JSON_INVENTORY = {
  all: {
    vars: { consul_datacenter: 'dc1', consul_encrypt: { env: 'GOSSIP' } },
    children: ['ungrouped', 'consul'],
  },
  ungrouped: { hosts: ['bastion'] },
  consul: { vars: { level: 'consul' }, children: ['servers', 'clients'] },
  servers: { vars: { level: 'servers' }, hosts: ['s1', 's2'] },
  clients: ['c1'],
  canary: { hosts: ['s2', 'c1'], children: ['servers'] },
  _meta: {
    hostvars: {
      bastion: { address: '10.0.0.9' },
      s1: { address: '10.0.1.1', api_token: 'tok-1234' },
      s2: { address: '10.0.1.2' },
      c1: { address: '10.0.2.1' },
    },
  },
};

const t = tempTree({
  'prod.yaml': YAML,
  'inv.sh': script(JSON_INVENTORY),
  'withvars/inv.sh': script({ servers: ['s1'], _meta: { hostvars: { s1: { address: '10.0.0.1' } } } }),
  'withvars/group_vars/servers.yaml': 'level: from-group-vars\n',
});
after(t.remove);
const env = { GOSSIP: 'gossip-from-env' };

test('a script builds the Inventory the same YAML builds: groups, order, vars, secrets', async () => {
  const fromYaml = await loadInventory(t.path('prod.yaml'), { env });
  const fromScript = await loadInventory(t.path('inv.sh'), { env });
  assert.deepEqual(inventoryList(fromScript), inventoryList(fromYaml));
  assert.equal(inventoryGraph(fromScript), inventoryGraph(fromYaml));
  assert.equal(fromScript.file, t.path('inv.sh'));
  const s1 = fromScript.hosts.get('s1')?.vars ?? {};
  assert.ok(isSecret(s1['api_token']));
  assert.equal((s1['consul_encrypt'] as Secret).reveal(), 'gossip-from-env');
  assert.deepEqual(fromScript.hosts.get('s2')?.groups, fromYaml.hosts.get('s2')?.groups);
  // Located in the script's JSON, as far as it can be: the path, not a line of its output.
  assert.deepEqual(fromScript.locateVar?.('s1', 'address'), {
    file: t.path('inv.sh'),
    path: '_meta.hostvars.s1.address',
  });
  assert.deepEqual(fromScript.locateVar?.('s2', 'level'), {
    file: t.path('inv.sh'),
    path: 'servers.vars.level',
  });
  assert.deepEqual(fromScript.hosts.get('c1')?.origin, { file: t.path('inv.sh'), path: 'clients[0]' });
});

test('group_vars/ beside a script apply as beside a YAML inventory', async () => {
  const inv = await loadInventory(t.path('withvars/inv.sh'));
  assert.equal(inv.hosts.get('s1')?.vars['level'], 'from-group-vars');
});

test('drover inventory -i SCRIPT --list prints it, secrets redacted', async () => {
  // The CLI reads `{ env: NAME }` from the process's environment.
  process.env['GOSSIP'] = env.GOSSIP;
  try {
    const r = await new Hosts().drover(['inventory', '-i', t.path('inv.sh'), '--list']);
    assert.equal(r.code, ExitCode.ok, r.stderr);
    const listed = JSON.parse(r.stdout) as ReturnType<typeof inventoryList>;
    assert.deepEqual(listed, inventoryList(await loadInventory(t.path('prod.yaml'), { env })));
    assert.equal(listed._meta.hostvars['s1']?.['api_token'], '<redacted>');
    assert.ok(!r.stdout.includes('tok-1234') && !r.stdout.includes('gossip-from-env'));
  } finally {
    delete process.env['GOSSIP'];
  }
});

test('a script that fails, is killed, prints no JSON or cannot run is bad input naming it and why', async () => {
  const d = tempTree({
    'fail.sh': sh('echo "line one" >&2\necho "cloud API: 403 Forbidden" >&2\nexit 3'),
    'killed.sh': sh('kill -9 $$'),
    'notjson.sh': sh('echo "{not json"'),
    'noexec.sh': { text: '#!/bin/sh\necho {}\n', mode: 0o644 },
  });
  try {
    assert.deepEqual(await rejection(loadInventory(d.path('fail.sh'))), [
      `${d.path('fail.sh')}: inventory script: --list exited with status 3; its stderr ends: line one | cloud API: 403 Forbidden`,
    ]);
    const cli = await new Hosts().drover(['inventory', '-i', d.path('fail.sh'), '--list']);
    assert.equal(cli.code, ExitCode.badInput);
    assert.match(cli.stderr, /fail\.sh: inventory script: --list exited with status 3/);
    assert.deepEqual(await rejection(loadInventory(d.path('killed.sh'))), [
      `${d.path('killed.sh')}: inventory script: --list was killed by SIGKILL`,
    ]);
    const [notJson] = await rejection(loadInventory(d.path('notjson.sh')));
    assert.match(
      notJson ?? '',
      /notjson\.sh: inventory script: --list printed no valid JSON \(.*position 1.*\)$/,
    );
    assert.deepEqual(await rejection(loadInventory(d.path('noexec.sh'))), [
      `${d.path('noexec.sh')}: starts with "#!" as an inventory script does, but is not executable (chmod +x it to run it)`,
    ]);
  } finally {
    d.remove();
  }
});

test('a script that hangs is stopped, with what it started, after the time it is given', async () => {
  const d = tempTree({
    // A background child keeps the output open: only ending the whole process group ends the wait.
    'slow.sh': sh(`sleep 30 & echo $! > "$(dirname "$0")/child.pid"\necho "still asking" >&2\nsleep 30`),
  });
  try {
    const started = Date.now();
    assert.deepEqual(await rejection(loadInventory(d.path('slow.sh'), { scriptTimeoutMs: 700 })), [
      `${d.path('slow.sh')}: inventory script: --list did not finish within 0.7 s; its stderr ends: still asking`,
    ]);
    assert.ok(Date.now() - started < 5000, 'the timeout bounds the wait');
    await assertGone(Number(readFileSync(d.path('child.pid'), 'utf8')));
  } finally {
    d.remove();
  }
});

test('Ctrl-C while a script runs ends it at once, as interrupted', async () => {
  const d = tempTree({ 'slow.sh': sh('echo $$ > "$(dirname "$0")/pid"\nsleep 30') });
  try {
    const ctl = new AbortController();
    const loading = loadInventory(d.path('slow.sh'), { signal: ctl.signal });
    while (!existsSync(d.path('pid'))) await new Promise((r) => setTimeout(r, 20));
    ctl.abort();
    await assert.rejects(loading, InterruptedError);
    await assertGone(Number(readFileSync(d.path('pid'), 'utf8')));
  } finally {
    d.remove();
  }
});

test('no shell reads the command line, and stdin is closed', async () => {
  const json = { all: { hosts: ['h1'] }, _meta: { hostvars: { h1: { address: '10.0.0.1' } } } };
  const d = tempTree({
    // A name a shell would run a command from; and a script that reads stdin before answering.
    'inv $(touch pwned) ;x.sh': script(json, 'cat > /dev/null'),
  });
  try {
    const inv = await loadInventory(d.path('inv $(touch pwned) ;x.sh'), { scriptTimeoutMs: 5000 });
    assert.deepEqual([...inv.hosts.keys()], ['h1']);
    assert.ok(!existsSync(d.path('pwned')));
  } finally {
    d.remove();
  }
});

test('an executable file with no #! is still read as YAML (mounts that set x on every file)', async () => {
  const d = tempTree({
    hosts: { text: lines('all:', '  hosts:', '    h1: { address: 10.0.0.1 }'), mode: 0o755 },
  });
  try {
    assert.deepEqual([...(await loadInventory(d.path('hosts'))).hosts.keys()], ['h1']);
  } finally {
    d.remove();
  }
});

test("the script's JSON, wrong in shape or in content, is reported at its JSON paths, all at once", async () => {
  const d = tempTree({
    'list.sh': script([1, 2]),
    'shape.sh': script({
      servers: { hosts: 's1', tags: [] },
      clients: { children: [3] },
      other: 'h1',
    }),
    'unlisted.sh': script({ servers: ['s1'], _meta: { hostvars: { s1: {}, s3: { address: '10.0.0.3' } } } }),
    'schema.sh': script({
      servers: { hosts: ['s1', 's2'], vars: { ssh_port: 'x' } },
      _meta: { hostvars: { s1: { address: 5 }, s2: { address: '10.0.0.2' } } },
    }),
  });
  try {
    assert.deepEqual(await rejection(loadInventory(d.path('list.sh'))), [
      `${d.path('list.sh')}: inventory script: --list must print a JSON object of groups (and _meta)`,
    ]);
    assert.deepEqual(await rejection(loadInventory(d.path('shape.sh'))), [
      `${d.path('shape.sh')} servers.tags: unknown key`,
      `${d.path('shape.sh')} servers.hosts: must be a list of names`,
      `${d.path('shape.sh')} clients.children[0]: must be a name (a string)`,
      `${d.path('shape.sh')} other: must be a group (an object with hosts, vars and children) or a list of hosts`,
      `${d.path('shape.sh')}: inventory script: --list printed no _meta.hostvars; drover reads every host's vars ` +
        'from it and does not run the script again with --host for each host (print "_meta": {"hostvars": {}} if there are none)',
    ]);
    assert.deepEqual(await rejection(loadInventory(d.path('unlisted.sh'))), [
      `${d.path('unlisted.sh')} _meta.hostvars.s3: host "s3" has vars here but no group lists it`,
    ]);
    // The YAML inventory's schema, its problems named at the JSON's paths.
    assert.deepEqual(await rejection(loadInventory(d.path('schema.sh'))), [
      `${d.path('schema.sh')} servers.vars.ssh_port: must be an integer`,
      `${d.path('schema.sh')} _meta.hostvars.s1.address: must be a string`,
    ]);
  } finally {
    d.remove();
  }
});

test('past the schema: unknown groups, cycles, bad names and missing addresses at their JSON paths', async () => {
  const d = tempTree({
    'inv.sh': script({
      all: { children: ['consul'] },
      consul: { children: ['servers', 'sever'] },
      servers: { hosts: ['s1', 's2', 'web[1:2]'] },
      loop_a: { children: ['loop_b'] },
      loop_b: { children: ['loop_a'] },
      _meta: { hostvars: { s1: { address: '10.0.0.1', 'bad-var': 1 } } },
    }),
  });
  try {
    // Without lines to sort by, in the order the stages find them: names as read, then the graph.
    assert.deepEqual(await rejection(loadInventory(d.path('inv.sh'))), [
      `${d.path('inv.sh')} _meta.hostvars.s1.bad-var: "bad-var" is not a valid variable name (letters, digits and "_", not starting with a digit)`,
      `${d.path('inv.sh')} servers.hosts[2]: "web[1:2]" is not a valid host name (letters, digits, "_", "." and "-")`,
      `${d.path('inv.sh')} consul.children[1]: unknown group "sever": it is listed as a child but never defined ` +
        '(give it hosts, vars or children somewhere; write "hosts: {}" for a group that is empty on purpose)',
      `${d.path('inv.sh')} loop_b.children[0]: group "loop_a" contains itself (loop_a > loop_b > loop_a)`,
    ]);
  } finally {
    d.remove();
  }
  const m = tempTree({ 'inv.sh': script({ servers: ['s1'], _meta: { hostvars: {} } }) });
  try {
    assert.deepEqual(await rejection(loadInventory(m.path('inv.sh'))), [
      `${m.path('inv.sh')} servers[0]: missing required key "address"`,
    ]);
  } finally {
    m.remove();
  }
});

/** The process is gone (not just dying): polled, as the kill is asynchronous. */
async function assertGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`process ${pid} is still running`);
}
