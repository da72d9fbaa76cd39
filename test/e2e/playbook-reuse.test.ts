/**
 * examples/reuse/site.yaml on real hosts: a role (defaults, template, handler), a loop, an
 * include chosen per host, an import, and a block whose rescue runs once; a second run changes
 * nothing; --list-tasks connects to nothing.
 *
 * Uses pickHosts(): h1.. in CI, LAB_FIRST_HOST=8 while developing beside someone else's tests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pickHosts, ssh, sshOk } from '../lab/lab.js';
import { drover, parseRecap, ROOT, writeLabInventory } from './drover-cli.js';

const SITE = join(ROOT, 'examples', 'reuse', 'site.yaml');
const DIR = '/srv/drover-example';

describe('a playbook with a role, a loop, includes and a block, on the lab', () => {
  const hosts = pickHosts(3);
  const [server, ...clients] = hosts;
  const inventory = writeLabInventory({ servers: [server!], clients, vars: { ssh_connect_timeout: 3 } });
  const clean = () => Promise.all(hosts.map((h) => ssh(h.name, `rm -rf ${DIR}`)));
  before(clean);
  after(clean);

  it('runs the role first, each host its own include, the rescue once, the handler at the end', async () => {
    const r = await drover(['run', SITE, '-i', inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of hosts) {
      const role = h === server ? 'servers' : 'clients';
      assert.equal(
        await sshOk(h.name, `cat ${DIR}/greeting.txt`),
        `hello from ${h.name}\nnode ${h.name} in ${role}\n`,
      );
      assert.equal(await sshOk(h.name, `cat ${DIR}/state/group.txt`), `${role.slice(0, -1)} ${h.name}\n`);
      assert.equal(await sshOk(h.name, `cat ${DIR}/state/marker`), 'made by the rescue\n');
      assert.equal(
        (await ssh(h.name, `test -f ${DIR}/state/greeting-changed`)).code,
        0,
        'the role handler ran',
      );
      assert.equal(
        (await ssh(h.name, `test -d ${DIR}/logs && test -d ${DIR}/state`)).code,
        0,
        'the loop made both',
      );
    }
    assert.ok(
      r.stdout.indexOf('scratch : greeting') < r.stdout.indexOf('one folder per item'),
      'role tasks first',
    );
    assert.match(r.stdout, /included: .*tasks\/server\.yaml/);
    assert.match(r.stdout, /included: .*tasks\/client\.yaml/);
  });

  it('changes nothing when run again: the marker is there, so no rescue; no handler', async () => {
    const r = await drover(['run', SITE, '-i', inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const [host, counts] of Object.entries(parseRecap(r.stdout)))
      assert.equal(counts['changed'], 0, `${host}: ${r.stdout}`);
  });

  it('--list-tasks shows the role’s, the imported and the block’s tasks, and connects to nothing', async () => {
    // The same hosts at an address nothing answers on: a connection would fail the command.
    const nowhere = hosts.map((h, i) => ({ ...h, address: `10.213.0.${251 + i}` }));
    const offline = writeLabInventory({
      servers: nowhere.slice(0, 1),
      clients: nowhere.slice(1),
      vars: { ssh_connect_timeout: 3 },
    });
    const r = await drover(['run', SITE, '-i', offline, '--list-tasks']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const task of [
      'scratch : greeting',
      'one folder per item',
      'ssh answers on the node itself',
      'look for the marker',
    ])
      assert.ok(r.stdout.includes(task), `${task}\n${r.stdout}`);
  });
});
