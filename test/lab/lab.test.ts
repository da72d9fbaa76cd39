/**
 * The lab's own tests: hosts are isolated machines with real sshd and dockerd, images come from
 * the lab registry over the lab network, and every fault does what it says and can be undone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fault,
  LAB_DIR,
  labExec,
  labHosts,
  REGISTRY,
  run,
  SSH_KEY,
  ssh,
  sshOk,
  waitFor,
  type LabHost,
} from './lab.js';

const TCP_PROBE = (address: string, port: number) =>
  `timeout 3 bash -c 'exec 3<>/dev/tcp/${address}/${port}' 2>/dev/null && echo open || echo closed`;

describe('lab hosts', () => {
  let hosts: LabHost[];
  before(() => {
    hosts = labHosts();
    assert.ok(hosts.length >= 3, 'the lab tests need at least 3 hosts');
  });

  it('answer over SSH with strict host key checking, each with its own name and address', async () => {
    for (const h of hosts) {
      const out = await sshOk(h.name, 'hostname; ip -4 -o addr show dev eth0');
      const [name, addr] = out.split('\n');
      assert.equal(name, h.name);
      assert.match(addr ?? '', new RegExp(`inet ${h.address.replace(/\./g, '\\.')}/24`));
    }
  });

  it('reject a host whose key is not in known_hosts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-kh-'));
    writeFileSync(join(dir, 'known_hosts'), '');
    const h = hosts[0]!;
    const r = await run('ssh', [
      '-i',
      SSH_KEY,
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o',
      'ConnectTimeout=3',
      `root@${h.address}`,
      'true',
    ]);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Host key verification failed/);
  });

  it('have no default route: only 10.213.0.0/24 is reachable', async () => {
    for (const h of hosts) {
      const routes = await sshOk(h.name, 'ip -4 route show');
      assert.equal(routes.trim(), `10.213.0.0/24 dev eth0 proto kernel scope link src ${h.address}`);
    }
  });

  it('see only their own /opt, /root and processes', async () => {
    const [a, b] = [hosts[0]!, hosts[1]!];
    await sshOk(a.name, 'echo mine > /opt/lab-isolation-marker');
    try {
      assert.equal((await ssh(b.name, 'cat /opt/lab-isolation-marker')).code, 1);
      assert.equal((await sshOk(a.name, 'cat /opt/lab-isolation-marker')).trim(), 'mine');
      // Each host runs exactly one sshd listener and one dockerd of its own; PID 1 is its init.
      const ps = await sshOk(b.name, 'ps -eo pid=,comm=');
      assert.equal(ps.split('\n').filter((l) => /\sdockerd$/.test(l)).length, 1);
      assert.match(ps, /^\s*1 tini$/m);
    } finally {
      await sshOk(a.name, 'rm -f /opt/lab-isolation-marker');
    }
  });

  it("have their own /etc, /srv, /home, /var and /usr/local over the machine's, which they never change", async () => {
    const [a, b] = [hosts[0]!, hosts[1]!];
    const marker = 'lab-layer-marker';
    const paths = ['/etc', '/srv', '/home', '/var', '/usr/local', '/var/lib'].map((d) => `${d}/${marker}`);
    await sshOk(a.name, paths.map((p) => `echo ${a.name} > ${p}`).join(' && '));
    try {
      for (const p of paths) {
        assert.equal((await sshOk(a.name, `cat ${p}`)).trim(), a.name);
        assert.equal((await ssh(b.name, `test -e ${p}`)).code, 1, `${b.name} sees ${p}`);
        assert.equal(existsSync(p), false, `the machine sees ${p}`);
      }
      // The machine's files are there below (the lower layer), and a host's edit stays its own.
      assert.equal(
        (await sshOk(a.name, 'test -x /usr/sbin/sshd && test -s /etc/passwd && echo ok')).trim(),
        'ok',
      );
      await sshOk(a.name, `echo '# ${marker}' >> /etc/passwd`);
      assert.doesNotMatch(readFileSync('/etc/passwd', 'utf8'), new RegExp(marker));
      assert.doesNotMatch(await sshOk(b.name, 'cat /etc/passwd'), new RegExp(marker));
      // Identity files are the host's own.
      assert.equal((await sshOk(a.name, 'cat /etc/hostname')).trim(), a.name);
      assert.match(
        await sshOk(a.name, 'cat /etc/hosts'),
        new RegExp(`^${a.address.replace(/\./g, '\\.')} ${a.name}$`, 'm'),
      );
      assert.notEqual(
        (await sshOk(a.name, 'cat /etc/machine-id')).trim(),
        (await sshOk(b.name, 'cat /etc/machine-id')).trim(),
      );
    } finally {
      await ssh(a.name, `rm -f ${paths.join(' ')}; sed -i '/${marker}/d' /etc/passwd`);
    }
  });

  it('have the non-root login droverlab (key-only, passwordless sudo) that the machine lacks', async () => {
    for (const h of hosts) {
      const out = await sshOk(`droverlab@${h.name}`, 'id -un; echo $HOME; sudo -n id -u');
      assert.deepEqual(out.trim().split('\n'), ['droverlab', '/home/droverlab', '0']);
    }
    assert.doesNotMatch(readFileSync('/etc/passwd', 'utf8'), /^droverlab:/m);
  });

  it('run their own dockerd, pulling images from the lab registry over the lab network', async () => {
    const [a, b] = [hosts[0]!, hosts[1]!];
    await sshOk(a.name, `docker pull -q ${REGISTRY}/busybox:test`);
    await sshOk(a.name, `docker run -d --name lab-selftest --net=host ${REGISTRY}/busybox:test sleep 300`);
    try {
      assert.equal((await sshOk(a.name, "docker ps --format '{{.Names}}'")).trim(), 'lab-selftest');
      assert.doesNotMatch(await sshOk(b.name, "docker ps -a --format '{{.Names}}'"), /lab-selftest/);
      assert.equal(
        (await sshOk(a.name, "docker info --format '{{.Name}} {{.Driver}}'")).trim(),
        `${a.name} overlay2`,
      );
      // The container shares the host's network (--net=host) and so its address.
      assert.match(
        await sshOk(a.name, 'docker exec lab-selftest ip -4 -o addr show dev eth0'),
        new RegExp(a.address),
      );
    } finally {
      await ssh(a.name, 'docker rm -f lab-selftest');
    }
  });
});

describe('lab faults', () => {
  let h1: LabHost, h2: LabHost, h3: LabHost;
  before(() => {
    [h1, h2, h3] = labHosts() as [LabHost, LabHost, LabHost];
  });
  after(async () => {
    // Leave the lab as we found it even when a test failed halfway.
    for (const h of [h1, h2, h3]) {
      await run('bash', [
        '-c',
        `cd ${JSON.stringify(LAB_DIR)} && ./fault.sh thaw ${h.name}; ./fault.sh heal ${h.name}; ./fault.sh link-up ${h.name}`,
      ]);
    }
  });

  const reachable = async (h: LabHost) => (await ssh(h.name, 'true', 15)).code === 0;

  it('partition drops all traffic to one host until healed; others are unaffected', async () => {
    await fault('partition', h2.name);
    try {
      assert.equal(await reachable(h2), false);
      assert.equal(await reachable(h3), true);
      assert.equal((await sshOk(h1.name, TCP_PROBE(h2.address, 22))).trim(), 'closed');
    } finally {
      await fault('heal', h2.name);
    }
    assert.equal(await reachable(h2), true);
  });

  it('cut drops traffic between two hosts only', async () => {
    await fault('cut', h1.name, h2.name);
    try {
      assert.equal((await sshOk(h1.name, TCP_PROBE(h2.address, 22))).trim(), 'closed');
      assert.equal((await sshOk(h1.name, TCP_PROBE(h3.address, 22))).trim(), 'open');
      assert.equal(await reachable(h2), true);
    } finally {
      await fault('uncut', h1.name, h2.name);
    }
    assert.equal((await sshOk(h1.name, TCP_PROBE(h2.address, 22))).trim(), 'open');
  });

  it('link-down takes a host off the network; link-up brings it back', async () => {
    await fault('link-down', h3.name);
    try {
      assert.equal(await reachable(h3), false);
    } finally {
      await fault('link-up', h3.name);
    }
    await waitFor('h3 back after link-up', 20, () => reachable(h3));
  });

  it('sshd-kill refuses connections while other services keep running; sshd-start restores it', async () => {
    await fault('sshd-kill', h2.name);
    try {
      const r = await ssh(h2.name, 'true');
      assert.equal(r.code, 255);
      assert.match(r.stderr, /Connection refused/);
      const docker = await labExec(h2.name, ['docker', 'info', '--format', '{{.Name}}']);
      assert.equal(docker.stdout.trim(), h2.name);
    } finally {
      await fault('sshd-start', h2.name);
    }
    assert.equal(await reachable(h2), true);
  });

  it('dockerd-kill stops the Docker API; dockerd-start brings it back', async () => {
    await fault('dockerd-kill', h3.name);
    try {
      const r = await ssh(h3.name, 'docker ps');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Cannot connect to the Docker daemon/);
    } finally {
      await fault('dockerd-start', h3.name);
    }
    await sshOk(h3.name, 'docker ps');
  });

  it('freeze hangs a host (TCP accepted, nothing answers); thaw resumes it', async () => {
    await fault('freeze', h2.name);
    try {
      const r = await ssh(h2.name, 'true', 20);
      assert.equal(r.code, 255);
      assert.match(r.stderr, /timed out|Timeout/i);
    } finally {
      await fault('thaw', h2.name);
    }
    await waitFor('h2 answering after thaw', 20, () => reachable(h2));
  });

  it('crash kills every process of a host; boot restarts it on the same disk', async () => {
    await sshOk(h3.name, 'echo survives > /opt/lab-crash-marker');
    await fault('crash', h3.name);
    assert.equal(await reachable(h3), false);
    await fault('boot', h3.name);
    await waitFor('h3 back after boot', 30, () => reachable(h3));
    assert.equal(
      (await sshOk(h3.name, 'cat /opt/lab-crash-marker; rm /opt/lab-crash-marker')).trim(),
      'survives',
    );
    await sshOk(h3.name, 'docker ps');
  });
});
