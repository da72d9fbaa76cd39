/**
 * Securing a running plain cluster, end to end on the lab, as docs/security.md tells an operator
 * to: TLS in three deploys, then ACLs in three, each deploy watched from this machine for a moment
 * without a leader.
 *   1. TLS on with every check off and plain HTTP kept: a roll (a restart turns TLS on); every
 *      agent then takes TLS and plaintext, and clients get their certificates (auto_encrypt).
 *   2. verify_outgoing and verify_server_hostname on: a reload, no restart; agents now dial TLS.
 *   3. verify_incoming on and plain HTTP back to 127.0.0.1: a roll; plaintext is refused.
 *   4. ACLs on with default_policy allow and no tokens yet: a roll, then the bootstrap (once the
 *      servers run with ACLs) and every token, before the clients restart.
 *   5. The agents' tokens in their configs: a reload.
 *   6. default_policy deny: a roll; a request without a token is refused.
 * Each leader hands over before its restart, so the cluster never waits for an election. Turning
 * TLS on in one step is refused as dangerous first. Hosts come from pickHosts().
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pickHosts, ssh } from '../lab/lab.js';
import { cleanUp, drover, restartedLine, startedAt, watchServers, writeLabInventory } from './drover-cli.js';

/** The lab's heartbeat timeout (consul_raft_multiplier 1): what a leader lost without a transfer costs. */
const HEARTBEAT_TIMEOUT_MS = 1000;

describe('TLS, then ACLs, turned on for a running cluster, a leader throughout', () => {
  const hosts = pickHosts(5);
  const servers = hosts.slice(0, 3);
  const clients = hosts.slice(3);
  const inventory = writeLabInventory({ servers, clients });
  const ca = () => readFileSync(join(dirname(inventory), 'inventory.tls', 'consul-agent-ca.pem'), 'utf8');
  /** The cluster's inventory with `vars` added, written over the same file (key and CA beside it). */
  const withVars = (vars: Record<string, string | boolean>) => {
    const variant = writeLabInventory({ servers, clients, vars });
    writeFileSync(inventory, readFileSync(variant, 'utf8'));
    rmSync(dirname(variant), { recursive: true, force: true });
  };
  /** A deploy watched from this machine: its result and what the watcher saw. */
  const watchedDeploy = async (o: { ca?: string } = {}) => {
    const watcher = watchServers(servers, 300, [servers], o);
    const r = await drover(['deploy', '-i', inventory], 300);
    return { r, seen: await watcher.stop() };
  };
  const assertLeaderThroughout = (seen: Awaited<ReturnType<typeof watchedDeploy>>['seen']) => {
    assert.ok(seen.rounds > 5, `the watcher polled ${seen.rounds} times`);
    assert.ok(seen.fewest >= 2, `only ${seen.fewest} server(s) answered at one point`);
    assert.ok(
      seen.longestLeaderlessMs < HEARTBEAT_TIMEOUT_MS / 2,
      `no leader for ${seen.longestLeaderlessMs} ms: an election was forced`,
    );
  };

  before(async () => {
    await cleanUp(hosts);
    const r = await drover(['deploy', '-i', inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    await cleanUp(hosts);
    rmSync(dirname(inventory), { recursive: true, force: true });
  });

  it('refuses TLS turned on in one step with its checks on, restarting nothing', async () => {
    const started = await startedAt(hosts);
    withVars({ consul_tls_enable: true });
    const r = await drover(['deploy', '-i', inventory]);
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /tls: TLS turned on with verification on cuts this agent off .*turn it on in stages/,
    );
    assert.deepEqual(await startedAt(hosts), started);
  });

  it('1: TLS on, every check off, plain HTTP kept: a roll, the leader handing over', async () => {
    withVars({
      consul_tls_enable: true,
      consul_tls_http: 'on',
      consul_tls_verify_incoming: false,
      consul_tls_verify_outgoing: false,
      consul_tls_verify_server_hostname: false,
    });
    const { r, seen } = await watchedDeploy();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(restartedLine(r.stdout).sort(), hosts.map((h) => h.name).sort());
    assert.match(r.stdout, /changed: \[\w+\] leadership moves away/);
    assertLeaderThroughout(seen);
  });

  it('2: agents dial TLS (verify_outgoing, verify_server_hostname): a reload, no restart', async () => {
    const started = await startedAt(hosts);
    withVars({ consul_tls_enable: true, consul_tls_http: 'on', consul_tls_verify_incoming: false });
    const { r, seen } = await watchedDeploy();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of hosts) assert.match(r.stdout, new RegExp(`changed: \\[${h.name}\\] reload consul`));
    assert.deepEqual(await startedAt(hosts), started, 'not restarted');
    assertLeaderThroughout(seen);
  });

  it('3: plaintext refused (verify_incoming) and plain HTTP on 127.0.0.1 only: a roll; verify --deep over HTTPS', async () => {
    withVars({ consul_tls_enable: true });
    const { r, seen } = await watchedDeploy({ ca: ca() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(restartedLine(r.stdout).sort(), hosts.map((h) => h.name).sort());
    assertLeaderThroughout(seen);
    const v = await drover(['verify', '--deep', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    for (const h of hosts) assert.match(v.stdout, new RegExp(`ok   ${h.name}: http ok at https://`));
    const plain = await ssh(
      servers[0]!.name,
      `curl -s -m 3 -o /dev/null http://${servers[1]!.address}:8500/v1/status/leader`,
    );
    assert.equal(plain.code, 7, 'plain HTTP at the address is closed (curl: connection refused)');
    const again = await drover(['deploy', '-i', inventory]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(restartedLine(again.stdout), [], 'a further deploy changes nothing');
  });

  const tokenFile = join(dirname(inventory), 'inventory.acl', 'management.token');
  const ACL_ALLOW = { consul_tls_enable: true, consul_acl_enable: true, consul_acl_default_policy: 'allow' };

  it('4: ACLs on, default allow, no tokens yet: a roll, the ACL system set up once the servers run with it', async () => {
    withVars({ ...ACL_ALLOW, consul_acl_tokens: false });
    const { r, seen } = await watchedDeploy({ ca: ca() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(restartedLine(r.stdout).sort(), hosts.map((h) => h.name).sort());
    // Before the roll the servers ran without ACLs; after it, the bootstrap and every token.
    assert.match(r.stdout, /ok: \[\w+\] ACL system and tokens\n/);
    assert.match(r.stdout, /changed: \[\w+\] ACL system and tokens, after the servers' roll/);
    assert.ok(!(r.stdout + r.stderr).includes(readFileSync(tokenFile, 'utf8').trim()));
    assertLeaderThroughout(seen);
  });

  it("5: the agents' tokens in their configs: a reload, no restart", async () => {
    const started = await startedAt(hosts);
    withVars(ACL_ALLOW);
    const { r, seen } = await watchedDeploy({ ca: ca() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of hosts) assert.match(r.stdout, new RegExp(`changed: \\[${h.name}\\] reload consul`));
    assert.deepEqual(await startedAt(hosts), started, 'not restarted');
    assertLeaderThroughout(seen);
  });

  it('6: default_policy deny: a roll; a request without a token is refused, the cluster verifies', async () => {
    withVars({ consul_tls_enable: true, consul_acl_enable: true });
    const { r, seen } = await watchedDeploy({ ca: ca() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(restartedLine(r.stdout).sort(), hosts.map((h) => h.name).sort());
    assertLeaderThroughout(seen);
    const anonymous = await ssh(
      servers[0]!.name,
      "curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:8500/v1/kv/drover-e2e",
    );
    assert.equal(anonymous.stdout, '403');
    const v = await drover(['verify', '--deep', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
