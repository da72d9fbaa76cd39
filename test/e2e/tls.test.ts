/**
 * TLS end to end on the lab: with `consul_tls_enable: true` a first deploy makes a CA beside the
 * inventory (key 0600, never printed), gives every server a certificate for
 * server.<dc>.<domain> (a domain of its own here: example.internal) and its address (checked with openssl against that CA), clients get theirs
 * through auto_encrypt, the HTTPS API answers on 8501 with the CA while plain HTTP is left on
 * 127.0.0.1 only, verify passes, and a second deploy changes nothing. Hosts come from pickHosts().
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pickHosts, ssh, sshOk } from '../lab/lab.js';
import { trustBundle } from '../../src/tls/ca-bundle.js';
import {
  CONFIG_DIR,
  cleanUp,
  drover,
  parseRecap,
  startedAt,
  watchServers,
  writeLabInventory,
} from './drover-cli.js';

describe('a deploy with TLS on', () => {
  const hosts = pickHosts(5);
  const servers = hosts.slice(0, 3);
  const clients = hosts.slice(3);
  // A domain of its own: the servers' name, the certificates, drover's HTTPS checks and DNS follow it.
  const inventory = writeLabInventory({
    servers,
    clients,
    vars: { consul_tls_enable: true, consul_domain: 'example.internal' },
  });
  const tlsDir = join(dirname(inventory), 'inventory.tls');
  const caFile = join(tlsDir, 'consul-agent-ca.pem');
  const caKeyFile = join(tlsDir, 'consul-agent-ca-key.pem');
  const s1 = servers[0]!;
  let firstOutput = '';

  before(() => cleanUp(hosts));
  after(async () => {
    await cleanUp(hosts);
    rmSync(dirname(inventory), { recursive: true, force: true });
  });

  it('deploys: a CA is made beside the inventory, its key 0600 and never printed', async () => {
    const r = await drover(['deploy', '-i', inventory]);
    firstOutput = r.stdout + r.stderr;
    assert.equal(r.code, 0, firstOutput);
    assert.equal(statSync(caKeyFile).mode & 0o777, 0o600);
    const keyBody = readFileSync(caKeyFile, 'utf8').split('\n')[1]!;
    assert.ok(keyBody.length > 20);
    assert.ok(!firstOutput.includes(keyBody), 'the CA key is in the output');
    assert.doesNotMatch(firstOutput, /PRIVATE KEY/);
    assert.match(firstOutput, /CA .*consul-agent-ca\.pem .*expires \d{4}-\d\d-\d\d \(\d+ days\)/);
    const recap = parseRecap(r.stdout);
    for (const h of hosts) assert.ok(recap[h.name]!['changed']! > 0, `${h.name} changed`);
  });

  it('gives each server a certificate for server.lab.example.internal and its address, signed by the CA', async () => {
    const tls = `${CONFIG_DIR}/tls`;
    for (const s of servers) {
      const listing = await sshOk(
        s.name,
        `stat -c '%n %a %u:%g' ${tls}/lab-server-consul-0.pem ${tls}/lab-server-consul-0-key.pem`,
      );
      assert.match(listing, /lab-server-consul-0\.pem 644 100:1000/, listing);
      assert.match(listing, /lab-server-consul-0-key\.pem 600 100:1000/, listing);
      const cert = join(dirname(inventory), `${s.name}.pem`);
      writeFileSync(cert, await sshOk(s.name, `cat ${tls}/lab-server-consul-0.pem`));
      const verified = execFileSync(
        'openssl',
        [
          'verify',
          '-CAfile',
          caFile,
          '-verify_hostname',
          'server.lab.example.internal',
          '-verify_ip',
          s.address,
          cert,
        ],
        { encoding: 'utf8' },
      );
      assert.match(verified, /: OK$/m);
    }
    // The CA's key never leaves the operator's machine.
    const keyBody = readFileSync(caKeyFile, 'utf8').split('\n')[1]!;
    for (const h of hosts) {
      const found = await ssh(h.name, `grep -rlF '${keyBody}' /opt/platform 2>/dev/null`);
      assert.equal(found.stdout.trim(), '', `${h.name} holds the CA key`);
    }
  });

  it('serves HTTPS on 8501 with the CA, and plain HTTP only on 127.0.0.1', async () => {
    await ssh(s1.name, `cat > /tmp/drover-ca.pem <<'EOF'\n${readFileSync(caFile, 'utf8')}EOF`);
    const leader = await sshOk(
      s1.name,
      `curl -s -m 5 --cacert /tmp/drover-ca.pem --resolve server.lab.example.internal:8501:${s1.address} https://server.lab.example.internal:8501/v1/status/leader`,
    );
    assert.match(leader, /^"10\.213\.0\.\d+:8300"$/);
    const insecure = await ssh(
      s1.name,
      `curl -s -m 5 -o /dev/null https://${s1.address}:8501/v1/status/leader`,
    );
    assert.notEqual(insecure.code, 0, 'an HTTPS client without the CA must not trust the agent');
    const plainOutside = await ssh(s1.name, `curl -s -m 5 http://${s1.address}:8500/v1/status/leader`);
    assert.notEqual(plainOutside.code, 0, 'plain HTTP answers on the cluster address');
    assert.match(await sshOk(s1.name, 'curl -s -m 5 http://127.0.0.1:8500/v1/status/leader'), /8300/);
  });

  it('clients join through auto_encrypt, and verify --deep passes, DNS on the cluster domain', async () => {
    const v = await drover(['verify', '--deep', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(await sshOk(s1.name, `cat ${CONFIG_DIR}/consul.json`), /"domain": "example\.internal"/);
    const dns = await sshOk(s1.name, 'dig +short -p 8600 @127.0.0.1 consul.service.example.internal');
    assert.deepEqual(dns.trim().split('\n').sort(), servers.map((s) => s.address).sort());
    const members = await sshOk(s1.name, 'docker exec consul consul members');
    for (const c of clients) assert.match(members, new RegExp(`^${c.name}\\s+\\S+\\s+alive\\s+client`, 'm'));
  });

  it('a second deploy changes nothing and keeps every certificate', async () => {
    const before = await sshOk(s1.name, `sha256sum ${CONFIG_DIR}/tls/lab-server-consul-0.pem`);
    const r = await drover(['deploy', '-i', inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const [h, counts] of Object.entries(parseRecap(r.stdout)))
      assert.equal(counts['changed'], 0, `${h} changed`);
    assert.equal(await sshOk(s1.name, `sha256sum ${CONFIG_DIR}/tls/lab-server-consul-0.pem`), before);
  });

  it('rotate-tls gives every server a new key and certificate by reload: served at once, nothing restarted', async () => {
    const ca = readFileSync(caFile, 'utf8');
    const fileSerials = () =>
      Promise.all(
        servers.map(async (h) => {
          const pem = await sshOk(h.name, `cat ${CONFIG_DIR}/tls/lab-server-consul-0.pem`);
          return new X509Certificate(pem).serialNumber;
        }),
      );
    const before = await fileSerials();
    const started = await startedAt(hosts);
    assert.deepEqual(await Promise.all(servers.map((h) => servedSerial(h.address, ca))), before);
    const r = await drover(['rotate-tls', '-i', inventory, '--yes']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const after = await fileSerials();
    for (let i = 0; i < servers.length; i++)
      assert.notEqual(after[i], before[i], `${servers[i]!.name} kept its certificate`);
    // Reloaded: HTTPS now presents the new certificate, and no agent was restarted.
    assert.deepEqual(await Promise.all(servers.map((h) => servedSerial(h.address, ca))), after);
    assert.deepEqual(await startedAt(hosts), started);
    for (const h of servers) assert.match(r.stdout, new RegExp(`changed: \\[${h.name}\\] reload consul`));
    assert.ok(!(r.stdout + r.stderr).includes('PRIVATE KEY'), 'no key in the output');
    const again = await drover(['deploy', '-i', inventory]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    for (const [h, counts] of Object.entries(parseRecap(again.stdout)))
      assert.equal(counts['changed'], 0, `${h} changed after the rotation`);
  });

  it('rotate-tls --ca replaces the CA in three rolls of reloads: a leader throughout, nothing restarted, the old CA trusted nowhere', async () => {
    const oldCa = readFileSync(caFile, 'utf8');
    const nextCaFile = join(tlsDir, 'consul-agent-ca.next.pem');
    const started = await startedAt(hosts);
    // The watcher trusts what drover trusts at each moment, as an operator's tools would.
    const trustedNow = () =>
      trustBundle([
        oldCa,
        ...[caFile, nextCaFile].filter((f) => existsSync(f)).map((f) => readFileSync(f, 'utf8')),
      ]);
    const watch = watchServers(servers, 300, [servers], { ca: trustedNow });
    const r = await drover(['rotate-tls', '--ca', '-i', inventory, '--yes']);
    const seen = await watch.stop();
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, out);
    for (const step of ['step 1 of 3', 'step 2 of 3', 'step 3 of 3', 'CA rotation done'])
      assert.ok(out.includes(step), `${step} is not in the output`);
    assert.ok(!out.includes('PRIVATE KEY'), 'a key is in the output');
    const newCa = readFileSync(caFile, 'utf8');
    assert.notEqual(newCa, oldCa);
    // Servers and clients kept trusting each other: no election (the lab's heartbeat timeout is 1 s).
    assert.ok(seen.rounds > 10, `${seen.rounds} rounds`);
    assert.ok(seen.fewest >= 2, `only ${seen.fewest} servers answered in a round`);
    assert.ok(seen.longestLeaderlessMs < 1000, `${seen.longestLeaderlessMs} ms without a leader`);
    assert.deepEqual(await startedAt(hosts), started, 'an agent was restarted');
    for (const h of hosts) {
      const onHost = await sshOk(h.name, `cat ${CONFIG_DIR}/tls/consul-agent-ca.pem`);
      assert.equal(onHost, newCa, `${h.name} does not trust exactly the new CA`);
    }
    for (const s of servers) {
      await servedSerial(s.address, newCa);
      await assert.rejects(
        servedSerial(s.address, oldCa),
        `${s.name} still presents the old CA's certificate`,
      );
    }
    // A client reaches the servers over RPC, checking their new certificates.
    await sshOk(clients[0]!.name, 'docker exec consul consul kv put drover/ca-rotated yes');
    const members = await sshOk(s1.name, 'docker exec consul consul members');
    for (const h of hosts) assert.match(members, new RegExp(`^${h.name}\\s+\\S+\\s+alive`, 'm'));
    for (const leftover of ['next', 'previous', 'retired'])
      assert.equal(existsSync(join(tlsDir, `consul-agent-ca.${leftover}.pem`)), false, leftover);
    const again = await drover(['deploy', '-i', inventory]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    for (const [h, counts] of Object.entries(parseRecap(again.stdout)))
      assert.equal(counts['changed'], 0, `${h} changed after the CA rotation`);
  });
});

/** The serial of the certificate an agent's HTTPS listener presents, checked against `ca`. */
function servedSerial(address: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: address, port: 8501, ca, servername: 'server.lab.example.internal', timeout: 5000 },
      () => {
        const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
        socket.end();
        resolve(serial);
      },
    );
    socket.on('timeout', () => socket.destroy(new Error(`${address}:8501 did not answer`)));
    socket.on('error', reject);
  });
}
