/**
 * A cluster of servers only, end to end on the lab: an inventory with `servers` and no
 * `clients` group is a legitimate Consul cluster. Deploy brings it up (it used to exit 64 after
 * connecting, on the playbook's `servers:clients`), verify passes with every server a voter, and
 * a second deploy changes nothing. The cluster runs without TLS: when the inventory then leaves
 * consul_tls_enable unset, TLS stays off (drover's default turns it on for new clusters only).
 * Hosts come from pickHosts() (LAB_FIRST_HOST moves them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pickHosts, sshOk } from '../lab/lab.js';
import { cleanUp, drover, parseRecap, writeLabInventory } from './drover-cli.js';

describe('a cluster of servers only', () => {
  const servers = pickHosts(3);
  const inventory = writeLabInventory({ servers, clients: [] });
  before(() => cleanUp(servers));
  after(async () => {
    await cleanUp(servers);
    rmSync(join(inventory, '..'), { recursive: true, force: true });
  });

  it('the inventory has no clients group at all', () => {
    const text = readFileSync(inventory, 'utf8');
    assert.match(text, /^ {4}servers:$/m);
    assert.doesNotMatch(text, /clients/);
  });

  it('deploys: every server changed, exit 0, and no client is expected', async () => {
    const r = await drover(['deploy', '-i', inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const recap = parseRecap(r.stdout);
    assert.deepEqual(Object.keys(recap).sort(), servers.map((h) => h.name).sort());
    for (const h of servers) {
      assert.ok(recap[h.name]!['changed']! > 0, `${h.name} changed`);
      assert.equal(recap[h.name]!['failed'], 0, `${h.name} failed`);
    }
  });

  it('verify passes: one leader, three alive servers, all raft voters', async () => {
    const v = await drover(['verify', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /one leader/);
    const members = await sshOk(servers[0]!.name, 'docker exec consul consul members');
    for (const h of servers)
      assert.match(
        members,
        new RegExp(`^${h.name}\\s+${h.address.replace(/\./g, '\\.')}:8301\\s+alive\\s+server`, 'm'),
      );
    assert.doesNotMatch(members, /\bclient\b/);
    const peers = await sshOk(servers[0]!.name, 'docker exec consul consul operator raft list-peers');
    const voters = peers.split('\n').filter((l) => /\b(leader|follower)\s+true\b/.test(l));
    assert.deepEqual(voters.map((l) => l.split(/\s+/)[0]).sort(), servers.map((h) => h.name).sort(), peers);
  });

  it('a second deploy changes nothing', async () => {
    const r = await drover(['deploy', '-i', inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const [h, counts] of Object.entries(parseRecap(r.stdout)))
      assert.equal(counts['changed'], 0, `${h} changed`);
    assert.match(r.stdout, /^changed: no host$/m);
  });

  it('a running plain cluster keeps TLS off when the inventory leaves it unset', async () => {
    const unset = writeLabInventory({ servers, clients: [], vars: { consul_tls_enable: undefined } });
    try {
      assert.doesNotMatch(readFileSync(unset, 'utf8'), /consul_tls_enable/);
      const plan = await drover(['plan', '-i', unset]);
      assert.equal(plan.code, 0, plan.stdout + plan.stderr);
      assert.match(
        plan.stderr + plan.stdout,
        /TLS stays off: consul_tls_enable is not set and the servers run without it/,
      );
      const r = await drover(['deploy', '-i', unset]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^changed: no host$/m);
      assert.equal(
        existsSync(join(dirname(unset), 'inventory.tls')),
        false,
        'a CA was made for a plain cluster',
      );
      const v = await drover(['verify', '-i', unset]);
      assert.equal(v.code, 0, v.stdout + v.stderr);
    } finally {
      rmSync(dirname(unset), { recursive: true, force: true });
    }
  });
});
