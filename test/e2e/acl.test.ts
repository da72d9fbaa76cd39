/**
 * ACLs end to end on the lab, with TLS: with `consul_acl_enable: true` a first deploy makes the
 * management token beside the inventory (0600, never printed), bootstraps the ACL system once
 * with it, and gives every agent its own token in its config; the cluster then refuses a
 * request without a token, answers one with the token over HTTPS, resolves DNS with the
 * agents' default (DNS) token, verifies, and a second deploy changes nothing. No token is in
 * drover's output or on any host's process list. Hosts come from pickHosts().
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pickHosts, ssh, sshOk } from '../lab/lab.js';
import { CONFIG_DIR, cleanUp, drover, parseRecap, writeLabInventory } from './drover-cli.js';

describe('a deploy with ACLs and TLS on', () => {
  const hosts = pickHosts(5);
  const servers = hosts.slice(0, 3);
  const clients = hosts.slice(3);
  const inventory = writeLabInventory({
    servers,
    clients,
    vars: { consul_tls_enable: true, consul_acl_enable: true },
  });
  const tokenFile = join(dirname(inventory), 'inventory.acl', 'management.token');
  const s1 = servers[0]!;
  let output = '';
  const token = (): string => readFileSync(tokenFile, 'utf8').trim();

  before(() => cleanUp(hosts));
  after(async () => {
    await cleanUp(hosts);
    rmSync(dirname(inventory), { recursive: true, force: true });
  });

  it('deploys: the management token is made beside the inventory, 0600, and the ACL system bootstrapped with it', async () => {
    const r = await drover(['deploy', '-i', inventory]);
    output = r.stdout + r.stderr;
    assert.equal(r.code, 0, output);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.match(token(), /^[0-9a-f-]{36}$/);
    assert.match(output, /wrote a new ACL management token to .*management\.token/);
    assert.match(output, /bootstrapped the ACL system/);
    assert.ok(!output.includes(token()), 'the management token is in the output');
    const recap = parseRecap(r.stdout);
    for (const h of hosts) assert.ok(recap[h.name]!['changed']! > 0, `${h.name} changed`);
  });

  it('refuses a request without a token and answers the management token over HTTPS', async () => {
    const ca = `${CONFIG_DIR}/tls/consul-agent-ca.pem`;
    const anonymous = await sshOk(
      s1.name,
      `curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:8500/v1/kv/drover-e2e`,
    );
    assert.equal(anonymous, '403');
    // The token goes in a 0600 header file, so curl carries it on no command line.
    await sshOk(s1.name, `umask 077; cat > /tmp/drover-e2e-header <<'EOF'\nX-Consul-Token: ${token()}\nEOF`);
    const withToken = await ssh(
      s1.name,
      `curl -s -m 5 -o /dev/null -w '%{http_code}' -H @/tmp/drover-e2e-header --cacert ${ca} --resolve server.lab.consul:8501:${s1.address} https://server.lab.consul:8501/v1/kv/drover-e2e; rm -f /tmp/drover-e2e-header`,
    );
    assert.equal(withToken.stdout, '404', withToken.stderr);
  });

  it('gives each agent its own token in its config, never on a process list', async () => {
    const agentTokens = new Set<string>();
    for (const h of hosts) {
      const config = JSON.parse(await sshOk(h.name, `cat ${CONFIG_DIR}/consul.json`)) as {
        acl: { enabled: boolean; default_policy: string; tokens: { agent: string; default: string } };
      };
      assert.equal(config.acl.enabled, true);
      assert.equal(config.acl.default_policy, 'deny');
      agentTokens.add(config.acl.tokens.agent);
      assert.ok(!output.includes(config.acl.tokens.agent), `${h.name}'s agent token is in the output`);
      const ps = await sshOk(h.name, 'ps -eo args');
      for (const secret of [token(), config.acl.tokens.agent, config.acl.tokens.default])
        assert.ok(!ps.includes(secret), `${h.name} shows a token on its process list`);
    }
    assert.equal(agentTokens.size, hosts.length, 'one agent token per node');
  });

  it('verifies, and a second deploy changes nothing and bootstraps nothing', async () => {
    const v = await drover(['verify', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const r = await drover(['deploy', '-i', inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /bootstrapped/);
    assert.match(r.stdout, /ok: \[\w+\] ACL system and tokens/);
    for (const [h, counts] of Object.entries(parseRecap(r.stdout))) assert.equal(counts['changed'], 0, h);
  });
});
