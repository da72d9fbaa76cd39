/**
 * inventories/prod.example.yaml as an operator would use it, adapted to the lab only where the
 * lab differs: the lab's hosts, key, known_hosts and registry, and its non-root login
 * (`droverlab`, passwordless sudo) in place of `deploy`. Everything else is the example's own:
 * `become: true`, the gossip key from CONSUL_GOSSIP_KEY, and the config and data under /etc and
 * /var/lib, where operators keep them. The agents must run as the image's consul user (uid 100),
 * read the files drover wrote for them, and a second deploy and a reset-node must keep it so.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONSUL_IMAGE, KNOWN_HOSTS, pickHosts, ssh, sshOk, SSH_KEY, type LabHost } from '../lab/lab.js';
import { drover, parseRecap, ROOT } from './drover-cli.js';

const CONFIG_DIR = '/etc/consul.d';
const DATA_DIR = '/var/lib/consul';
// Made up for this test, in `consul keygen`'s format.
const GOSSIP_KEY = 'Yl7lW1Y2cCk6gq1m1yXy3dV0mZrQe4mC5cVXJ8QkOqI=';
const LOCK_WAIT = ['--lock-wait', '240'];

/** The example with the lab's hosts and connection, and the operators' usual dirs. */
function adaptedExample(servers: readonly LabHost[], clients: readonly LabHost[]): string {
  let text = readFileSync(join(ROOT, 'inventories', 'prod.example.yaml'), 'utf8');
  const swap = (from: RegExp, to: string) => {
    assert.match(text, from, `prod.example.yaml no longer has ${String(from)}`);
    text = text.replace(from, to);
  };
  swap(/ssh_user: deploy/, 'ssh_user: droverlab');
  swap(/ssh_key: .*/, `ssh_key: ${SSH_KEY}\n    ssh_known_hosts: ${KNOWN_HOSTS}`);
  swap(/consul_image: .*/, `consul_image: ${CONSUL_IMAGE}\n    consul_raft_multiplier: 1`);
  swap(/consul_config_dir: .*/, `consul_config_dir: ${CONFIG_DIR}`);
  swap(/consul_data_dir: .*/, `consul_data_dir: ${DATA_DIR}`);
  const names = ['s1', 's2', 's3', 'c1', 'c2'];
  [...servers, ...clients].forEach((h, i) =>
    swap(new RegExp(`(${names[i]}:\\n\\s+address: )\\S+`), `$1${h.address}`),
  );
  assert.match(text, /become: true/, 'the example logs in as a non-root user with become');
  const file = join(mkdtempSync(join(tmpdir(), 'drover-prod-')), 'prod.yaml');
  writeFileSync(file, text);
  return file;
}

const CLEAN = `docker rm -f consul >/dev/null 2>&1; rm -rf ${CONFIG_DIR} ${DATA_DIR} ${DATA_DIR}.reset-* /var/lib/drover /var/log/drover`;

describe('inventories/prod.example.yaml on the lab (non-root login, /etc/consul.d, /var/lib/consul)', () => {
  const hosts = pickHosts(5);
  const servers = hosts.slice(0, 3);
  const clients = hosts.slice(3);
  let inv: string;
  const run = (args: string[]) => drover(args, 300);

  before(async () => {
    // The example reads the key from the environment; drover inherits this test's.
    process.env['CONSUL_GOSSIP_KEY'] = GOSSIP_KEY;
    await Promise.all(hosts.map((h) => ssh(h.name, CLEAN)));
    inv = adaptedExample(servers, clients);
  });
  after(async () => {
    await Promise.all(hosts.map((h) => ssh(h.name, CLEAN)));
  });

  it('deploys a verified cluster whose agents run as uid 100 and read files only they can read', async () => {
    const r = await run(['deploy', '-i', inv, ...LOCK_WAIT]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(!(r.stdout + r.stderr).includes(GOSSIP_KEY), 'the gossip key never appears in output');
    // The example leaves TLS to drover: a new cluster gets it, under a non-root login too.
    assert.match(r.stdout + r.stderr, /TLS on, as for every new cluster/);
    for (const h of hosts) {
      // The agent process, seen from the host: the image dropped to its consul user.
      const agents = await sshOk(h.name, "ps -eo uid=,args= | grep '[c]onsul agent'");
      assert.match(agents, /^\s*100\s/m, `${h.name}: ${agents}`);
      assert.doesNotMatch(agents, /^\s*0\s/m, `${h.name}: an agent runs as root: ${agents}`);
      // What drover wrote: the consul user's, and the key-bearing file readable by it alone.
      const stats = await sshOk(
        h.name,
        `stat -c '%n %u:%g %a' ${CONFIG_DIR} ${CONFIG_DIR}/consul.json ${DATA_DIR}`,
      );
      assert.equal(
        stats.trim(),
        [
          `${CONFIG_DIR} 100:1000 750`,
          `${CONFIG_DIR}/consul.json 100:1000 600`,
          `${DATA_DIR} 100:1000 750`,
        ].join('\n'),
      );
      // The agent's own state, written as uid 100 (the entrypoint chowns only the top level).
      assert.equal((await sshOk(h.name, `find ${DATA_DIR} ! -uid 100 | head -3`)).trim(), '');
      // The login user cannot read the gossip key without sudo.
      const peek = await ssh(h.name, `su -s /bin/sh droverlab -c 'cat ${CONFIG_DIR}/consul.json'`);
      assert.notEqual(peek.code, 0);
    }
    const v = await run(['verify', '-i', inv]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });

  it('a second deploy changes nothing: the entrypoint finds nothing to chown, drover nothing to fix', async () => {
    const r = await run(['deploy', '-i', inv, ...LOCK_WAIT]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const recap = parseRecap(r.stdout);
    for (const h of ['s1', 's2', 's3', 'c1', 'c2']) assert.equal(recap[h]?.['changed'], 0, r.stdout);
  });

  it('a config change is validated as the agent user and rolled; reset-node keeps the data dir the agent user’s', async () => {
    const text = readFileSync(inv, 'utf8');
    writeFileSync(
      inv,
      text.replace('consul_datacenter: dc1', 'consul_datacenter: dc1\n    consul_log_level: debug'),
    );
    const events = join(dirname(inv), 'events.ndjson');
    const r = await run(['deploy', '-i', inv, '--events', events, ...LOCK_WAIT]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // Every host validated the change with the image's consul, as the agent's user.
    const validated = readFileSync(events, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { event: string; task?: string; host?: string; message?: string })
      .filter((e) => e.event === 'task_end' && e.task === 'agent config change class')
      .filter((e) => /consul validate passed/.test(e.message ?? ''))
      .map((e) => e.host);
    assert.deepEqual(validated.sort(), ['c1', 'c2', 's1', 's2', 's3'], r.stdout);
    const reset = await run(['reset-node', '-i', inv, 'c2', '--yes', ...LOCK_WAIT]);
    assert.equal(reset.code, 0, reset.stdout + reset.stderr);
    const c2 = clients[1]!;
    assert.equal((await sshOk(c2.name, `find ${DATA_DIR} ! -uid 100 | head -3`)).trim(), '');
    assert.match(await sshOk(c2.name, "ps -eo uid=,args= | grep '[c]onsul agent'"), /^\s*100\s/m);
    const v = await run(['verify', '-i', inv]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
