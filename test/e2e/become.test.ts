/**
 * drover as a non-root SSH user: with `become: true` every remote command runs through
 * `sudo -n`, so the deploy works exactly as root would; without it, the host refuses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pickHosts, ssh, sshOk, type LabHost } from '../lab/lab.js';
import { drover, writeLabInventory } from './drover-cli.js';

const CLEAN = 'docker rm -f consul >/dev/null 2>&1; rm -rf /opt/platform /var/lib/drover /var/log/drover';

describe('a non-root login with become', () => {
  let server: LabHost, client: LabHost;
  before(async () => {
    [server, client] = pickHosts(2) as [LabHost, LabHost];
    for (const h of [server, client]) await ssh(h.name, CLEAN);
  });
  after(async () => {
    for (const h of [server, client]) await ssh(h.name, CLEAN);
  });

  it('without become: refused by the host (no root, no docker socket), nothing written', async () => {
    const inv = writeLabInventory({ servers: [server], clients: [client], vars: { ssh_user: 'droverlab' } });
    const r = await drover(['deploy', '-i', inv]);
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /[Pp]ermission denied/);
    assert.equal((await ssh(server.name, 'test -e /opt/platform')).code, 1);
  });

  it('with become: true the deploy runs every command through sudo and the cluster verifies', async () => {
    const inv = writeLabInventory({
      servers: [server],
      clients: [client],
      vars: { ssh_user: 'droverlab', become: true },
    });
    const r = await drover(['deploy', '-i', inv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // Written through sudo for the image's consul user (uid 100), not as the login user.
    const owner = await sshOk(server.name, 'stat -c %u /opt/platform/consul/config/consul.json');
    assert.equal(owner.trim(), '100');
    assert.match(await sshOk(client.name, 'cat /var/log/drover/audit.log'), /"user":"root@/);
    const v = await drover(['verify', '-i', inv]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
