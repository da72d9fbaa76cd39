/**
 * Consul day-2 operations end to end on the lab: the gossip key's life cycle, host pre-flight,
 * reload-safe config changes, membership reconciliation with ghosts, and reset-node. Hosts come
 * from pickHosts (h1.. in CI; LAB_FIRST_HOST moves them while developing).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONSUL_IMAGE, pickHosts, ssh, sshOk, waitFor, type LabHost } from '../lab/lab.js';
import { drover, parseRecap, ROOT, writeLabInventory } from './drover-cli.js';

// Other e2e tests may hold the deploy lock (the lab's hosts share /var/lib): wait for them.
const LOCK_WAIT = ['--lock-wait', '240'];
const CONFIG = '/opt/platform/consul/config/consul.json';
const DATA = '/opt/platform/consul/data';
const keyFileOf = (inv: string) => join(dirname(inv), 'inventory.gossip.key');
const containerId = async (h: string) => (await sshOk(h, "docker inspect -f '{{.Id}}' consul")).trim();
/** One server and an empty clients group (the deploy playbook's plays name both groups). */
function serverOnly(h: LabHost, vars: Record<string, string | number | boolean> = {}): string {
  const file = writeLabInventory({ servers: [h], clients: [], vars });
  writeFileSync(file, `${readFileSync(file, 'utf8')}    clients:\n      hosts: {}\n`);
  return file;
}
const bare = async (hosts: readonly LabHost[]) => {
  for (const h of hosts) await ssh(h.name, 'docker rm -f consul >/dev/null 2>&1; rm -rf /opt/platform');
};

describe('day 2 on one host', () => {
  const [h] = pickHosts(1) as [LabHost];
  let inv = '';
  before(async () => {
    await bare([h]);
    inv = serverOnly(h);
  });
  after(() => bare([h]));

  it('creates the gossip key on the first deploy (0600), never changes it, and redacts it everywhere', async () => {
    const first = await drover(['deploy', '-i', inv, ...LOCK_WAIT]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const key = readFileSync(keyFileOf(inv), 'utf8').trim();
    assert.match(first.stderr, /wrote a new gossip key to .*inventory\.gossip\.key \(mode 0600\)/);
    assert.ok(!(first.stdout + first.stderr).includes(key), 'the key is never printed');
    assert.match(await sshOk(h.name, 'docker exec consul consul info'), /^\tencrypted = true$/m);
    const id = await containerId(h.name);
    const again = await drover(['deploy', '-i', inv, ...LOCK_WAIT]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^changed: no host$/m);
    assert.equal(readFileSync(keyFileOf(inv), 'utf8').trim(), key);
    assert.equal(await containerId(h.name), id);
    assert.deepEqual(JSON.parse(await sshOk(h.name, `cat ${DATA}/serf/local.keyring`)), [key]);
  });

  it('deep verify checks the HTTP API, the UI, DNS, encryption and versions', async () => {
    const r = await drover(['verify', '--deep', '-i', inv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `ok   ${h.name}: http ok at ${h.address}:8500, ui HTTP 200, dns ${h.address}, encrypted true`,
      ),
    );
  });

  it('pre-flight refuses a key that differs from the one the agent uses, pointing to rotation', async () => {
    const other = (await drover(['keygen'])).stdout.trim();
    const mismatched = serverOnly(h, { consul_encrypt: other });
    const r = await drover(['preflight', '-i', mismatched]);
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(
      r.stdout + r.stderr,
      /is not the key this agent has used since its first start.*rotate-gossip-key/s,
    );
    assert.ok(!(r.stdout + r.stderr).includes(other));
  });

  it('pre-flight fails a bind_addr that is on no interface, per host, touching nothing', async () => {
    const badInv = serverOnly(h);
    writeFileSync(
      badInv,
      readFileSync(badInv, 'utf8').replace(
        `address: ${h.address}`,
        `address: ${h.address}\n          bind_addr: 10.213.0.250`,
      ),
    );
    const before = await sshOk(h.name, `md5sum ${CONFIG}`);
    const r = await drover(['preflight', '-i', badInv]);
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(
      r.stdout + r.stderr,
      new RegExp(
        `${h.name}: host pre-flight failed \\(nothing was touched\\):\\n\\s+- bind_addr: bind_addr 10\\.213\\.0\\.250 is not on any interface`,
      ),
    );
    assert.equal(await sshOk(h.name, `md5sum ${CONFIG}`), before);
    const ok = await drover(['preflight', '-i', inv]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(
      ok.stdout,
      /ok: \[\S+\] host pre-flight\nTASK \[gossip key matches the agent.s keyring\]\nok: /,
    );
  });

  it('applies a reload-safe change (log_level) with consul reload, without restarting the container', async () => {
    // The consul_config_check + reload wiring that consul-deploy.yaml gets, in a small playbook.
    const dir = mkdtempSync(join(tmpdir(), 'drover-reload-'));
    const playbook = join(dir, 'reload.yaml');
    writeFileSync(
      playbook,
      [
        '- hosts: servers',
        '  defaults: { consul_node_name: "", consul_bootstrap_expect: "", consul_ui: true, consul_client_addr: "", consul_rejoin_after_leave: true, consul_log_level: info }',
        '  tasks:',
        '    - name: classify',
        `      consul_config_check: { src: "${ROOT}/templates/consul/server.json.hbs", dest: "${CONFIG}", validate_image: "${CONSUL_IMAGE}" }`,
        '      register: consul_config_change',
        '    - name: agent config',
        `      template: { src: "${ROOT}/templates/consul/server.json.hbs", dest: "${CONFIG}", mode: "0640" }`,
        '      register: consul_config',
        '    - name: reload consul',
        '      command: { argv: [docker, exec, consul, consul, reload] }',
        '      when: consul_config.changed and consul_config_change.reload',
        '    - name: restart consul',
        '      command: { argv: [docker, restart, consul] }',
        '      when: consul_config.changed and consul_config_change.restart',
      ].join('\n'),
    );
    const debugInv = serverOnly(h, { consul_log_level: 'debug' });
    writeFileSync(keyFileOf(debugInv), readFileSync(keyFileOf(inv)), { mode: 0o600 });
    const id = await containerId(h.name);
    const started = (await sshOk(h.name, "docker inspect -f '{{.State.StartedAt}}' consul")).trim();
    const r = await drover(['run', playbook, '-i', debugInv, ...LOCK_WAIT]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok: \[\S+\] classify\n/);
    assert.match(r.stdout, /changed: \[\S+\] reload consul/);
    assert.match(r.stdout, /skipped: \[\S+\] restart consul/);
    assert.equal(await containerId(h.name), id);
    assert.equal(
      (await sshOk(h.name, "docker inspect -f '{{.State.StartedAt}}' consul")).trim(),
      started,
      'not restarted',
    );
    await waitFor('debug logging', 20, async () =>
      /Reloading configuration/.test((await ssh(h.name, 'docker logs consul 2>&1 | tail -50')).stdout),
    );
  });

  it('reset-node refuses the only server without --force and touches nothing', async () => {
    const id = await containerId(h.name);
    const r = await drover(['reset-node', '-i', inv, h.name, '--yes', ...LOCK_WAIT]);
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /refusing to reset server .*only server/s);
    assert.equal(await containerId(h.name), id);
    assert.doesNotMatch(await sshOk(h.name, 'ls /opt/platform/consul'), /reset-/);
  });
});

// DAY2_ONE_HOST=1 runs only the suite above (for a developer who has one lab host to spare).
const oneHostOnly = process.env['DAY2_ONE_HOST'] === '1';
describe('day 2 on a 1-server, 2-client cluster: ghosts and reset-node', { skip: oneHostOnly }, () => {
  const hosts = oneHostOnly ? [] : pickHosts(3);
  const [server, c1, c2] = hosts as [LabHost, LabHost, LabHost];
  // A second address on the last client's interface: where a container "re-created by hand" lands.
  const moved = c2.address.replace(/\.(\d+)$/, (_, n: string) => `.${200 + Number(n)}`);
  let inv = '';
  const members = (...extra: string[]) => drover(['members', '-i', inv, ...extra]);
  const byHand = (extra: string) =>
    sshOk(
      c2.name,
      `docker rm -f consul >/dev/null 2>&1; docker run -d --name consul --net=host -v /opt/platform/consul/config:/consul/config ` +
        `-v ${extra.includes('-node') ? '/opt/platform/consul/data-byhand' : DATA}:/consul/data ${CONSUL_IMAGE} agent -bind=${moved} -client=127.0.0.1 ${extra}`,
    );

  before(async () => {
    await bare(hosts);
    await sshOk(c2.name, `ip addr add ${moved}/24 dev eth0`);
    inv = writeLabInventory({ servers: [server], clients: [c1, c2] });
    const r = await drover(['deploy', '-i', inv, ...LOCK_WAIT]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    await ssh(c2.name, `ip addr del ${moved}/24 dev eth0`);
    await bare(hosts);
  });

  it('members: every node alive, no ghosts, exit 0', async () => {
    const r = await members();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ghosts: none/);
  });

  it('a container re-created by hand on another address: members shows it; reset-node repairs it', async () => {
    await byHand('');
    await waitFor('the moved address listed', 30, async () => (await members()).stdout.includes(moved));
    const r = await members();
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `${c2.name}\\s+${c2.name}\\s+client\\s+alive\\s+${moved.replace(/\./g, '\\.')} \\(inventory: ${c2.address.replace(/\./g, '\\.')}\\)`,
      ),
    );
    assert.match(r.stdout, new RegExp(`no: alive; drover reset-node ${c2.name}`));

    const reset = await drover(['reset-node', '-i', inv, c2.name, '--yes', ...LOCK_WAIT]);
    assert.equal(reset.code, 0, reset.stdout + reset.stderr);
    assert.deepEqual(Object.keys(parseRecap(reset.stdout)), [c2.name]);
    assert.match(reset.stdout, /force-leave -prune/);
    const after = await members();
    assert.equal(after.code, 0, after.stdout + after.stderr);
    assert.match(
      after.stdout,
      new RegExp(`${c2.name}\\s+${c2.name}\\s+client\\s+alive\\s+${c2.address.replace(/\./g, '\\.')}$`, 'm'),
    );
    assert.match(
      await sshOk(c2.name, 'ls /opt/platform/consul'),
      /data\.reset-\d{8}-\d{6}/,
      'the old data dir is kept',
    );
  });

  it('a ghost under another name: deploy repairs the node, members shows the ghost, --prune removes it', async () => {
    await byHand('-node=4f1c2a9e7b3d');
    await waitFor('the ghost listed', 30, async () => (await members()).stdout.includes('4f1c2a9e7b3d'));
    const d = await drover(['deploy', '-i', inv, ...LOCK_WAIT]);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    await waitFor('the ghost not alive', 30, async () =>
      /4f1c2a9e7b3d\s+\S+\s+(failed|left)/.test((await members()).stdout),
    );
    const r = await members();
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /4f1c2a9e7b3d\s+10\.213\.0\.\d+\s+(failed|left)\s+client\s+not in the inventory\s+yes \(--prune\)/,
    );
    const pruned = await members('--prune', '--yes');
    assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
    assert.match(pruned.stdout, /pruned 4f1c2a9e7b3d/);
    assert.match(pruned.stdout, /ghosts: none/);
  });

  it('rotates the gossip key without restarting any container', async () => {
    const ids = await Promise.all(hosts.map((h) => containerId(h.name)));
    const old = readFileSync(keyFileOf(inv), 'utf8').trim();
    const r = await drover(['rotate-gossip-key', '-i', inv, '--yes', ...LOCK_WAIT]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const next = readFileSync(keyFileOf(inv), 'utf8').trim();
    assert.notEqual(next, old);
    assert.ok(!(r.stdout + r.stderr).includes(next) && !(r.stdout + r.stderr).includes(old));
    assert.deepEqual(await Promise.all(hosts.map((h) => containerId(h.name))), ids);
    for (const h of hosts)
      assert.deepEqual(JSON.parse(await sshOk(h.name, `cat ${DATA}/serf/local.keyring`)), [next]);
    const v = await drover(['verify', '--deep', '-i', inv]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
