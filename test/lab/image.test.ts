/**
 * The lab's consul image behaves like hashicorp/consul wherever drover touches it: the agent runs
 * as the image's consul user (100:1000) under dumb-init, the entrypoint chowns the data and config
 * dirs (top level only) and fails on a read-only mount it cannot chown, honours the CONSUL_*
 * variables of the real entrypoint, and `docker exec` is root without the entrypoint. Each test
 * runs containers on one lab host over real SSH, with scratch dirs under that host's /tmp.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONSUL_IMAGE,
  CONSUL_IMAGE_NEXT,
  pickHosts,
  ssh,
  sshOk,
  waitFor,
  type LabHost,
  type RunResult,
} from './lab.js';

/** One shell word. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const PREFIX = 'image-test-';
const out = (r: RunResult) => `${r.stdout}${r.stderr}`;

/** uid, gid and argv of the agent inside a container (the stand-in's title is Consul's: `consul agent ...`). */
const AGENT_PROC = [
  'for p in /proc/[0-9]*; do',
  `  args=$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)`,
  '  case "$args" in "consul agent "*) ;; *) continue;; esac',
  `  echo "$(awk '/^Uid:/ {print $2}' $p/status) $(awk '/^Gid:/ {print $2}' $p/status) $args"`,
  'done',
].join('\n');

describe('lab consul image', () => {
  let host: LabHost;
  let dir: string; // scratch dir on the host, removed after the tests
  const sh = (command: string, timeoutSeconds = 60) => ssh(host.name, command, timeoutSeconds);
  const shOk = (command: string, timeoutSeconds = 60) => sshOk(host.name, command, timeoutSeconds);

  /** `docker run --rm` in the foreground (bounded), for entrypoints that are expected to exit. */
  const runOnce = (name: string, dockerArgs: string, args: string) =>
    sh(`timeout 60 docker run --rm --name ${PREFIX}${name} ${dockerArgs} ${CONSUL_IMAGE} ${args}`, 90);

  /** Starts an agent in the background and waits until it says it runs; returns the container name. */
  async function startAgent(name: string, dockerArgs: string, args: string): Promise<string> {
    const c = `${PREFIX}${name}`;
    await shOk(`docker run -d --name ${c} ${dockerArgs} ${CONSUL_IMAGE} ${args} >/dev/null`);
    await waitFor(`${c} running`, 30, async () => {
      const logs = await sh(`docker logs ${c} 2>&1`);
      if (out(logs).includes('Consul agent running!')) return true;
      const state = (await sh(`docker inspect -f '{{.State.Running}}' ${c}`)).stdout.trim();
      if (state === 'false') throw new Error(`${c} exited:\n${out(logs)}`);
      return false;
    });
    return c;
  }

  async function agentProcess(c: string): Promise<{ uid: number; gid: number; argv: string }> {
    const lines = (await shOk(`docker exec ${c} sh -c ${q(AGENT_PROC)}`)).trim().split('\n');
    assert.equal(lines.length, 1, `one agent process in ${c}: ${lines.join(' | ')}`);
    const [uid, gid, ...argv] = lines[0]!.split(' ');
    return { uid: Number(uid), gid: Number(gid), argv: argv.join(' ').trim() };
  }

  /** Owner, group and octal mode of a path on the host. */
  const stat = async (path: string) => (await shOk(`stat -c '%u:%g %a' ${q(path)}`)).trim();

  before(async () => {
    [host] = pickHosts(1) as [LabHost];
    await shOk(`docker pull -q ${CONSUL_IMAGE} >/dev/null`, 120);
    dir = (await shOk('mktemp -d /tmp/drover-image-test.XXXXXX')).trim();
  });

  after(async () => {
    if (!host) return;
    await sh(
      `ids=$(docker ps -aq --filter name=^${PREFIX}); [ -z "$ids" ] || docker rm -f -v $ids >/dev/null`,
    );
    if (dir) await sh(`rm -rf ${q(dir)}`);
  });

  it('runs the agent as consul (100:1000) under dumb-init as PID 1; docker exec is root', async () => {
    const c = await startAgent('user', '--net=none', 'agent -bind=127.0.0.1 -node=image-user');
    const agent = await agentProcess(c);
    assert.equal(agent.uid, 100);
    assert.equal(agent.gid, 1000);
    assert.match(
      agent.argv,
      /^consul agent -data-dir=\/consul\/data -config-dir=\/consul\/config -bind=127\.0\.0\.1/,
    );
    // Seen from the host as a real agent is: `consul agent ...` of uid 100.
    assert.match(
      await shOk("ps -eo uid=,args= | grep '[c]onsul agent .*-node=image-user'"),
      /^\s*100 consul agent /,
    );
    // PID 1 is dumb-init, started by the entrypoint's shebang, as root.
    const pid1 = await shOk(
      `docker exec ${c} sh -c 'readlink /proc/1/exe; tr "\\0" " " </proc/1/cmdline; echo; awk "/^Uid:/ {print \\$2}" /proc/1/status'`,
    );
    const [exe, cmdline, uid1] = pid1.trim().split('\n');
    assert.equal(exe, '/usr/bin/dumb-init');
    assert.match(
      cmdline ?? '',
      /^\/usr\/bin\/dumb-init \/bin\/sh \/usr\/local\/bin\/docker-entrypoint\.sh agent /,
    );
    assert.equal(uid1, '0');
    // What the agent wrote is the consul user's.
    assert.equal((await shOk(`docker exec ${c} stat -c '%u:%g' /consul/data/node-id`)).trim(), '100:1000');
    // docker exec: root, no entrypoint (no privilege drop), consul on PATH.
    assert.equal((await shOk(`docker exec ${c} id -u`)).trim(), '0');
    assert.match(await shOk(`docker exec ${c} consul version`), /^Consul v1\.20\.1$/m);
    assert.match(
      await shOk(`docker exec ${c} consul members`),
      /image-user\s+127\.0\.0\.1:8301\s+alive\s+client/,
    );
    // dumb-init forwards docker stop's SIGTERM: the client leaves and exits 0.
    await shOk(`docker stop -t 20 ${c} >/dev/null`, 60);
    assert.equal((await shOk(`docker inspect -f '{{.State.ExitCode}}' ${c}`)).trim(), '0');
    assert.match(await shOk(`docker logs ${c} 2>&1`), /Graceful leave complete/);
  });

  it('carries the release in its version labels, as the official Dockerfile sets them', async () => {
    for (const [image, version] of [
      [CONSUL_IMAGE, '1.20.1'],
      [CONSUL_IMAGE_NEXT, '1.20.2'],
    ] as const) {
      await shOk(`docker pull -q ${image} >/dev/null`, 120);
      const labels = await shOk(
        `docker image inspect -f '{{index .Config.Labels "version"}} {{index .Config.Labels "org.opencontainers.image.version"}}' ${image}`,
      );
      assert.equal(labels.trim(), `${version} ${version}`, image);
    }
  });

  it('fails on a read-only config mount owned by root, as the real entrypoint does', async () => {
    const cfg = `${dir}/ro-config`;
    await shOk(`mkdir -p ${cfg} && echo '{"node_name":"ro"}' > ${cfg}/consul.json`);
    const r = await runOnce('ro', `--net=none -v ${cfg}:/consul/config:ro`, 'agent -bind=127.0.0.1');
    assert.equal(r.code, 1, out(r));
    assert.match(out(r), /chown: \/consul\/config: Read-only file system/);
    assert.equal(await stat(cfg), '0:0 755');
    // Owned by the consul user already: nothing to chown, so read-only is fine.
    await shOk(`chown 100:1000 ${cfg}`);
    const ok = await runOnce('ro-owned', `--net=none -v ${cfg}:/consul/config:ro`, 'version');
    assert.equal(ok.code, 0, out(ok));
    assert.match(ok.stdout, /^Consul v1\.20\.1$/m);
  });

  it('chowns the config dir but not a root-owned 0640 file in it, which the agent cannot read', async () => {
    const cfg = `${dir}/cfg-0640`;
    await shOk(
      `mkdir -p ${cfg} && echo '{"node_name":"secret"}' > ${cfg}/consul.json && chmod 0640 ${cfg}/consul.json`,
    );
    const r = await runOnce('0640', `--net=none -v ${cfg}:/consul/config`, 'agent -bind=127.0.0.1');
    assert.notEqual(r.code, 0, out(r));
    assert.match(out(r), /permission denied/);
    assert.match(out(r), /consul\.json/);
    assert.equal(await stat(cfg), '100:1000 755');
    assert.equal(await stat(`${cfg}/consul.json`), '0:0 640');
  });

  it('leaves permissions alone and runs as root with CONSUL_DISABLE_PERM_MGMT (even empty)', async () => {
    const cfg = `${dir}/noperm-config`;
    const data = `${dir}/noperm-data`;
    await shOk(
      `mkdir -p ${cfg} ${data} && echo '{"node_name":"noperm"}' > ${cfg}/consul.json && chmod 0640 ${cfg}/consul.json`,
    );
    const c = await startAgent(
      'noperm',
      `--net=none -e CONSUL_DISABLE_PERM_MGMT= -v ${cfg}:/consul/config -v ${data}:/consul/data`,
      'agent -bind=127.0.0.1',
    );
    const agent = await agentProcess(c);
    assert.equal(agent.uid, 0);
    assert.equal(agent.gid, 0);
    // As root the 0640 file is readable: its node_name is in use.
    assert.match(await shOk(`docker logs ${c} 2>&1`), /Node name: 'noperm'/);
    assert.equal(await stat(cfg), '0:0 755');
    assert.equal(await stat(data), '0:0 755');
    assert.equal(await stat(`${data}/node-id`), '0:0 644');
  });

  it('uses CONSUL_UID and CONSUL_GID for the chown and the agent', async () => {
    const data = `${dir}/uid-data`;
    await shOk(`mkdir -p ${data}`);
    const c = await startAgent(
      'uid',
      `--net=none -e CONSUL_UID=1234 -e CONSUL_GID=4321 -v ${data}:/consul/data`,
      'agent -bind=127.0.0.1',
    );
    const agent = await agentProcess(c);
    assert.equal(agent.uid, 1234);
    assert.equal(agent.gid, 4321);
    assert.equal(await stat(data), '1234:4321 755');
    // The image's own config dir (owned by 100) is taken over too.
    assert.equal((await shOk(`docker exec ${c} stat -c '%u:%g' /consul/config`)).trim(), '1234:4321');
  });

  it('chowns a root-owned data dir at the top level only', async () => {
    const data = `${dir}/data-root`;
    await shOk(`mkdir -p ${data}/raft && echo x > ${data}/raft/old && echo y > ${data}/node-id`);
    // Any consul subcommand goes through the permission step, `version` as well as `agent`.
    const r = await runOnce('data', `--net=none -v ${data}:/consul/data`, 'version');
    assert.equal(r.code, 0, out(r));
    assert.equal(await stat(data), '100:1000 755');
    assert.equal(await stat(`${data}/raft`), '0:0 755');
    assert.equal(await stat(`${data}/raft/old`), '0:0 644');
    assert.equal(await stat(`${data}/node-id`), '0:0 644');
  });

  it('turns CONSUL_BIND_INTERFACE / CONSUL_CLIENT_INTERFACE into -bind= / -client=', async () => {
    // Host network, as drover runs the agent; ports of its own so no other agent is in the way.
    const ports = '-http-port=18500 -dns-port=18600 -serf-lan-port=18301';
    const c = await startAgent(
      'iface',
      '--net=host -e CONSUL_BIND_INTERFACE=eth0 -e CONSUL_CLIENT_INTERFACE=eth0',
      `agent -node=image-iface ${ports}`,
    );
    const logs = await shOk(`docker logs ${c} 2>&1`);
    const ip = host.address.replace(/\./g, '\\.');
    assert.match(
      logs,
      new RegExp(`==> Found address '${ip}' for interface 'eth0', setting bind option\\.\\.\\.`),
    );
    assert.match(
      logs,
      new RegExp(`==> Found address '${ip}' for interface 'eth0', setting client option\\.\\.\\.`),
    );
    assert.match(logs, new RegExp(`Client Addr: \\[${ip}\\]`));
    assert.match(logs, new RegExp(`Cluster Addr: ${ip} `));
    const agent = await agentProcess(c);
    assert.match(
      agent.argv,
      new RegExp(`-config-dir=/consul/config -bind=${ip} -client=${ip} -node=image-iface`),
    );
    assert.equal(agent.uid, 100);
  });

  it('keeps CONSUL_BIND over CONSUL_BIND_INTERFACE, and exits 1 for a missing interface', async () => {
    const missing = await runOnce('no-iface', '--net=none -e CONSUL_BIND_INTERFACE=eth9', 'agent');
    assert.equal(missing.code, 1, out(missing));
    assert.match(missing.stdout, /^Could not find IP for interface 'eth9', exiting$/m);
    const clientMissing = await runOnce(
      'no-client-iface',
      '--net=none -e CONSUL_CLIENT_INTERFACE=eth9',
      'agent',
    );
    assert.equal(clientMissing.code, 1, out(clientMissing));
    assert.match(clientMissing.stdout, /^Could not find IP for interface 'eth9', exiting$/m);
    // CONSUL_BIND given: the interface is not even looked up.
    const c = await startAgent(
      'bind-set',
      '--net=none -e CONSUL_BIND=-bind=127.0.0.1 -e CONSUL_BIND_INTERFACE=eth9',
      'agent -node=image-bind-set',
    );
    assert.match(
      (await agentProcess(c)).argv,
      / -config-dir=\/consul\/config -bind=127\.0\.0\.1 -node=image-bind-set/,
    );
  });

  it('writes CONSUL_LOCAL_CONFIG to local.json in the config dir', async () => {
    const cfg = `${dir}/local-config`;
    await shOk(`mkdir -p ${cfg}`);
    const json = '{"node_name":"from-env","log_level":"debug"}';
    const c = await startAgent(
      'local',
      `--net=none -e CONSUL_LOCAL_CONFIG=${q(json)} -v ${cfg}:/consul/config`,
      'agent -bind=127.0.0.1',
    );
    assert.equal((await shOk(`cat ${cfg}/local.json`)).trim(), json);
    // Written by the entrypoint as root, before the dir is handed to consul.
    assert.equal(await stat(`${cfg}/local.json`), '0:0 644');
    assert.equal(await stat(cfg), '100:1000 755');
    assert.match(await shOk(`docker logs ${c} 2>&1`), /Node name: 'from-env'/);
  });

  it('runs consul subcommands by name (`validate` as consul), other programs as given (as root)', async () => {
    const cfg = `${dir}/validate`;
    await shOk(
      `mkdir -p ${cfg} && echo '{"node_name":"v","data_dir":"/consul/data","bind_addr":"127.0.0.1"}' > ${cfg}/consul.json`,
    );
    const valid = await runOnce('validate', `--net=none -v ${cfg}:/consul/config`, 'validate /consul/config');
    assert.equal(valid.code, 0, out(valid));
    assert.match(valid.stdout, /^Configuration is valid!$/m);
    // It ran as the consul user: a root-owned 0640 file fails validation.
    await shOk(`chmod 0640 ${cfg}/consul.json`);
    const denied = await runOnce(
      'validate-0640',
      `--net=none -v ${cfg}:/consul/config`,
      'validate /consul/config',
    );
    assert.equal(denied.code, 1, out(denied));
    assert.match(out(denied), /permission denied/);
    // A leading flag goes to consul.
    const flag = await runOnce('flag', '--net=none', '-version');
    assert.equal(flag.code, 0, out(flag));
    assert.match(flag.stdout, /^Consul v1\.20\.1$/m);
    // Not a consul subcommand: exec'd as given, no privilege drop.
    const other = await runOnce('other', '--net=none', 'id -u');
    assert.equal(other.code, 0, out(other));
    assert.equal(other.stdout.trim(), '0');
  });

  it('sets cap_net_bind_service with CONSUL_ALLOW_PRIVILEGED_PORTS, so consul can serve DNS on 53', async () => {
    // Host network: the lab host's namespace keeps unprivileged ports at 1024 and up.
    const ports = '-http-port=18510 -serf-lan-port=18311 -dns-port=53';
    const denied = await runOnce('port53', '--net=host', `agent -bind=127.0.0.1 -node=image-port53 ${ports}`);
    assert.notEqual(denied.code, 0, out(denied));
    assert.match(out(denied), /permission denied|EACCES/i);
    const c = await startAgent(
      'port53-cap',
      '--net=host -e CONSUL_ALLOW_PRIVILEGED_PORTS=',
      `agent -bind=127.0.0.1 -node=image-port53 ${ports}`,
    );
    assert.match(
      await shOk(`docker logs ${c} 2>&1`),
      /Started DNS server: address=127\.0\.0\.1:53 network=udp/,
    );
    assert.equal((await agentProcess(c)).uid, 100);
  });
});
