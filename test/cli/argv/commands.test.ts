/**
 * Every subcommand of `drover --help`, called in-process with argv (test/cli/argv/harness.ts):
 * the output and the exit code, against recorded hosts. A success path where one needs no
 * cluster, and the usage or failure path of each.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { isValidGossipKey } from '../../../src/consul/agent/gossip-key.js';
import { ExitCode } from '../../../src/errors.js';
import { CLUSTER, Hosts, scratch } from './harness.js';
import { APPEND_AUDIT, auditLines, freeLock, RELEASE, STATUS, TAKE } from './lock-host.js';

const files = scratch({
  'cluster.yaml': CLUSTER,
  'bad.yaml': 'all:\n  hosts:\n    s1: { address: 5 }\n',
  'bad-config.yaml': CLUSTER.replace(
    'consul_tls_enable: false',
    'consul_tls_enable: false, consul_log_level: LOUD',
  ),
  'not-a-snapshot.snap': '<html>502 Bad Gateway</html>\n',
  'site.yaml': [
    '- name: touch',
    '  hosts: servers',
    '  tasks:',
    '    - name: say hello',
    '      command: { cmd: "echo hello" }',
    '',
  ].join('\n'),
});
after(files.remove);
const inv = files.path('cluster.yaml');
const bad = files.path('bad.yaml');

describe('drover --help and usage', () => {
  it('lists every command and exits 0', async () => {
    const r = await new Hosts().drover(['--help']);
    assert.equal(r.code, ExitCode.ok);
    for (const c of [
      'deploy',
      'plan',
      'run',
      'restart',
      'upgrade',
      'keygen',
      'rotate-gossip-key',
      'rotate-tls',
      'members',
      'reset-node',
      'preflight',
      'verify',
      'inventory',
      'lock',
      'audit',
      'validate',
      'snapshot',
      'rollback',
    ])
      assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'), c);
  });

  it('an unknown command or option is a usage error (64), with the help after it', async () => {
    const r = await new Hosts().drover(['deploi']);
    assert.equal(r.code, ExitCode.usage);
    assert.match(r.stderr, /unknown command 'deploi'/);
    assert.equal((await new Hosts().drover(['deploy', '--nope'])).code, ExitCode.usage);
  });

  it('no inventory: 64 and how to give one', async () => {
    const r = await new Hosts().drover(['verify']);
    assert.equal(r.code, ExitCode.usage);
    assert.equal(r.stderr, 'error: no inventory: give -i FILE (or set DROVER_INVENTORY)\n');
  });
});

describe('drover inventory', () => {
  it('--list: hosts, groups and vars as JSON; DROVER_INVENTORY names the file', async () => {
    const r = await new Hosts().drover(['inventory', '--list'], { DROVER_INVENTORY: inv });
    assert.equal(r.code, ExitCode.ok, r.stderr);
    assert.ok(
      Object.keys((JSON.parse(r.stdout) as { _meta: { hostvars: object } })._meta.hostvars).includes('c1'),
    );
  });

  it('--graph: the group tree; a bad inventory is exit 3 with file:line', async () => {
    const r = await new Hosts().drover(['inventory', '--graph', '-i', inv]);
    assert.equal(r.code, ExitCode.ok);
    assert.match(r.stdout, /servers/);
    const b = await new Hosts().drover(['inventory', '-i', bad]);
    assert.equal(b.code, ExitCode.badInput);
    assert.match(b.stderr, /bad\.yaml:3:\d+ all\.hosts\.s1\.address: must be a string/);
  });
});

describe('drover keygen', () => {
  it('prints a gossip key; with -i writes it beside the inventory, 0600, and never replaces it', async () => {
    const r = await new Hosts().drover(['keygen']);
    assert.equal(r.code, ExitCode.ok);
    assert.ok(isValidGossipKey(r.stdout.trim()));
    const k = scratch({ 'k.yaml': CLUSTER });
    try {
      const w = await new Hosts().drover(['keygen', '-i', k.path('k.yaml')]);
      assert.equal(w.code, ExitCode.ok, w.stderr);
      assert.equal(statSync(k.path('k.gossip.key')).mode & 0o777, 0o600);
      const again = await new Hosts().drover(['keygen', '-i', k.path('k.yaml')]);
      assert.equal(again.code, ExitCode.usage);
      assert.match(again.stderr, /already exists; drover never replaces a gossip key/);
    } finally {
      k.remove();
    }
  });
});

describe('drover lock', () => {
  it('status: free, on the first server', async () => {
    const hosts = new Hosts(freeLock);
    const r = await hosts.drover(['lock', 'status', '-i', inv]);
    assert.equal(r.code, ExitCode.ok, r.stderr);
    assert.equal(r.stdout, 'deploy lock on s1: free\n');
    assert.deepEqual(hosts.transport('s1').commands, [STATUS]);
  });

  it('release: already free; a lock host that cannot be reached is exit 4', async () => {
    const r = await new Hosts(freeLock).drover(['lock', 'release', '-i', inv, '--yes']);
    assert.equal(r.code, ExitCode.ok);
    assert.equal(r.stdout, 'deploy lock on s1: already free\n');
    const down = await new Hosts(freeLock, ['s1']).drover(['lock', 'status', '-i', inv]);
    assert.equal(down.code, ExitCode.unreachable);
    assert.match(down.stderr, /s1: unreachable: connection refused/);
  });
});

describe('drover audit', () => {
  it('the latest lines per host; a host not read makes it exit 4', async () => {
    const line = JSON.stringify({
      time: '2025-05-01T12:00:00Z',
      user: 'alice@ci',
      command: 'drover deploy',
      changed: ['x'],
      result: 'ok',
    });
    const hosts = new Hosts(
      (t) => t.onExec(/tail -n/, { stdout: t.host === 's1' ? `${line}\n` : '' }),
      ['c1'],
    );
    const r = await hosts.drover(['audit', '-i', inv, '-n', '5']);
    assert.equal(r.code, ExitCode.unreachable);
    assert.match(r.stdout, /^s1  2025-05-01T12:00:00Z alice@ci ok: drover deploy; changed: x$/m);
    assert.match(r.stdout, /^s2  \(no audit entries\)$/m);
    assert.match(r.stdout, /^c1  \(not read: c1: unreachable: connection refused\)$/m);
  });

  it('--lines out of range is a usage error', async () => {
    const r = await new Hosts().drover(['audit', '-i', inv, '-n', '0']);
    assert.equal(r.code, ExitCode.usage);
    assert.equal(r.stderr, 'error: --lines must be a whole number from 1 to 10000\n');
  });
});

describe('drover run', () => {
  it('runs any playbook under the lock and writes an audit line on every host it changed', async () => {
    const hosts = new Hosts((t) => {
      freeLock(t);
      t.onExec(APPEND_AUDIT, { code: 0 });
      t.onExec(/echo hello/, { stdout: 'hello\n' });
    });
    const r = await hosts.drover(['run', files.path('site.yaml'), '-i', inv]);
    assert.equal(r.code, ExitCode.ok, r.stderr);
    assert.match(r.stdout, /^changed: s1, s2, s3$/m);
    const s1 = hosts.transport('s1');
    assert.equal(s1.commands[0], TAKE);
    assert.match(s1.commands.at(-1) ?? '', RELEASE);
    for (const h of ['s1', 's2', 's3']) {
      const [entry] = auditLines(hosts.transports.get(h));
      assert.deepEqual(entry?.['changed'], ['say hello'], h);
      assert.equal(entry?.['command'], `drover run ${files.path('site.yaml')} -i ${inv}`);
    }
    assert.equal(hosts.transports.get('c1'), undefined, 'c1 is in no play');
  });

  it('--check: no lock, no audit; -o json puts the recap alone on stdout', async () => {
    const hosts = new Hosts((t) => t.onExec(/echo hello/, { stdout: 'hello\n' }));
    const r = await hosts.drover(['run', files.path('site.yaml'), '-i', inv, '--check', '-o', 'json']);
    assert.equal(r.code, ExitCode.ok, r.stderr);
    const recap = JSON.parse(r.stdout) as { status: string; exit_code: number };
    assert.equal(recap.status, 'ok');
    assert.equal(recap.exit_code, 0);
    for (const t of hosts.transports.values()) {
      assert.ok(!t.commands.includes(TAKE));
      assert.ok(!t.commands.some((c) => APPEND_AUDIT.test(c)));
    }
  });

  it('a missing playbook is bad input (3), and the JSON recap says so', async () => {
    const r = await new Hosts().drover(['run', files.path('none.yaml'), '-i', inv, '-o', 'json']);
    assert.equal(r.code, ExitCode.badInput);
    assert.equal((JSON.parse(r.stdout) as { exit_code: number }).exit_code, 3);
  });

  it('a held lock is exit 6, and nothing ran', async () => {
    const holder = { token: 'a'.repeat(32), user: 'alice', host: 'ci-7', command: 'drover deploy', pid: 1 };
    const hosts = new Hosts((t) => {
      t.onExec(TAKE, { code: 1, stdout: `held\n1700000192\n1700000000\n${JSON.stringify(holder)}\n` });
      t.onExec(/echo hello/, { stdout: 'hello\n' });
    });
    const r = await hosts.drover(['run', files.path('site.yaml'), '-i', inv]);
    assert.equal(r.code, ExitCode.lockHeld);
    assert.match(r.stderr, /deploy lock on s1 .* is held by alice@ci-7/);
    for (const t of hosts.transports.values()) assert.ok(!t.commands.some((c) => c.includes('echo hello')));
  });
});

describe('the Consul playbook commands: their usage and bad-input paths', () => {
  it('deploy: a bad inventory is exit 3 before any host; --force needs a confirmation', async () => {
    const hosts = new Hosts();
    const r = await hosts.drover(['deploy', '-i', bad]);
    assert.equal(r.code, ExitCode.badInput);
    assert.equal(hosts.transports.size, 0);
    const force = await hosts.drover(['deploy', '-i', inv, '--force']);
    assert.equal(force.code, ExitCode.usage);
    assert.match(force.stderr, /needs confirmation: no terminal to ask on, so run it again with --yes/);
  });

  it('plan: an unknown --limit is a usage error', async () => {
    const r = await new Hosts().drover(['plan', '-i', inv, '--limit', 'nowhere']);
    assert.equal(r.code, ExitCode.usage);
    assert.match(r.stderr, /nowhere/);
  });

  it('restart: a bad --serial is 64; upgrade: --image is required', async () => {
    const r = await new Hosts().drover(['restart', '-i', inv, '--serial', 'many']);
    assert.equal(r.code, ExitCode.usage);
    assert.match(r.stderr, /^error: --serial /);
    const u = await new Hosts().drover(['upgrade', '-i', inv]);
    assert.equal(u.code, ExitCode.usage);
    assert.match(u.stderr, /required option '--image <ref>' not specified/);
  });

  it('preflight: a bad inventory is exit 3; --forks out of range is 64', async () => {
    assert.equal((await new Hosts().drover(['preflight', '-i', bad])).code, ExitCode.badInput);
    const f = await new Hosts().drover(['preflight', '-i', inv, '--forks', '0']);
    assert.equal(f.code, ExitCode.usage);
    assert.equal(f.stderr, 'error: --forks must be a whole number from 1 to 1000, not "0"\n');
  });

  it('rotate-gossip-key: no current key is bad input', async () => {
    const k = scratch({
      'enc.yaml': CLUSTER.replace('consul_gossip_encryption: false', 'consul_log_level: info'),
    });
    try {
      const r = await new Hosts().drover(['rotate-gossip-key', '-i', k.path('enc.yaml'), '--yes']);
      assert.equal(r.code, ExitCode.badInput, r.stderr);
      assert.match(r.stderr, /no current gossip key/);
      assert.ok(!existsSync(k.path('enc.gossip.key.rotating')));
    } finally {
      k.remove();
    }
  });

  it('rotate-tls: an inventory without TLS is a usage error, before any connection', async () => {
    const r = await new Hosts().drover(['rotate-tls', '-i', inv, '--yes']);
    assert.equal(r.code, ExitCode.usage, r.stderr);
    assert.match(
      r.stderr,
      /rotate-tls: TLS is off in this inventory \(consul_tls_enable: true turns it on\)/,
    );
  });

  it('rotate-tls --ca: --limit is a usage error (a new CA must reach every agent)', async () => {
    const r = await new Hosts().drover(['rotate-tls', '--ca', '-i', inv, '--limit', 's1', '--yes']);
    assert.equal(r.code, ExitCode.usage, r.stderr);
    assert.match(r.stderr, /rotate-tls --ca: a new CA must reach every agent; --limit is refused/);
  });

  it('reset-node: a host that is not a Consul node, or --limit, is a usage error', async () => {
    const r = await new Hosts().drover(['reset-node', 'nobody', '-i', inv]);
    assert.equal(r.code, ExitCode.usage);
    assert.match(r.stderr, /reset-node: "nobody" is not a Consul server or client in /);
    const l = await new Hosts().drover(['reset-node', 's2', '-i', inv, '--limit', 's2']);
    assert.equal(l.code, ExitCode.usage);
    assert.equal(l.stderr, 'error: reset-node takes one HOST, not --limit\n');
  });
});

describe('drover validate', () => {
  it('checks inventory, playbook and every rendered config without connecting; exit 0, or 3 located', async () => {
    const hosts = new Hosts();
    const ok = await hosts.drover(['validate', '-i', inv]);
    assert.equal(ok.code, ExitCode.ok, ok.stderr);
    assert.match(ok.stdout, /^valid: .*cluster\.yaml \(4 hosts\) with .*consul-deploy\.yaml \(\d+ plays\)/m);
    const json = await hosts.drover(['validate', '-i', inv, '-p', files.path('site.yaml'), '-o', 'json']);
    assert.equal(json.code, ExitCode.ok, json.stderr);
    assert.deepEqual(
      (JSON.parse(json.stdout) as { playbooks: { playbook: string }[] }).playbooks.map((p) => p.playbook),
      [files.path('site.yaml')],
    );
    const badConfig = await hosts.drover(['validate', '-i', files.path('bad-config.yaml')]);
    assert.equal(badConfig.code, ExitCode.badInput, badConfig.stdout);
    assert.match(badConfig.stderr, /bad-config\.yaml:\d+.*log_level/);
    assert.equal((await hosts.drover(['validate', '-i', bad])).code, ExitCode.badInput);
    assert.equal(hosts.transports.size, 0, 'validate connects to nothing');
  });
});

describe('drover snapshot and rollback: their usage and bad-input paths', () => {
  it('inspect and restore refuse a file that is not a snapshot (3), before any host', async () => {
    const hosts = new Hosts();
    const inspect = await hosts.drover(['snapshot', 'inspect', files.path('not-a-snapshot.snap')]);
    assert.equal(inspect.code, ExitCode.badInput);
    assert.match(inspect.stderr, /not-a-snapshot\.snap: failed to decompress snapshot: gzip: invalid header/);
    const restore = await hosts.drover([
      'snapshot',
      'restore',
      '-i',
      inv,
      files.path('not-a-snapshot.snap'),
      '--yes',
    ]);
    assert.equal(restore.code, ExitCode.badInput);
    const missing = await hosts.drover(['snapshot', 'inspect', files.path('gone.snap')]);
    assert.equal(missing.code, ExitCode.badInput);
    assert.match(missing.stderr, /gone\.snap: no such snapshot file/);
    assert.equal(hosts.transports.size, 0);
  });

  it('save: --keep must be a count', async () => {
    const r = await new Hosts().drover(['snapshot', 'save', '-i', inv, '--keep', '0']);
    assert.equal(r.code, ExitCode.usage);
    assert.match(r.stderr, /--keep needs a count of 1 or more/);
  });
});

describe('drover verify', () => {
  it('no server answers: the report says so and the exit code is 2', async () => {
    const r = await new Hosts(() => undefined, ['s1', 's2', 's3', 'c1']).drover(['verify', '-i', inv]);
    assert.equal(r.code, ExitCode.taskFailed, r.stderr);
    assert.match(r.stderr, /^error: cluster verification failed: \d+ problem\(s\)$/m);
  });
});
