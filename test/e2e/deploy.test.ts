/**
 * `drover deploy` end to end on the lab: a 3-server + 2-client Consul cluster over real SSH and
 * real Docker, idempotency, plan with exact diffs, an unreachable host, and bad inventories.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fault, labHosts, ssh, sshOk, STATE_DIR } from '../lab/lab.js';
import { drover, LAB_INVENTORY, parseRecap, ROOT } from './drover-cli.js';

const CONFIG = '/opt/platform/consul/config/consul.json';
const NODES = ['h1', 'h2', 'h3', 'h4', 'h5'];

/**
 * A copy of the lab inventory beside the original (so its relative key paths still work),
 * edited, with the lab's CA beside it as an operator would copy it: drover refuses to make a
 * new CA for servers that run TLS.
 */
function editedInventory(name: string, edit: (text: string) => string): string {
  const file = join(ROOT, 'inventories', `.e2e-${name}.yaml`);
  writeFileSync(file, edit(readFileSync(LAB_INVENTORY, 'utf8')));
  cpSync(LAB_TLS, join(ROOT, 'inventories', `.e2e-${name}.tls`), { recursive: true });
  return file;
}

/** The CA a first deploy of inventories/lab.yaml makes beside it (TLS is on for a new cluster). */
const LAB_TLS = join(ROOT, 'inventories', 'lab.tls');

const containerIds = async () =>
  Object.fromEntries(
    await Promise.all(
      NODES.map(async (h) => [h, (await sshOk(h, "docker inspect -f '{{.Id}}' consul")).trim()] as const),
    ),
  );

const startTimes = async () =>
  Object.fromEntries(
    await Promise.all(
      NODES.map(
        async (h) => [h, (await sshOk(h, "docker inspect -f '{{.State.StartedAt}}' consul")).trim()] as const,
      ),
    ),
  );

const acceptedLogins = (host: string) =>
  readFileSync(join(STATE_DIR, 'hosts', host, 'log', 'sshd.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('Accepted publickey')).length;

describe('drover deploy on the lab', () => {
  const created: string[] = [];
  before(async () => {
    assert.ok(labHosts().length >= 5);
    // Start from bare hosts: no agent, no config, no data.
    for (const h of NODES) await ssh(h, 'docker rm -f consul >/dev/null 2>&1; rm -rf /opt/platform');
  });
  after(async () => {
    for (const f of created) {
      rmSync(f, { force: true });
      rmSync(f.replace(/\.yaml$/, '.tls'), { recursive: true, force: true });
    }
    await fault('heal', 'h5').catch(() => undefined);
  });

  it('deploys 3 servers + 2 clients, then verify passes and a server reports a leader and 2 peers', async () => {
    const r = await drover(['deploy', '-i', LAB_INVENTORY]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The lab inventory leaves TLS to drover: a new cluster gets it.
    assert.match(r.stdout + r.stderr, /TLS on, as for every new cluster/);
    const leader = await sshOk(
      'h1',
      `cat > /tmp/lab-ca.pem <<'EOF'\n${readFileSync(join(LAB_TLS, 'consul-agent-ca.pem'), 'utf8')}EOF\n` +
        'curl -s -m 5 --cacert /tmp/lab-ca.pem https://10.213.0.11:8501/v1/status/leader',
    );
    assert.match(leader, /^"10\.213\.0\.1[123]:8300"$/);
    const recap = parseRecap(r.stdout);
    assert.deepEqual(Object.keys(recap).sort(), NODES);
    for (const h of NODES) assert.ok(recap[h]!['changed']! > 0 && recap[h]!['failed'] === 0);

    const v = await drover(['verify', '-i', LAB_INVENTORY]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /one leader/);
    const info = await sshOk('h2', 'docker exec consul consul info');
    assert.match(info, /^\tleader_addr = 10\.213\.0\.1[123]:8300$/m);
    assert.match(info, /^\tnum_peers = 2$/m);
    const container = JSON.parse(await sshOk('h4', 'docker inspect consul'))[0];
    assert.equal(container.HostConfig.NetworkMode, 'host');
    assert.equal(container.HostConfig.RestartPolicy.Name, 'always');
    assert.deepEqual(container.Args, ['agent']);
    assert.deepEqual(container.HostConfig.Binds.sort(), [
      '/opt/platform/consul/config:/consul/config',
      '/opt/platform/consul/data:/consul/data',
    ]);
  });

  it('changes nothing when run again: changed=0 everywhere, no container recreated', async () => {
    const before = await containerIds();
    const r = await drover(['deploy', '-i', LAB_INVENTORY]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const [h, counts] of Object.entries(parseRecap(r.stdout)))
      assert.equal(counts['changed'], 0, `${h} changed`);
    assert.match(r.stdout, /^changed: no host$/m);
    assert.deepEqual(await containerIds(), before);
  });

  it('plan shows the exact diff of an edited var and touches nothing; deploy then applies exactly that', async () => {
    const inv = editedInventory('loglevel', (t) =>
      t.replace('consul_retry_interval: 2s', 'consul_retry_interval: 2s\n    consul_log_level: debug'),
    );
    created.push(inv);
    const before = await sshOk('h1', `cat ${CONFIG}`);
    const ids = await containerIds();
    const started = await startTimes();

    const plan = await drover(['plan', '-i', inv]);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    for (const h of NODES) {
      assert.match(plan.stdout, new RegExp(`changed: \\[${h}\\] agent config`));
    }
    assert.match(plan.stdout, /^-\s+"log_level": "info"$/m);
    assert.match(plan.stdout, /^\+\s+"log_level": "debug"$/m);
    assert.match(plan.stdout, /^would change: h1, h2, h3, h4, h5$/m);
    assert.equal(await sshOk('h1', `cat ${CONFIG}`), before, 'plan must not write');
    assert.deepEqual(await containerIds(), ids, 'plan must not touch containers');

    const apply = await drover(['deploy', '-i', inv]);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(apply.stdout, /^changed: h1, h2, h3, h4, h5$/m);
    assert.match(await sshOk('h1', `cat ${CONFIG}`), /"log_level": "debug"/);
    assert.equal((await ssh('h1', `cat ${CONFIG}.bak`)).stdout, before, 'the previous config is kept');
    // log_level is reload-safe: applied with `consul reload`, no container recreated or restarted.
    assert.deepEqual(await containerIds(), ids);
    assert.deepEqual(await startTimes(), started);
    for (const h of NODES) assert.match(apply.stdout, new RegExp(`changed: \\[${h}\\] reload consul`));
    assert.doesNotMatch(apply.stdout, /changed: \[h\d\] restart consul/);
    assert.match(await sshOk('h1', 'docker logs consul 2>&1'), /Reloading configuration/);
  });

  it('refuses, exit 3, to make a new CA for servers that run TLS: an inventory copied without its CA', async () => {
    const inv = editedInventory('no-ca', (t) => t);
    created.push(inv);
    rmSync(inv.replace(/\.yaml$/, '.tls'), { recursive: true });
    const ids = await containerIds();
    const r = await drover(['deploy', '-i', inv]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /\.e2e-no-ca\.tls\/consul-agent-ca\.pem: does not exist, but h1, h2, h3 already run TLS/,
    );
    assert.equal(existsSync(inv.replace(/\.yaml$/, '.tls')), false, 'a CA was made');
    assert.deepEqual(await containerIds(), ids);
  });

  it('--limit narrows where tasks run, not what is known: retry_join still lists every server', async () => {
    const inv = editedInventory('limit', (t) =>
      t.replace('consul_retry_interval: 2s', 'consul_retry_interval: 3s'),
    );
    created.push(inv);
    const r = await drover(['plan', '-i', inv, '--limit', 'h4']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(Object.keys(parseRecap(r.stdout)), ['h4']);
    assert.match(r.stdout, /^\+\s+"retry_interval": "3s",$/m);
    // The diff's context shows h4's retry_join, unchanged: every server, though only h4 runs.
    assert.match(r.stdout, /^\s+"retry_join": \["10\.213\.0\.11","10\.213\.0\.12","10\.213\.0\.13"\],$/m);
    assert.match(r.stdout, /^would change: h4$/m);
  });

  it('with one host partitioned: finishes the others, reports it unreachable, exits 4', async () => {
    const inv = editedInventory('partition', (t) =>
      t.replace('consul_retry_interval: 2s', 'consul_retry_interval: 2s\n    ssh_connect_timeout: 3'),
    );
    created.push(inv);
    await fault('partition', 'h5');
    try {
      const r = await drover(['deploy', '-i', inv]);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      const recap = parseRecap(r.stdout);
      assert.equal(recap['h5']!['unreachable'], 1);
      for (const h of NODES.filter((n) => n !== 'h5')) assert.equal(recap[h]!['failed'], 0);
      assert.match(r.stdout, /ok: \[h\d\] cluster is healthy/);
    } finally {
      await fault('heal', 'h5');
    }
  });

  it('refuses bad inventories with exit 3, located errors, and no SSH connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-bad-'));
    const cases: [string, string, RegExp][] = [
      ['bad-yaml.yaml', 'all:\n  children:\n    servers: [h1\n', /bad-yaml\.yaml:\d+:\d+: invalid YAML/],
      [
        'bad-type.yaml',
        'all:\n  children:\n    servers:\n      hosts:\n        h1:\n          address: 10\n',
        /bad-type\.yaml:6:20 all\.children\.servers\.hosts\.h1\.address: must be a string/,
      ],
      [
        'unknown-group.yaml',
        'all:\n  children:\n    servers:\n      hosts:\n        h1: { address: 10.213.0.11 }\n      children:\n        nosuch:\n',
        /unknown-group\.yaml:\d+:\d+ .*nosuch.*/,
      ],
      [
        'no-servers.yaml',
        'all:\n  children:\n    clients:\n      hosts:\n        h4: { address: 10.213.0.14 }\n',
        /no-servers\.yaml.*server/,
      ],
    ];
    const logins = acceptedLogins('h1') + acceptedLogins('h4');
    for (const [name, text, expected] of cases) {
      writeFileSync(join(dir, name), text);
      const r = await drover(['deploy', '-i', join(dir, name)]);
      assert.equal(r.code, 3, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, expected);
    }
    assert.equal(acceptedLogins('h1') + acceptedLogins('h4'), logins, 'no SSH login happened');
  });
});
