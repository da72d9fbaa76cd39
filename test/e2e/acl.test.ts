/**
 * ACLs end to end on the lab, with TLS: with `consul_acl_enable: true` a first deploy makes the
 * management token beside the inventory (0600, never printed), bootstraps the ACL system once
 * with it, and gives every agent its own token in its config; the cluster then refuses a
 * request without a token, answers one with the token over HTTPS, resolves DNS with the
 * agents' default (DNS) token, verifies, and a second deploy changes nothing. drover's
 * operator token (derived from the management token) reads what drover needs over HTTPS, and
 * drover runs with it alone. restart, rotate-gossip-key, rotate-tls, reset-node, upgrade and
 * members --prune pass under deny. No token is in drover's output, its events, the hosts' audit
 * lines or any host's process list. Hosts come from pickHosts().
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  CONSUL_IMAGE,
  CONSUL_IMAGE_NEXT,
  pickHosts,
  run,
  SSH_CONFIG,
  ssh,
  sshOk,
  waitFor,
} from '../lab/lab.js';
import { derivedTokenSecret } from '../../src/consul/api/acl.js';
import { Secret } from '../../src/shell/secret.js';
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
  const eventsFile = join(dirname(inventory), 'deploy.ndjson');
  /** The operator token as an operator finds it (`consul acl token read`): derived, never stored. */
  const operatorToken = () => derivedTokenSecret(new Secret(token()), 'operator').reveal();
  const s1 = servers[0]!;
  let output = '';
  const token = (): string => readFileSync(tokenFile, 'utf8').trim();
  const startedAt = () =>
    Promise.all(hosts.map((h) => sshOk(h.name, "docker inspect -f '{{.State.StartedAt}}' consul")));
  const PS_LOG = '/tmp/drover-e2e-ps.log';
  const STOP = '/tmp/drover-e2e-ps.stop';

  before(() => cleanUp(hosts));
  after(async () => {
    await cleanUp(hosts);
    rmSync(dirname(inventory), { recursive: true, force: true });
  });

  it('deploys: the management token is made beside the inventory, 0600, and the ACL system bootstrapped with it', async () => {
    const r = await drover(['deploy', '-i', inventory, '--events', eventsFile]);
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
    // The operator token reads the Raft configuration over 8501, and has no right to the KV store.
    await sshOk(
      s1.name,
      `umask 077; cat > /tmp/drover-e2e-header <<'EOF'\nX-Consul-Token: ${operatorToken()}\nEOF`,
    );
    const https = `https://server.lab.consul:8501`;
    const asOperator = await ssh(
      s1.name,
      `for p in /v1/operator/raft/configuration /v1/kv/drover-e2e; do curl -s -m 5 -o /dev/null -w '%{http_code} ' -H @/tmp/drover-e2e-header --cacert ${ca} --resolve server.lab.consul:8501:${s1.address} ${https}$p; done; rm -f /tmp/drover-e2e-header`,
    );
    assert.equal(asOperator.stdout.trim(), '200 403', asOperator.stderr);
  });

  it('runs with the operator token alone (DROVER_ACL_TOKEN): verify --deep and members pass', async () => {
    const env = { DROVER_ACL_TOKEN: operatorToken() };
    for (const args of [['verify', '--deep'], ['members']]) {
      const r = await drover([...args, '-i', inventory], 240, env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(!(r.stdout + r.stderr).includes(env.DROVER_ACL_TOKEN), 'the operator token is in the output');
    }
  });

  it('gives each agent its own tokens in its config, never in output, events, audit lines or a process list', async () => {
    const agentTokens = new Set<string>();
    const events = readFileSync(eventsFile, 'utf8');
    for (const h of hosts) {
      const config = JSON.parse(await sshOk(h.name, `cat ${CONFIG_DIR}/consul.json`)) as {
        acl: {
          enabled: boolean;
          default_policy: string;
          tokens: { agent: string; default: string; config_file_service_registration: string };
        };
      };
      assert.equal(config.acl.enabled, true);
      assert.equal(config.acl.default_policy, 'deny');
      agentTokens.add(config.acl.tokens.agent);
      const secrets = [
        token(),
        operatorToken(),
        config.acl.tokens.agent,
        config.acl.tokens.default,
        config.acl.tokens.config_file_service_registration,
      ];
      const ps = await sshOk(h.name, 'ps -eo args');
      const audit = await sshOk(h.name, 'cat /var/log/drover/audit.log');
      assert.match(audit, /"command":"drover deploy/);
      for (const secret of secrets) {
        assert.ok(!output.includes(secret), `a token of ${h.name} is in the output`);
        assert.ok(!events.includes(secret), `a token of ${h.name} is in the events`);
        assert.ok(!audit.includes(secret), `${h.name}'s audit log holds a token`);
        assert.ok(!ps.includes(secret), `${h.name} shows a token on its process list`);
      }
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

  it("applies a reload-safe change with consul reload, the session's token never on a process list", async () => {
    writeFileSync(
      inventory,
      readFileSync(inventory, 'utf8').replace('  vars:\n', '  vars:\n    consul_log_level: "debug"\n'),
    );
    const started = await startedAt();
    // Every process list on the servers, sampled while the deploy runs (bounded by `timeout`).
    const watchers = servers.map((h) =>
      ssh(
        h.name,
        `rm -f ${STOP}; timeout 120 sh -c 'while [ ! -e ${STOP} ]; do ps -eo args; done' > ${PS_LOG}`,
        150,
      ),
    );
    const r = await drover(['deploy', '-i', inventory]);
    await Promise.all(servers.map((h) => sshOk(h.name, `touch ${STOP}`)));
    await Promise.all(watchers);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of hosts) assert.match(r.stdout, new RegExp(`changed: \\[${h.name}\\] reload consul`));
    assert.deepEqual(await startedAt(), started, 'no agent restarted');
    let sawReload = false;
    for (const h of servers) {
      const ps = await sshOk(h.name, `cat ${PS_LOG}; rm -f ${PS_LOG} ${STOP}`);
      assert.match(ps, /consul agent/, `${h.name}: the sampler ran`);
      sawReload ||= /consul reload/.test(ps);
      assert.ok(!ps.includes(token()), `${h.name} showed the management token on its process list`);
    }
    assert.ok(sawReload, 'the samplers caught a consul reload while it ran');
    assert.ok(!(r.stdout + r.stderr).includes(token()));
  });

  it('verify --deep reaches every agent over HTTPS at its address, clients through the Connect CA', async () => {
    const r = await drover(['verify', '--deep', '-i', inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of hosts)
      assert.match(
        r.stdout,
        new RegExp(`ok   ${h.name}: http ok at https://${h.address.replace(/\./g, '\\.')}:8501, `),
      );
  });

  it('rolls, rotates the gossip key and the TLS certificates, resets a server and upgrades, all under default_policy deny', async () => {
    const restart = await drover(['restart', '-i', inventory, '--yes'], 300);
    assert.equal(restart.code, 0, restart.stdout + restart.stderr);
    const rotate = await drover(['rotate-gossip-key', '-i', inventory, '--yes']);
    assert.equal(rotate.code, 0, rotate.stdout + rotate.stderr);
    const rotateTls = await drover(['rotate-tls', '-i', inventory, '--yes'], 300);
    assert.equal(rotateTls.code, 0, rotateTls.stdout + rotateTls.stderr);
    // reset-node prunes the old entry with the in-container CLI (the token on its stdin) and is
    // done only once the server votes again: the upgrade's pre-flight right after accepts it.
    const reset = await drover(['reset-node', '-i', inventory, servers[1]!.name, '--yes'], 300);
    assert.equal(reset.code, 0, reset.stdout + reset.stderr);
    assert.match(reset.stdout, /force-leave -prune/);
    assert.match(reset.stdout, new RegExp(`ok: \\[${servers[1]!.name}\\] the server votes again`));
    const members = await drover(['members', '-i', inventory]);
    assert.equal(members.code, 0, members.stdout + members.stderr);
    const upgrade = await drover(['upgrade', '-i', inventory, '--image', CONSUL_IMAGE_NEXT, '--yes'], 300);
    assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
    for (const h of hosts)
      assert.equal(
        (await sshOk(h.name, "docker inspect -f '{{.Config.Image}}' consul")).trim(),
        CONSUL_IMAGE_NEXT,
      );
    const v = await drover(['verify', '--deep', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const all = [restart, rotate, rotateTls, reset, members, upgrade, v]
      .map((x) => x.stdout + x.stderr)
      .join('\n');
    assert.ok(!all.includes(token()), 'the management token is in the output');
  });

  it('members --prune removes a ghost through the in-container CLI, the token on its stdin', async () => {
    const c2 = clients[1]!;
    const GHOST = '4f1c2a9e7b3d';
    // The inventory follows the upgrade, so the deploy below only repairs c2.
    writeFileSync(inventory, readFileSync(inventory, 'utf8').replace(CONSUL_IMAGE, CONSUL_IMAGE_NEXT));
    // c2's agent replaced by hand by one under another name, as an operator's mistake would be:
    // its own data dir (a new node id), the cluster's current gossip key, and a token that may
    // name that node (auto_encrypt signs only for a node the token can write). The extra config
    // file goes over scp from a 0600 file here, so the token is on no command line.
    const extra = join(dirname(inventory), 'ghost.json');
    writeFileSync(
      extra,
      JSON.stringify({
        encrypt: readFileSync(join(dirname(inventory), 'inventory.gossip.key'), 'utf8').trim(),
        acl: { tokens: { agent: token() } },
      }),
      { mode: 0o600 },
    );
    await sshOk(c2.name, 'mkdir -p /opt/platform/ghost/data && chmod 0700 /opt/platform/ghost');
    const copy = await run('scp', [
      '-F',
      SSH_CONFIG,
      '-q',
      extra,
      `${c2.name}:/opt/platform/ghost/ghost.json`,
    ]);
    assert.equal(copy.code, 0, copy.stderr);
    await sshOk(
      c2.name,
      'chown -R 100:1000 /opt/platform/ghost && docker rm -f consul >/dev/null && docker run -d --name consul --net=host ' +
        `-v ${CONFIG_DIR}:/consul/config -v /opt/platform/ghost/data:/consul/data -v /opt/platform/ghost/ghost.json:/ghost.json ` +
        `${CONSUL_IMAGE_NEXT} agent -node=${GHOST} -config-file=/ghost.json`,
    );
    const members = (...extraArgs: string[]) => drover(['members', '-i', inventory, ...extraArgs]);
    await waitFor('the ghost listed', 60, async () => (await members()).stdout.includes(GHOST));
    const repaired = await drover(['deploy', '-i', inventory]);
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    await waitFor('the ghost not alive', 60, async () =>
      new RegExp(`${GHOST}\\s+\\S+\\s+(failed|left)`).test((await members()).stdout),
    );
    const seen = await members();
    assert.equal(seen.code, 2, seen.stdout + seen.stderr);
    assert.match(seen.stdout, new RegExp(`${GHOST}.*not in the inventory\\s+yes \\(--prune\\)`));
    const pruned = await members('--prune', '--yes');
    assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
    assert.match(pruned.stdout + pruned.stderr, new RegExp(`pruned ${GHOST}`));
    assert.match(pruned.stdout, /ghosts: none/);
    assert.ok(!(pruned.stdout + pruned.stderr).includes(token()));
  });
});
