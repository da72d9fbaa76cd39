/**
 * The stand-in's config checks are at least as strict as Consul 1.20's, with Consul's texts:
 * unknown keys at any depth, datacenter and node names, node_meta, raft_multiplier, and a config
 * file the agent cannot read. Each rule names where in Consul it comes from.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSUL, cleanup, runCli, tempDir, type CliResult } from './harness.js';
import { renderTemplate } from '../../src/template/render.js';
import type { Vars } from '../../src/inventory/types.js';

/** Fields every valid test config needs, so that each case fails (or passes) for its own reason. */
const BASE = { data_dir: '/consul/data', bind_addr: '10.0.0.1' };

function configDir(files: Record<string, unknown>): string {
  const dir = tempDir('standin-strict-');
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

/** `consul validate` on one file holding `cfg`; returns the result and the file's path. */
async function validate(cfg: unknown, ...flags: string[]): Promise<CliResult & { file: string }> {
  const dir = configDir({ 'consul.json': cfg });
  const r = await runCli(['validate', ...flags, dir]);
  return { ...r, file: join(dir, 'consul.json') };
}

/** Consul's text for unknown keys: a multierror, printed by the CLI with a newline after it. */
const invalidKeys = (file: string, ...keys: string[]): string =>
  `Config validation failed: failed to parse ${file}: ${keys.length} error${keys.length === 1 ? '' : 's'} occurred:\n` +
  `${keys.map((k) => `\t* invalid config key ${k}`).join('\n')}\n\n\n`;

describe('unknown keys (agent/config/builder.go build: md.Unused -> "invalid config key")', () => {
  after(cleanup);

  it('are rejected at any depth, with the dotted path mapstructure gives them', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ tls: { defaults: { verify_incomng: true } } }, 'tls.defaults.verify_incomng'],
      [{ acl: { tokens: { mastr: 'x' } } }, 'acl.tokens.mastr'],
      [{ dns_config: { soa: { refesh: 1 } } }, 'dns_config.soa.refesh'],
      [{ limits: { request_limits: { modee: 'enforcing' } } }, 'limits.request_limits.modee'],
      [{ audit: { sink: { s1: { typ: 'file' } } } }, 'audit.sink[s1].typ'],
      [{ service: { name: 'web', chekcs: [] } }, 'service.chekcs'],
      [
        { services: [{ name: 'web', checks: [{ tcp: 'x:1', intervl: '10s' }] }] },
        'services[0].checks[0].intervl',
      ],
      [{ services: [{ name: 'web', check: { ttl: '10s', check_id: 'a' } }] }, 'services[0].check.check_id'],
      [
        { ui_config: { metrics_proxy: { add_headers: [{ nme: 'x' }] } } },
        'ui_config.metrics_proxy.add_headers[0].nme',
      ],
    ];
    for (const [cfg, key] of cases) {
      const r = await validate({ ...BASE, ...cfg });
      assert.equal(r.code, 1, key);
      assert.equal(r.stderr, invalidKeys(r.file, key));
    }
  });

  it('are checked inside every section that used to be a free-form map here', async () => {
    const sections = [
      'acl',
      'addresses',
      'audit',
      'auto_config',
      'auto_encrypt',
      'autopilot',
      'cache',
      'cloud',
      'connect',
      'dns_config',
      'gossip_lan',
      'http_config',
      'limits',
      'locality',
      'peering',
      'performance',
      'ports',
      'raft_boltdb',
      'raft_logstore',
      'reporting',
      'rpc',
      'telemetry',
      'tls',
      'ui_config',
      'unix_sockets',
      'xds',
    ];
    const cfg = Object.fromEntries(sections.map((s) => [s, { bogus_key: true }]));
    const r = await validate({ ...BASE, ...cfg });
    assert.equal(r.code, 1);
    // Consul lists a section's unknown keys as it decodes the section, in its struct's field order.
    const reported = [...r.stderr.matchAll(/\t\* invalid config key (\S+)/g)].map((m) => m[1]);
    assert.deepEqual([...reported].sort(), sections.map((s) => `${s}.bogus_key`).sort());
  });

  it('keeps free-form maps free, matches keys case-insensitively and accepts the documented nested keys', async () => {
    const r = await validate({
      ...BASE,
      Datacenter: 'dc1', // mapstructure falls back to a case-insensitive match
      Ports: { HTTP: 8500, grpc_tls: 8503 },
      gossip_lan: [{ gossip_nodes: 3 }], // HookWeakDecodeFromSlice: a one-element list is its element
      node_meta: { rack: 'r1', 'any_key-1': 'v' },
      http_config: { response_headers: { 'X-Frame-Options': 'DENY' }, use_cache: true },
      connect: { enabled: true, ca_provider: 'consul', ca_config: { anything: { goes: 1 } } },
      acl: {
        enabled: true,
        default_policy: 'deny',
        down_policy: 'extend-cache',
        enable_token_persistence: true,
        tokens: { initial_management: 'a', agent: 'b', default: 'c', agent_recovery: 'd' },
      },
      tls: {
        defaults: {
          ca_file: '/c/ca.pem',
          verify_incoming: true,
          verify_outgoing: true,
          tls_min_version: 'TLSv1_2',
        },
        internal_rpc: { verify_server_hostname: true },
        https: { verify_incoming: false },
        grpc: { use_auto_cert: false },
      },
      dns_config: { allow_stale: true, node_ttl: '10s', service_ttl: { '*': '5s' }, soa: { min_ttl: 0 } },
      telemetry: { prometheus_retention_time: '1m', disable_hostname: true, dogstatsd_tags: ['a:b'] },
      limits: { http_max_conns_per_client: 200, rpc_rate: 100.5, request_limits: { mode: 'permissive' } },
      auto_encrypt: { allow_tls: false },
      audit: { enabled: false, sink: { s1: { type: 'file', path: '/x' } } },
      rpc: { enable_streaming: true },
      cache: { entry_fetch_max_burst: 3, entry_fetch_rate: 2.5 },
      peering: { enabled: true },
      raft_logstore: { backend: 'boltdb', boltdb: { no_freelist_sync: true } },
      reporting: { license: { enabled: false } },
      locality: { region: 'eu', zone: 'eu-1' },
      auto_config: { authorization: { enabled: false, static: { bound_audiences: ['x'] } } },
      performance: { raft_multiplier: 1, leave_drain_time: '5s', rpc_hold_timeout: '7s' },
      ui_config: { enabled: true, dashboard_url_templates: { service: 'https://grafana/x' } },
      services: [
        {
          name: 'web',
          port: 80,
          meta: { version: '1' },
          tagged_addresses: { lan: { address: '10.0.0.1', port: 80 } },
          weights: { passing: 3, warning: 1 },
          checks: [
            {
              name: 'h',
              HTTP: 'http://127.0.0.1/',
              Interval: '10s',
              header: { 'X-A': ['1'] },
              TLSSkipVerify: true,
            },
          ],
          connect: {
            sidecar_service: {
              port: 21000,
              proxy: { upstreams: [{ destination_name: 'db', local_bind_port: 9 }] },
            },
          },
        },
      ],
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Configuration is valid!\n');
  });
});

describe('deprecated keys (agent/config/deprecated.go)', () => {
  after(cleanup);

  it('the ones Consul 1.20 still accepts pass, with its warning on stderr', async () => {
    const r = await validate({
      ...BASE,
      server: true,
      acl: { tokens: { master: 'm', agent_master: 'a' } },
      acl_datacenter: 'dc1',
      acl_master_token: 'm2',
      start_join: ['10.0.0.2'],
      ca_file: '/c/ca.pem',
      verify_incoming: true,
      raft_boltdb: { no_freelist_sync: true },
      ui: true,
      acl_enforce_version_8: true,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Configuration is valid!\n');
    const deprecated = (old: string, now: string): string =>
      `The '${old}' field is deprecated. Use the '${now}' field instead.`;
    for (const line of [
      'config key "acl_enforce_version_8" is deprecated and should be removed',
      deprecated('acl.tokens.agent_master', 'acl.tokens.agent_recovery'),
      deprecated('acl.tokens.master', 'acl.tokens.initial_management'),
      deprecated('acl_master_token', 'acl.tokens.initial_management'),
      deprecated('acl_datacenter', 'primary_datacenter'),
      deprecated('start_join', 'retry_join'),
      deprecated('raft_boltdb', 'raft_logstore.boltdb'),
      deprecated('ca_file', 'tls.defaults.ca_file'),
      deprecated('verify_incoming', 'tls.defaults.verify_incoming'),
      deprecated('ui', 'ui_config.enabled'),
    ])
      assert.ok(r.stderr.split('\n').includes(line), `missing warning: ${line}\n${r.stderr}`);
    // -quiet prints nothing at all on success.
    const quiet = await runCli(['validate', '-quiet', join(r.file, '..')]);
    assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, '', '']);
  });

  it('the ones removed before 1.20 are unknown keys', async () => {
    const r = await validate({
      ...BASE,
      advertise_addrs: { rpc: '10.0.0.1:8300' },
      dogstatsd_addr: 'x',
      addresses: { rpc: 'x' },
    });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, invalidKeys(r.file, 'addresses.rpc', 'advertise_addrs', 'dogstatsd_addr'));
  });
});

describe('names (agent/config/builder.go validate)', () => {
  after(cleanup);

  it('datacenter: validateBasicName, after lower-casing; an error', async () => {
    for (const [dc, message] of [
      ['dc 1', 'datacenter can only contain lowercase alphanumeric, - or _ characters. received: "dc 1"'],
      [
        'dc.east',
        'datacenter can only contain lowercase alphanumeric, - or _ characters. received: "dc.east"',
      ],
      ['', 'datacenter cannot be empty'],
    ]) {
      const r = await validate({ ...BASE, datacenter: dc });
      assert.equal(r.stderr, `Config validation failed: ${message}\n`);
      assert.equal(r.code, 1);
    }
    const primary = await validate({ ...BASE, primary_datacenter: '%' });
    assert.equal(
      primary.stderr,
      'Config validation failed: primary_datacenter can only contain lowercase alphanumeric, - or _ characters. received: "%"\n',
    );
    for (const dc of ['DC1', 'dc_east-1']) {
      const ok = await validate({ ...BASE, datacenter: dc });
      assert.equal(ok.code, 0, ok.stderr);
    }
  });

  it('node_name: not a DNS label is a warning, not an error; only an empty name fails', async () => {
    const underscore = await validate({ ...BASE, node_name: 'web_01' });
    assert.equal(underscore.code, 0);
    assert.equal(
      underscore.stderr,
      'Node name "web_01" will not be discoverable via DNS due to invalid characters. Valid characters include all alpha-numerics and dashes.\n',
    );
    const long = 'n'.repeat(64);
    const tooLong = await validate({ ...BASE, node_name: long });
    assert.equal(tooLong.code, 0);
    assert.equal(
      tooLong.stderr,
      `Node name "${long}" will not be discoverable via DNS due to it being too long. Valid lengths are between 1 and 63 bytes.\n`,
    );
    const fine = await validate({ ...BASE, node_name: 'Web-01' });
    assert.deepEqual([fine.code, fine.stderr], [0, '']);
    // Consul trims the name, so blanks are an empty name.
    const blank = await validate({ ...BASE, node_name: '  ' });
    assert.deepEqual(
      [blank.code, blank.stderr],
      [1, 'Config validation failed: node_name cannot be empty\n'],
    );
  });
});

describe('node_meta (agent/structs/structs.go ValidateNodeMetadata)', () => {
  after(cleanup);

  it('values must be strings: a mapstructure type error', async () => {
    const r = await validate({ ...BASE, node_meta: { rack: 1, zone: 'a' } });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `Config validation failed: failed to parse ${r.file}: 1 error(s) decoding:\n\n` +
        "* 'node_meta[rack]' expected type 'string', got unconvertible type 'float64', value: '1'\n",
    );
  });

  it('keys and values within Consul limits, no consul- prefix, at most 64 pairs', async () => {
    const pair = (k: string, v: string, why: string): string =>
      `node_meta invalid: Couldn't load metadata pair ('${k}', '${v}'): ${why}`;
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'consul-role': 'x' }, pair('consul-role', 'x', "Key prefix 'consul-' is reserved for internal use")],
      [{ 'rack.id': 'x' }, pair('rack.id', 'x', 'Key contains invalid characters')],
      [{ '': 'x' }, pair('', 'x', 'Key cannot be blank')],
      [{ ['k'.repeat(129)]: 'x' }, pair('k'.repeat(129), 'x', 'Key is too long (limit: 128 characters)')],
      [{ rack: 'v'.repeat(513) }, pair('rack', 'v'.repeat(513), 'Value is too long (limit: 512 characters)')],
      [
        Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])),
        'node_meta invalid: Node metadata cannot contain more than 64 key/value pairs',
      ],
    ];
    for (const [meta, message] of cases) {
      const r = await validate({ ...BASE, node_meta: meta });
      assert.equal(r.stderr, `Config validation failed: ${message}\n`);
      assert.equal(r.code, 1);
    }
    const limits = await validate({
      ...BASE,
      node_meta: {
        ...Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`k${i}`, 'v'])),
        ['k'.repeat(128)]: 'v'.repeat(512),
      },
    });
    assert.equal(limits.code, 0, limits.stderr);
    // Service meta has the same limits; Consul collects those errors with the other build errors.
    const svc = await validate({ ...BASE, services: [{ name: 'web', meta: { 'consul-x': 'y' } }] });
    assert.equal(
      svc.stderr,
      "Config validation failed: 1 error occurred:\n\t* invalid meta for service web: Couldn't load metadata pair ('consul-x', 'y'): Key prefix 'consul-' is reserved for internal use\n\n\n",
    );
  });
});

describe('performance.raft_multiplier (agent/config/builder.go build)', () => {
  after(cleanup);

  it('must be between 1 and 10', async () => {
    for (const m of [0, 11, -1]) {
      const r = await validate({ ...BASE, performance: { raft_multiplier: m } });
      assert.equal(
        r.stderr,
        `Config validation failed: performance.raft_multiplier cannot be ${m}. Must be between 1 and 10\n`,
      );
      assert.equal(r.code, 1);
    }
    for (const m of [1, 10])
      assert.equal((await validate({ ...BASE, performance: { raft_multiplier: m } })).code, 0);
  });
});

/** Runs the stand-in CLI as another user, as the official image runs Consul (uid 100). */
function runAs(uid: number, gid: number, args: string[], timeoutMs = 15000): Promise<CliResult> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CONSUL, ...args], { uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a config file the agent cannot read (agent/config/builder.go newSourceFromFile)', () => {
  after(cleanup);

  it("fails `consul validate` and agent start-up with Consul's error, printed as a config error", async () => {
    // The test runs as root: a root-owned 0640 file in a dir uid 100 can enter, read as uid 100.
    const root = tempDir('standin-perm-');
    chmodSync(root, 0o755);
    const configDir = join(root, 'config');
    const dataDir = join(root, 'data');
    mkdirSync(configDir, { mode: 0o755 });
    mkdirSync(dataDir, { mode: 0o777 });
    const file = join(configDir, 'consul.json');
    writeFileSync(file, JSON.stringify({ ...BASE, bind_addr: '127.0.0.60', client_addr: '127.0.0.60' }), {
      mode: 0o640,
    });
    assert.doesNotThrow(() => readFileSync(file)); // root itself can read it
    const message = `config: failed to read ${file}: open ${file}: permission denied`;

    const v = await runAs(100, 1000, ['validate', configDir]);
    assert.deepEqual([v.code, v.stderr], [1, `Config validation failed: ${message}\n`]);

    const agent = await runAs(100, 1000, ['agent', `-data-dir=${dataDir}`, `-config-dir=${configDir}`]);
    assert.equal(agent.code, 1);
    assert.equal(agent.stderr, `==> ${message}\n`);
    assert.doesNotMatch(agent.stdout, /Starting Consul agent/);

    // A directory it cannot open, and one that does not exist, fail the same way.
    const closed = join(root, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    const c = await runAs(100, 1000, ['validate', closed]);
    assert.equal(
      c.stderr,
      `Config validation failed: config: Open failed on ${closed}. open ${closed}: permission denied\n`,
    );
    const missing = join(root, 'missing');
    const m = await runCli(['validate', missing]);
    assert.equal(
      m.stderr,
      `Config validation failed: config: Open failed on ${missing}. open ${missing}: no such file or directory\n`,
    );
  });
});

describe('the configs drover ships', () => {
  after(cleanup);

  const template = (name: string): string =>
    readFileSync(new URL(`../../templates/consul/${name}`, import.meta.url), 'utf8');
  const render = (name: string, vars: Vars): string =>
    renderTemplate(template(name), vars, { name: `templates/consul/${name}`, reveal: true });

  it('server, client and service templates render configs that validate', async () => {
    const hostvars: Record<string, Vars> = {
      s1: { bind_addr: '10.0.0.11', consul_datacenter: 'dc1' },
      s2: { bind_addr: '10.0.0.12', consul_datacenter: 'dc1' },
      s3: { bind_addr: '10.0.0.13', consul_datacenter: 'dc1' },
      w1: { bind_addr: '10.0.1.11', consul_datacenter: 'dc2' },
      c1: { bind_addr: '10.0.0.21', consul_datacenter: 'dc1' },
    };
    const vars = (host: string): Vars => ({
      ...hostvars[host],
      inventory_hostname: host,
      groups: { all: Object.keys(hostvars), servers: ['s1', 's2', 's3', 'w1'], clients: ['c1'] },
      hostvars,
      consul_node_name: '',
      consul_bootstrap_expect: '',
      consul_retry_interval: '30s',
      consul_ui: true,
      consul_client_addr: '',
      consul_log_level: 'info',
      consul_rejoin_after_leave: true,
      consul_encrypt: 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=',
      consul_raft_multiplier: 1,
      consul_retry_join_wan: [],
    });
    const service = {
      name: 'web',
      id: '',
      port: 80,
      address: '',
      tags: ['v1'],
      meta: { team: 'a' },
      checks: [
        {
          http: 'http://127.0.0.1:80/health',
          interval: '10s',
          timeout: '2s',
          method: 'GET',
          header: { A: ['b'] },
        },
        { tcp: '127.0.0.1:80', interval: '10s', deregister_critical_service_after: '90m' },
        { ttl: '30s', status: 'passing', success_before_passing: 1, failures_before_critical: 2 },
      ],
    };
    // Consul warns about any bootstrap_expect above 1; nothing else may be said.
    for (const [name, host, warnings] of [
      ['server.json.hbs', 's1', 'bootstrap_expect > 0: expecting 3 servers\n'],
      ['client.json.hbs', 'c1', ''],
    ] as const) {
      const dir = configDir({
        'consul.json': render(name, vars(host)),
        'drover-service-web.json': render('service.json.hbs', { ...vars(host), service }),
      });
      const r = await runCli(['validate', dir]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stderr, warnings, name);
      assert.equal(r.stdout, 'Configuration is valid!\n');
    }
  });
});
