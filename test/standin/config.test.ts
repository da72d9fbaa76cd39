/**
 * The stand-in's config handling, local commands, image install and entrypoint: what a user
 * sees from `consul validate`, a bad config at agent start, `consul version`, and `docker run`.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, STANDIN_DIR, cleanup, runCli, tempDir, waitFor } from './harness.js';

function configDir(files: Record<string, unknown>): string {
  const dir = tempDir('standin-cfg-');
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

describe('consul validate', () => {
  after(cleanup);

  it('accepts a typical server config', async () => {
    const dir = configDir({
      'server.json': {
        datacenter: 'dc1',
        node_name: 'n1',
        data_dir: '/consul/data',
        server: true,
        bootstrap_expect: 3,
        ui_config: { enabled: true },
        bind_addr: '10.0.0.1',
        client_addr: '127.0.0.1 10.0.0.1',
        retry_join: ['10.0.0.2'],
        retry_interval: '5s',
        rejoin_after_leave: true,
        leave_on_terminate: false,
        skip_leave_on_interrupt: true,
        log_level: 'INFO',
        encrypt: 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=',
        ports: { http: 8500, dns: 8600, serf_lan: 8301, serf_wan: 8302, server: 8300 },
        autopilot: {
          cleanup_dead_servers: true,
          last_contact_threshold: '200ms',
          server_stabilization_time: '10s',
        },
        telemetry: { prometheus_retention_time: '1m' },
        services: [{ name: 'web', port: 80 }],
      },
    });
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Configuration is valid!\n');
  });

  it('rejects unknown keys, nested ones too, naming the file', async () => {
    const dir = configDir({ 'a.json': { server: true, foo: 1, ports: { htp: 1 } } });
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, 1);
    // Consul finds a nested struct's unknown keys while decoding it, before those of the level
    // around it; its multierror text ends in a blank line, and the CLI adds a newline.
    assert.equal(
      r.stderr,
      `Config validation failed: failed to parse ${join(dir, 'a.json')}: 2 errors occurred:\n\t* invalid config key ports.htp\n\t* invalid config key foo\n\n\n`,
    );
  });

  it('rejects wrong types the way mapstructure reports them', async () => {
    const dir = configDir({ 'a.json': { server: 'yes', bootstrap_expect: '3', retry_join: '10.0.0.1' } });
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Config validation failed: failed to parse .*a\.json: 3 error\(s\) decoding:\n\n/,
    );
    assert.match(r.stderr, /\* 'server' expected type 'bool', got unconvertible type 'string', value: 'yes'/);
    assert.match(
      r.stderr,
      /\* 'bootstrap_expect' expected type 'int', got unconvertible type 'string', value: '3'/,
    );
    assert.match(r.stderr, /\* 'retry_join': source data must be an array or slice, got string/);
  });

  it('rejects invalid combinations and values', async () => {
    // Consul's validate() stops at the first failing check and prints it alone; the errors it
    // collects on the way (durations, ports) come as one multierror.
    const base = { data_dir: '/consul/data', bind_addr: '10.0.0.1' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ bootstrap_expect: 3 }, "'bootstrap_expect > 0' requires 'server = true'"],
      [
        { server: true, bootstrap_expect: 3, bootstrap: true },
        "'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive",
      ],
      [{ bootstrap_expect: 1 }, "'bootstrap = true' requires 'server = true'"],
      [{ encrypt: 'not-base64!' }, 'encrypt has invalid key: illegal base64 data at input byte 3'],
      [
        { encrypt: Buffer.alloc(20).toString('base64') },
        'encrypt has invalid key: key size must be 16, 24 or 32 bytes',
      ],
      [
        { retry_interval: '5 seconds' },
        '1 error occurred:\n\t* retry_interval: invalid duration: "5 seconds": time: unknown unit " seconds" in duration "5 seconds"\n\n',
      ],
      [
        { retry_interval: '5', ports: { http: 70000 } },
        '2 errors occurred:\n\t* ports.http: invalid port: 70000\n\t* retry_interval: invalid duration: "5": time: missing unit in duration "5"\n\n',
      ],
      [{ ports: { server: 0 } }, 'server-port must be greater than zero'],
      [
        { log_level: 'loud' },
        'Invalid log level: loud. Valid log levels are: [TRACE DEBUG INFO WARN ERR ERROR]',
      ],
      [{ data_dir: '' }, 'data_dir cannot be empty'],
      [{ bind_addr: 'not-an-ip' }, 'bind_addr cannot be empty'],
    ];
    for (const [cfg, message] of cases) {
      const r = await runCli(['validate', configDir({ 'x.json': { ...base, ...cfg } })]);
      assert.equal(r.code, 1, JSON.stringify(cfg));
      assert.equal(r.stderr, `Config validation failed: ${message}\n`, JSON.stringify(cfg));
    }
  });

  it('reports invalid JSON with the file name', async () => {
    const r = await runCli(['validate', configDir({ 'broken.json': '{"server": tru' })]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Config validation failed: failed to parse .*broken\.json: /);
  });
});

describe('consul agent config loading', () => {
  after(cleanup);

  it('exits 1 with the error on stderr when the config is bad', async () => {
    const root = tempDir('standin-badagent-');
    const a = new Agent({ ip: '127.0.0.31', name: 'bad', extra: { not_a_key: true } }, root).start();
    const { code } = await a.stopped(10000);
    assert.equal(code, 1);
    assert.match(
      a.out,
      /==> failed to parse .*agent\.json: 1 error occurred:\n\t\* invalid config key not_a_key/,
    );
  });

  it('merges *.json files in name order (later scalars win, lists append) and skips other files', async () => {
    const root = tempDir('standin-merge-');
    const a = new Agent(
      { ip: '127.0.0.32', name: 'merge', server: true, bootstrapExpect: 1, retryJoin: ['127.0.0.32'] },
      root,
    );
    writeFileSync(
      join(a.configDir, 'zz-override.json'),
      JSON.stringify({ datacenter: 'lab2', retry_join: ['127.0.0.99'] }),
    );
    writeFileSync(join(a.configDir, 'README.txt'), 'not config');
    a.start();
    const self = await waitFor(
      'agent up',
      async () =>
        JSON.parse((await a.http('/v1/agent/self')).body) as {
          Config: { Datacenter: string };
          DebugConfig: { RetryJoinLAN: string[] };
        },
    );
    assert.equal(self.Config.Datacenter, 'lab2');
    assert.deepEqual(self.DebugConfig.RetryJoinLAN, ['127.0.0.32', '127.0.0.99']);
    assert.match(a.out, /skipping file .*README\.txt, extension must be \.hcl or \.json/);
    // Node ID is persisted in the data dir, as Consul does.
    assert.match(readFileSync(join(a.dataDir, 'node-id'), 'utf8'), /^[0-9a-f-]{36}$/);
    // `consul reload` re-reads the files; a bad file is refused and the agent keeps running.
    writeFileSync(join(a.configDir, 'zz-override.json'), JSON.stringify({ bogus: 1 }));
    const bad = await a.cli('reload');
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^Error reloading: Unexpected response code: 500 \(Failed reloading config: failed to parse .*zz-override\.json: 1 error occurred:\n\t\* invalid config key bogus\n/,
    );
    writeFileSync(
      join(a.configDir, 'zz-override.json'),
      JSON.stringify({ services: [{ name: 'api', port: 9000 }] }),
    );
    const ok = await a.cli('reload');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'Configuration reload triggered\n');
    await waitFor(
      'service registered',
      async () =>
        'api' in (JSON.parse((await a.http('/v1/catalog/services')).body) as Record<string, unknown>),
      8000,
    );
  });
});

describe('consul version and CLI errors', () => {
  after(cleanup);

  it('prints Consul v1.20.1 and the revision lines', async () => {
    const r = await runCli(['version']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'Consul v1.20.1');
    assert.match(lines[1] ?? '', /^Revision [0-9a-f]{8}$/);
    assert.match(lines[2] ?? '', /^Build Date \d{4}-\d\d-\d\dT/);
    assert.match(lines[3] ?? '', /^Protocol 2 spoken by default, understands 2 to 3/);
  });

  it('reports another version when CONSUL_STANDIN_VERSION is set, in the CLI and in the agent', async () => {
    const r = await runCli(['version'], { CONSUL_STANDIN_VERSION: '1.21.0' });
    assert.equal(r.stdout.split('\n')[0], 'Consul v1.21.0');
    const a = new Agent(
      { ip: '127.0.0.33', name: 'newer', env: { CONSUL_STANDIN_VERSION: '1.21.0' } },
      tempDir('standin-ver-'),
    ).start();
    const members = await waitFor('members', async () => (await a.cli('members')).stdout);
    assert.match(members, /newer\s+127\.0\.0\.33:8301\s+alive\s+client\s+1\.21\.0\s+2\s+dc1/);
    const self = JSON.parse((await a.http('/v1/agent/self')).body) as { Config: { Version: string } };
    assert.equal(self.Config.Version, '1.21.0');
  });

  it('fails like Consul when no agent is listening', async () => {
    const r = await runCli(['info'], { CONSUL_HTTP_ADDR: '127.0.0.1:1' });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'Error querying agent: Get "http://127.0.0.1:1/v1/agent/self": dial tcp 127.0.0.1:1: connect: connection refused\n',
    );
    const m = await runCli(['members', '-http-addr=127.0.0.1:1']);
    assert.equal(m.code, 1);
    assert.match(
      m.stderr,
      /^Error retrieving members: Get "http:\/\/127\.0\.0\.1:1\/v1\/agent\/members\?segment=_all": dial tcp/,
    );
    const bad = await runCli(['members', '-bogus']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /flag provided but not defined: -bogus/);
  });
});

describe('image install and entrypoint', () => {
  it('install.sh lays out the agent, /bin/consul and the entrypoint in a rootfs', () => {
    const rootfs = tempDir('standin-rootfs-');
    const r = spawnSync('sh', [join(STANDIN_DIR, 'install.sh'), rootfs], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['bin/consul', 'usr/local/bin/docker-entrypoint.sh'])
      accessSync(join(rootfs, f), constants.X_OK);
    assert.ok(existsSync(join(rootfs, 'consul/data')) && existsSync(join(rootfs, 'consul/config')));
    assert.equal(
      readFileSync(join(rootfs, 'bin/consul'), 'utf8'),
      '#!/bin/sh\nexec /usr/bin/node /opt/consul-standin/consul.mjs "$@"\n',
    );
    // The copied tree is complete: it runs on its own.
    const v = spawnSync(process.execPath, [join(rootfs, 'opt/consul-standin/consul.mjs'), 'version'], {
      encoding: 'utf8',
    });
    assert.equal(v.stdout.split('\n')[0], 'Consul v1.20.1');
    const usage = spawnSync('sh', [join(STANDIN_DIR, 'install.sh')], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
  });

  it('docker-entrypoint.sh turns `agent` into a full consul agent command and passes other commands through', () => {
    const bin = tempDir('standin-fakebin-');
    // A recording `consul` first in PATH shows exactly what the entrypoint would exec. It answers
    // `--help CMD` as Consul's CLI does (that subcommand's usage, or the general one), which is how
    // the entrypoint tells a consul subcommand from a program.
    writeFileSync(
      join(bin, 'consul'),
      [
        '#!/bin/sh',
        'if [ "$1" = --help ]; then',
        '  case "$2" in agent|members|validate) echo "Usage: consul $2 [options]";;',
        '  *) echo "Usage: consul [--version] [--help] <command> [<args>]";; esac; exit 0',
        'fi',
        'echo "consul $*"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const entry = join(STANDIN_DIR, 'docker-entrypoint.sh');
    // Outside a container there is no consul user to drop to: permission management off (an
    // empty value counts, as in the official image); the lab's image test covers it for real.
    const run = (...args: string[]) =>
      spawnSync('sh', [entry, ...args], {
        encoding: 'utf8',
        env: { PATH: `${bin}:/usr/bin:/bin`, CONSUL_DISABLE_PERM_MGMT: '' },
      });
    assert.equal(run('agent').stdout, 'consul agent -data-dir=/consul/data -config-dir=/consul/config\n');
    assert.equal(
      run('agent', '-server', '-bootstrap-expect=3').stdout,
      'consul agent -data-dir=/consul/data -config-dir=/consul/config -server -bootstrap-expect=3\n',
    );
    assert.equal(run('members', '-status=alive').stdout, 'consul members -status=alive\n');
    assert.equal(run('version').stdout, 'consul version\n');
    assert.equal(run('-version').stdout, 'consul -version\n');
    assert.equal(run('echo', 'plain', 'command').stdout, 'plain command\n');
  });

  it('a server exits on SIGINT without leaving and keeps its raft state across restarts', async () => {
    const root = tempDir('standin-sigint-');
    const a = new Agent({ ip: '127.0.0.34', name: 'sig', server: true, bootstrapExpect: 1 }, root).start();
    await waitFor('leader', async () => (await a.leader()) === '127.0.0.34:8300', 10000);
    a.kill('SIGINT');
    const { code } = await a.stopped(10000);
    assert.equal(code, 1);
    assert.match(a.out, /Caught signal: interrupt/);
    assert.match(a.out, /Graceful shutdown disabled\. Exiting/);
    // Raft state survives in the data dir; a restart leads again without re-bootstrapping.
    a.start();
    await waitFor('leader after restart', async () => (await a.leader()) === '127.0.0.34:8300', 10000);
    assert.doesNotMatch(a.out, /attempting bootstrap/);
    await cleanup();
  });
});
