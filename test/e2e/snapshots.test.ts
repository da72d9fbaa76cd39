/**
 * Snapshots and rollback end to end on the lab: the snapshot an upgrade takes before its first
 * server stops, `drover rollback` to the image the upgrade replaced (itself after a snapshot),
 * and the upgrade's snapshot restored into a freshly deployed cluster, with its KV data back
 * on every server; a snapshot taken by a newer Consul is refused by older servers, and a
 * damaged file before any connection.
 *
 * Uses pickHosts(): h1.. in CI, LAB_FIRST_HOST=8 while developing beside someone else's tests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONSUL_IMAGE, CONSUL_IMAGE_NEXT, pickHosts, sshOk, type LabHost } from '../lab/lab.js';
import { cleanUp, drover, startedAt, writeLabInventory } from './drover-cli.js';

const VARS = { ssh_connect_timeout: 3, consul_server_gate_timeout: 60, consul_client_gate_timeout: 60 };

const imageOf = async (h: LabHost): Promise<string> =>
  (await sshOk(h.name, "docker inspect -f '{{.Config.Image}}' consul")).trim();
const kvPut = (h: LabHost, key: string, value: string) =>
  sshOk(h.name, `docker exec consul consul kv put ${key} ${value}`);
/** A server's own copy (stale: no forwarding to the leader), or "" when it has no such key. */
const kvStale = async (h: LabHost, key: string): Promise<string> =>
  (await sshOk(h.name, `docker exec consul consul kv get -stale ${key} || true`)).trim();

/** The files of the `snapshot of ... saved to FILE` lines of a run. */
const savedSnapshots = (out: string): string[] =>
  [...out.matchAll(/^snapshot of \S+ at index \d+ \(Consul [^)]+\) saved to (\S+)$/gm)].map((m) => m[1]!);

describe('snapshots, restore and rollback on the lab', () => {
  const hosts = pickHosts(4);
  const servers = hosts.slice(0, 3);
  const clients = hosts.slice(3);
  const inventory = writeLabInventory({ servers, clients, vars: VARS });
  const snapshotsDir = join(dirname(inventory), 'inventory.snapshots');
  let beforeUpgrade = '';
  let beforeRollback = '';

  before(async () => {
    await cleanUp(hosts);
    const r = await drover(['deploy', '-i', inventory], 120);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(() => cleanUp(hosts));

  it('upgrade saves a snapshot of the datacenter before the first server stops', async () => {
    await kvPut(clients[0]!, 'app/config', 'v1');
    const r = await drover(['upgrade', '-i', inventory, '--image', CONSUL_IMAGE_NEXT], 240);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const saved = savedSnapshots(r.stdout);
    assert.equal(saved.length, 1, r.stdout);
    beforeUpgrade = saved[0]!;
    assert.equal(dirname(beforeUpgrade), snapshotsDir);
    assert.match(beforeUpgrade, /consul-lab-1\.20\.1-\d+-\d{8}T\d{6}Z\.snap$/);
    assert.ok(
      r.stdout.indexOf('TASK [snapshot before the roll]') <
        r.stdout.indexOf('restart consul on the new image'),
      'the snapshot comes before any restart',
    );
    assert.equal(statSync(beforeUpgrade).mode & 0o777, 0o600);
    assert.equal(statSync(snapshotsDir).mode & 0o777, 0o700);
    assert.match(readFileSync(`${beforeUpgrade}.sha256`, 'utf8'), /^[0-9a-f]{64} {2}consul-lab-/);
    // The audit line of every host the upgrade changed names the snapshot.
    const audit = await sshOk(servers[1]!.name, 'tail -n 1 /var/log/drover/audit.log');
    assert.deepEqual((JSON.parse(audit) as { snapshots?: string[] }).snapshots, [
      r.stdout.match(/^snapshot of .*$/m)![0],
    ]);
  });

  it('inspect reads it offline; a damaged copy is refused with exit 3 and Consul’s words', async () => {
    const r = await drover(['snapshot', 'inspect', beforeUpgrade]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^datacenter +lab$/m);
    assert.match(r.stdout, /^consul +1\.20\.1$/m);
    assert.match(r.stdout, /^sha256 +[0-9a-f]{64} \(matches its \.sha256 file\)$/m);
    const damaged = join(dirname(inventory), 'damaged.snap');
    const bytes = readFileSync(beforeUpgrade);
    writeFileSync(damaged, bytes.subarray(0, bytes.length - 40));
    const bad = await drover(['snapshot', 'restore', '-i', inventory, damaged, '--yes']);
    assert.equal(bad.code, 3, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /damaged\.snap: failed to (decompress|read) snapshot/);
    assert.doesNotMatch(bad.stdout + bad.stderr, /TASK \[/, 'no task ran');
  });

  it('rollback returns every agent to the image the upgrade replaced, after a snapshot', async () => {
    await kvPut(clients[0]!, 'app/config', 'v2');
    const r = await drover(['rollback', '-i', inventory, '--yes'], 240);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `rolling back from ${CONSUL_IMAGE_NEXT.replace(/[.]/g, '\\.')} to ${CONSUL_IMAGE.replace(/[.]/g, '\\.')}`,
      ),
    );
    for (const h of hosts) assert.equal(await imageOf(h), CONSUL_IMAGE, `${h.name} image`);
    const saved = savedSnapshots(r.stdout);
    assert.equal(saved.length, 1, r.stdout);
    beforeRollback = saved[0]!;
    assert.match(beforeRollback, /consul-lab-1\.20\.2-/);
    // Nothing left to roll back to: the last change was the rollback itself, which replaced NEXT.
    assert.equal(await kvStale(servers[2]!, 'app/config'), 'v2', 'a rollback keeps the data');
  });

  it('restores the upgrade’s snapshot into a freshly deployed cluster: its KV data on every server', async () => {
    await cleanUp(hosts);
    const d = await drover(['deploy', '-i', inventory], 120);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    for (const s of servers) assert.equal(await kvStale(s, 'app/config'), '', 'a fresh cluster is empty');

    // Taken by Consul 1.20.2: the fresh 1.20.1 servers cannot read it.
    const newer = await drover(['snapshot', 'restore', '-i', inventory, beforeRollback, '--yes'], 120);
    assert.equal(newer.code, 5, newer.stdout + newer.stderr);
    assert.match(
      newer.stdout + newer.stderr,
      /was taken with Consul 1\.20\.2, and a server of lab runs 1\.20\.1/,
    );

    const r = await drover(['snapshot', 'restore', '-i', inventory, beforeUpgrade, '--yes'], 180);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /restored .* into lab; its 3 servers hold it/);
    assert.match(r.stdout, /ok: \[\w+\] cluster is healthy/);
    for (const s of servers)
      assert.equal(await kvStale(s, 'app/config'), 'v1', `${s.name} after the restore`);
    const v = await drover(['verify', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });

  it('snapshot save --keep 1 keeps the newest of the datacenter; --no-snapshot takes none', async () => {
    const r = await drover(['snapshot', 'save', '-i', inventory, '--keep', '1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const [saved] = savedSnapshots(r.stdout);
    assert.ok(saved, r.stdout);
    assert.deepEqual(
      readdirSync(snapshotsDir).filter((f) => f.endsWith('.snap')),
      [saved.split('/').pop()],
    );
    copyFileSync(saved, join(dirname(inventory), 'kept.snap'));
    const check = await drover(['restart', '-i', inventory, '--check', '--no-snapshot']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /^skipped: \[\w+\] snapshot before the roll$/m);
    assert.doesNotMatch(check.stdout, /would save a snapshot/);
    const withSnapshot = await drover(['restart', '-i', inventory, '--check']);
    assert.match(withSnapshot.stdout, /^would save a snapshot of lab to /m);
  });

  it('a snapshot that cannot be kept stops the roll before any server restarts (exit 2)', async () => {
    const nowhere = writeLabInventory({
      servers,
      clients,
      vars: { ...VARS, consul_snapshot_dir: '/proc/drover-snapshots' },
    });
    copyFileSync(
      join(dirname(inventory), 'inventory.gossip.key'),
      join(dirname(nowhere), 'inventory.gossip.key'),
    );
    const before = await startedAt(hosts);
    const r = await drover(['restart', '-i', nowhere], 120);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /^failed: \[\w+\] snapshot before the roll/m);
    assert.match(r.stdout, /^restarted: no host$/m);
    assert.deepEqual(await startedAt(hosts), before, 'nothing restarted');
  });
});
