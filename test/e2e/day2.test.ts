/**
 * Consul day-2 operations end to end on the lab, through the real commands (`drover deploy`,
 * `members`, `reset-node`, `rotate-gossip-key`, `verify --deep`) on a 1-server, 2-client cluster:
 * host pre-flight, the gossip key's life cycle, a reload-safe config change, ghosts in the member
 * list and their repair. Hosts come from pickHosts (h1.. in CI; LAB_FIRST_HOST moves them while
 * developing). The scenarios build on each other, in order.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONSUL_IMAGE, pickHosts, ssh, sshOk, waitFor, type LabHost } from '../lab/lab.js';
import { drover, parseRecap, writeLabInventory } from './drover-cli.js';

// Other e2e tests may hold the deploy lock: wait for them.
const LOCK_WAIT = ['--lock-wait', '240'];
const CONFIG = '/opt/platform/consul/config/consul.json';
const DATA = '/opt/platform/consul/data';
const keyFileOf = (inv: string) => join(dirname(inv), 'inventory.gossip.key');
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Asserts a host's keyring holds just `key`, without ever printing a key. */
const assertKeyring = async (h: string, key: string) => {
  const ring = JSON.parse(await sshOk(h, `cat ${DATA}/serf/local.keyring`)) as string[];
  assert.ok(
    ring.length === 1 && ring[0] === key,
    `${h}: keyring holds ${ring.length} key(s), not just the expected one`,
  );
};
const inspect = async (h: string, format: string) =>
  (await sshOk(h, `docker inspect -f '${format}' consul`)).trim();

describe('day 2 on a 1-server, 2-client cluster', () => {
  const hosts = pickHosts(3);
  const [server, c1, c2] = hosts as [LabHost, LabHost, LabHost];
  const names = hosts.map((h) => h.name);
  // A second address on the last client's interface: where a container "re-created by hand" lands.
  const moved = c2.address.replace(/\.(\d+)$/, (_, n: string) => `.${200 + Number(n)}`);
  const inv = writeLabInventory({ servers: [server], clients: [c1, c2] });
  /** The cluster's inventory with `edit` applied, in a directory of its own (so no key file). */
  const variant = (edit: (text: string) => string) => {
    const file = writeLabInventory({ servers: [server], clients: [c1, c2] });
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
    return file;
  };
  const ids = () => Promise.all(names.map((h) => inspect(h, '{{.Id}}')));
  const startedAt = () => Promise.all(names.map((h) => inspect(h, '{{.State.StartedAt}}')));
  const members = (...extra: string[]) => drover(['members', '-i', inv, ...extra]);
  const deploy = (file: string, ...extra: string[]) => drover(['deploy', '-i', file, ...LOCK_WAIT, ...extra]);
  /** The last client's agent removed by hand and started again by hand, bound to the moved address. */
  const byHand = (extra: string) =>
    sshOk(
      c2.name,
      'docker rm -f consul >/dev/null 2>&1; docker run -d --name consul --net=host ' +
        '-v /opt/platform/consul/config:/consul/config ' +
        `-v ${extra.includes('-node') ? '/opt/platform/consul/data-byhand' : DATA}:/consul/data ` +
        `${CONSUL_IMAGE} agent -bind=${moved} -client=127.0.0.1 ${extra}`,
    );
  const bare = () =>
    Promise.all(names.map((h) => ssh(h, 'docker rm -f consul >/dev/null 2>&1; rm -rf /opt/platform')));

  before(async () => {
    await bare();
    await ssh(c2.name, `ip addr del ${moved}/24 dev eth0 2>/dev/null; ip addr add ${moved}/24 dev eth0`);
  });
  after(async () => {
    await ssh(c2.name, `ip addr del ${moved}/24 dev eth0`);
    await bare();
  });

  it('pre-flight: a bind_addr on no interface fails the deploy (exit 5) before any host is touched', async () => {
    const bad = variant((t) =>
      t.replace(`address: ${c2.address}`, `address: ${c2.address}\n          bind_addr: 10.213.0.250`),
    );
    const r = await deploy(bad);
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(
      r.stdout + r.stderr,
      new RegExp(
        `${c2.name}: host pre-flight failed \\(nothing was touched\\):\\n\\s+- bind_addr: bind_addr 10\\.213\\.0\\.250 is not on any interface`,
      ),
    );
    for (const h of [server, c1])
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(`${h.name}: host pre-flight failed`));
    for (const h of names) {
      const left = await sshOk(h, 'test -e /opt/platform && echo /opt/platform; docker ps -aq');
      assert.equal(left.trim(), '', `${h}: no config, no data dir, no container`);
    }
  });

  it('the first deploy creates the gossip key (0600, never printed); a redeploy changes nothing', async () => {
    const first = await deploy(inv);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stderr, /wrote a new gossip key to .*inventory\.gossip\.key \(mode 0600\)/);
    assert.equal(statSync(keyFileOf(inv)).mode & 0o777, 0o600);
    const key = readFileSync(keyFileOf(inv), 'utf8').trim();
    assert.ok(!(first.stdout + first.stderr).includes(key), 'the key is never printed');
    assert.match(await sshOk(server.name, 'docker exec consul consul info'), /^\tencrypted = true$/m);
    const before = await ids();

    const again = await deploy(inv);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^changed: no host$/m);
    assert.doesNotMatch(again.stderr, /gossip key to/);
    assert.ok(readFileSync(keyFileOf(inv), 'utf8').trim() === key, 'the key file is unchanged');
    assert.deepEqual(await ids(), before, 'no container recreated');
    for (const h of names) await assertKeyring(h, key);
  });

  it("a gossip key in the inventory that differs from the agents' is refused (exit 5), pointing to rotation", async () => {
    const other = (await drover(['keygen'])).stdout.trim();
    const mismatched = variant((t) => t.replace('  vars:\n', `  vars:\n    consul_encrypt: "${other}"\n`));
    const config = await sshOk(server.name, `md5sum ${CONFIG}`);
    const before = await ids();
    const r = await deploy(mismatched);
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(
      r.stdout + r.stderr,
      /is not the key this agent has used since its first start.*rotate-gossip-key/s,
    );
    assert.ok(!(r.stdout + r.stderr).includes(other), 'the key is never printed');
    assert.equal(await sshOk(server.name, `md5sum ${CONFIG}`), config);
    assert.deepEqual(await ids(), before);
  });

  it('a reload-safe change (log_level) is applied with consul reload, no container restarted', async () => {
    writeFileSync(
      inv,
      readFileSync(inv, 'utf8').replace('  vars:\n', '  vars:\n    consul_log_level: "debug"\n'),
    );
    const [before, started] = [await ids(), await startedAt()];
    const r = await deploy(inv);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of names) {
      assert.match(r.stdout, new RegExp(`changed: \\[${h}\\] reload consul`));
      assert.match(await sshOk(h, `cat ${CONFIG}`), /"log_level": "debug"/);
    }
    assert.doesNotMatch(r.stdout, /changed: \[\S+\] (restart consul|container)$/m);
    assert.deepEqual(await ids(), before);
    assert.deepEqual(await startedAt(), started, 'not restarted');
    assert.match(await sshOk(server.name, 'docker logs consul 2>&1 | tail -50'), /Reloading configuration/);
  });

  it('an autopilot change is applied through the operator API: no restart, no reload, and kept', async () => {
    const setting = async () =>
      (
        JSON.parse(
          await sshOk(server.name, 'curl -s -m 5 http://127.0.0.1:8500/v1/operator/autopilot/configuration'),
        ) as { CleanupDeadServers: boolean; ServerStabilizationTime: string }
      ).CleanupDeadServers;
    assert.equal(await setting(), true);
    writeFileSync(
      inv,
      readFileSync(inv, 'utf8').replace(
        '  vars:\n',
        '  vars:\n    consul_autopilot_cleanup_dead_servers: false\n',
      ),
    );
    const plan = await drover(['plan', '-i', inv]);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /would set autopilot: CleanupDeadServers true -> false/);
    assert.equal(await setting(), true, 'plan changed the cluster');
    const started = await startedAt();
    const r = await deploy(inv);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /changed: \[\S+\] autopilot as the inventory says - set autopilot: CleanupDeadServers true -> false/,
    );
    assert.doesNotMatch(r.stdout, /changed: \[\S+\] (reload consul|restart consul|container)$/m);
    assert.deepEqual(await startedAt(), started, 'not restarted');
    assert.equal(await setting(), false);
    // The file says it too, for a cluster bootstrapped again from it; the next deploy changes nothing.
    assert.match(await sshOk(server.name, `cat ${CONFIG}`), /"autopilot": \{"cleanup_dead_servers":false\}/);
    const again = await deploy(inv);
    for (const [h, counts] of Object.entries(parseRecap(again.stdout))) assert.equal(counts['changed'], 0, h);
  });

  it('consul_config_extra: a key Consul does not know is refused by consul validate, nothing written; a reload-safe one is reloaded', async () => {
    const withExtra = (extra: string) =>
      writeFileSync(
        inv,
        readFileSync(inv, 'utf8').replace(
          /  vars:\n(    consul_config_extra: .*\n)?/,
          `  vars:\n    consul_config_extra: ${extra}\n`,
        ),
      );
    const before = await sshOk(server.name, `cat ${CONFIG}`);
    // Known to drover's schema as a Consul key, but not its field: Consul's own check refuses it.
    withExtra('{ limits: { http_max_conns_per_clientt: 500 } }');
    const refused = await deploy(inv);
    assert.notEqual(refused.code, 0, refused.stdout + refused.stderr);
    assert.match(refused.stdout + refused.stderr, /invalid config key limits\.http_max_conns_per_clientt/);
    assert.equal(await sshOk(server.name, `cat ${CONFIG}`), before, 'the config was written');
    const started = await startedAt();
    withExtra('{ limits: { http_max_conns_per_client: 500 }, discard_check_output: true }');
    const r = await deploy(inv);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of names) {
      assert.match(r.stdout, new RegExp(`changed: \\[${h}\\] reload consul`));
      const config = JSON.parse(await sshOk(h, `cat ${CONFIG}`)) as Record<string, unknown>;
      assert.deepEqual(
        [config['limits'], config['discard_check_output']],
        [{ http_max_conns_per_client: 500 }, true],
      );
    }
    assert.deepEqual(await startedAt(), started, 'not restarted');
  });

  it('verify --deep checks the HTTP API, the UI, DNS, encryption and versions on every node', async () => {
    const r = await drover(['verify', '--deep', '-i', inv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of hosts) {
      assert.match(
        r.stdout,
        new RegExp(`ok   ${h.name}: http ok at ${re(h.address)}:8500, .*encrypted true`),
      );
    }
  });

  it('members: every node alive, no ghosts, exit 0', async () => {
    const r = await members();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ghosts: none/);
  });

  it('a client re-created by hand on another address: members shows it (exit 2), reset-node repairs it', async () => {
    await byHand('');
    await waitFor('the moved address listed', 30, async () => (await members()).stdout.includes(moved));
    const r = await members();
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `${c2.name}\\s+${c2.name}\\s+client\\s+alive\\s+${re(moved)} \\(inventory: ${re(c2.address)}\\)`,
      ),
    );
    assert.match(r.stdout, new RegExp(`no: alive; drover reset-node ${c2.name}`));

    const reset = await drover(['reset-node', '-i', inv, c2.name, '--yes', ...LOCK_WAIT]);
    assert.equal(reset.code, 0, reset.stdout + reset.stderr);
    assert.deepEqual(Object.keys(parseRecap(reset.stdout)), [c2.name]);
    assert.match(reset.stdout, /force-leave -prune/);
    const fixed = await members();
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    assert.match(
      fixed.stdout,
      new RegExp(`${c2.name}\\s+${c2.name}\\s+client\\s+alive\\s+${re(c2.address)}$`, 'm'),
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
    const d = await deploy(inv);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    await waitFor('the ghost not alive', 30, async () =>
      /4f1c2a9e7b3d\s+\S+\s+(failed|left)/.test((await members()).stdout),
    );
    const r = await members();
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `4f1c2a9e7b3d\\s+${re(moved)}\\s+(failed|left)\\s+client\\s+not in the inventory\\s+yes \\(--prune\\)`,
      ),
    );
    const pruned = await members('--prune', '--yes');
    assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
    assert.match(pruned.stdout + pruned.stderr, /pruned 4f1c2a9e7b3d/);
    assert.match(pruned.stdout, /ghosts: none/);
  });

  it('reset-node refuses the only server (exit 5) and touches nothing', async () => {
    const id = await inspect(server.name, '{{.Id}}');
    const r = await drover(['reset-node', '-i', inv, server.name, '--yes', ...LOCK_WAIT]);
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /refusing to reset server .*only server/s);
    assert.equal(await inspect(server.name, '{{.Id}}'), id);
    assert.doesNotMatch(await sshOk(server.name, 'ls /opt/platform/consul'), /reset-/);
  });

  it('rotate-gossip-key installs, uses and removes the key on every member without a restart', async () => {
    const [before, started] = [await ids(), await startedAt()];
    const old = readFileSync(keyFileOf(inv), 'utf8').trim();
    const r = await drover(['rotate-gossip-key', '-i', inv, '--yes', ...LOCK_WAIT]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const next = readFileSync(keyFileOf(inv), 'utf8').trim();
    assert.ok(next !== old, 'a new key');
    assert.ok(
      !(r.stdout + r.stderr).includes(next) && !(r.stdout + r.stderr).includes(old),
      'no key printed',
    );
    assert.deepEqual(await ids(), before);
    assert.deepEqual(await startedAt(), started, 'not restarted');
    for (const h of names) await assertKeyring(h, next);
    // A node reset before the configs have the new key keeps the cluster's keyring, and rejoins.
    const reset = await drover(['reset-node', '-i', inv, c1.name, '--yes', ...LOCK_WAIT]);
    assert.equal(reset.code, 0, reset.stdout + reset.stderr);
    await assertKeyring(c1.name, next);
    // The next deploy writes the new key into every config: `encrypt` is ignored after the first
    // start, so that is neither a reload nor a restart.
    const again = await deploy(inv);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.doesNotMatch(again.stdout, /changed: \[\S+\] (reload consul|restart consul|container)$/m);
    const v = await drover(['verify', '--deep', '-i', inv]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
