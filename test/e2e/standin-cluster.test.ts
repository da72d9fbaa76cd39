/**
 * The lab's Consul stand-in, run exactly the way the seed runs Consul (`docker run -d --net=host
 * --name consul -v cfg:/consul/config -v data:/consul/data IMAGE agent`) on lab hosts, checked
 * through the same CLI and HTTP surfaces an operator (and drover) uses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONSUL_IMAGE, pickHosts, ssh, sshOk, waitFor, type LabHost } from '../lab/lab.js';

const DIR = '/opt/standin-e2e';
const GOSSIP_KEY = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';
const OTHER_KEY = 'bGFiLW90aGVyLWtleS0wMDAwMDAwMDAwMDAwMDAwMDA=';

function agentConfig(self: LabHost, servers: LabHost[], server: boolean, key = GOSSIP_KEY): string {
  return JSON.stringify({
    datacenter: 'lab',
    node_name: self.name,
    data_dir: '/consul/data',
    server,
    ...(server ? { bootstrap_expect: servers.length, ui_config: { enabled: true } } : {}),
    bind_addr: self.address,
    client_addr: `127.0.0.1 ${self.address}`,
    retry_join: servers.map((s) => s.address),
    retry_interval: '1s',
    encrypt: key,
  });
}

async function startAgent(host: LabHost, config: string): Promise<void> {
  await sshOk(
    host.name,
    `docker rm -f consul >/dev/null 2>&1; rm -rf ${DIR} && mkdir -p ${DIR}/config ${DIR}/data && ` +
      `cat > ${DIR}/config/consul.json <<'EOF'\n${config}\nEOF\n` +
      `docker run -d --net=host --name consul -v ${DIR}/config:/consul/config -v ${DIR}/data:/consul/data ${CONSUL_IMAGE} agent`,
  );
}

/** The leader's `ip:8300` as this server's /v1/status/leader reports it ("" when none, or no answer). */
async function leaderSeenBy(h: LabHost): Promise<string> {
  const body = (
    await ssh(h.name, `curl -s -m 2 http://${h.address}:8500/v1/status/leader`, 10)
  ).stdout.trim();
  try {
    return String(JSON.parse(body));
  } catch {
    return '';
  }
}

/** `consul members` as rows of {Node, Address, Status, Type, ...} keyed by the header. */
async function members(h: LabHost): Promise<Record<string, string>[]> {
  const out = await sshOk(h.name, 'docker exec consul consul members');
  const [header, ...rows] = out.trim().split('\n');
  const cols = (header ?? '').trim().split(/\s{2,}|\t/);
  return rows.map((r) =>
    Object.fromEntries(
      r
        .trim()
        .split(/\s+/)
        .map((v, i) => [cols[i] ?? `c${i}`, v]),
    ),
  );
}

async function raftState(h: LabHost): Promise<string> {
  const info = await sshOk(h.name, 'docker exec consul consul info');
  return /^\tstate = (\w+)$/m.exec(info)?.[1] ?? 'none';
}

describe('Consul stand-in in the lab', () => {
  let hosts: LabHost[], servers: LabHost[], clients: LabHost[], spare: LabHost;
  before(async () => {
    hosts = pickHosts(6);
    servers = hosts.slice(0, 3);
    clients = hosts.slice(3, 5);
    spare = hosts[5]!;
    for (const h of hosts) await ssh(h.name, `docker rm -f consul >/dev/null 2>&1; rm -rf ${DIR}`);
    await sshOk(servers[0]!.name, `docker pull -q ${CONSUL_IMAGE}`);
  });
  after(async () => {
    if (process.env['KEEP_STANDIN']) return;
    for (const h of hosts) await ssh(h.name, `docker rm -f consul >/dev/null 2>&1; rm -rf ${DIR}`);
  });

  it('3 servers + 2 clients started the seed way elect one leader and list five alive members', async () => {
    await Promise.all([
      ...servers.map((s) => startAgent(s, agentConfig(s, servers, true))),
      ...clients.map((c) => startAgent(c, agentConfig(c, servers, false))),
    ]);
    await waitFor('a leader known to every server', 30, async () => {
      const seen = await Promise.all(servers.map(leaderSeenBy));
      return seen.every((l) => l !== '' && l === seen[0]);
    });
    const states = await Promise.all(servers.map(raftState));
    assert.deepEqual(states.filter((s) => s === 'Leader').length, 1, `raft states: ${states.join(', ')}`);
    await waitFor(
      'five alive members',
      20,
      async () => (await members(clients[0]!)).filter((m) => m['Status'] === 'alive').length === 5,
    );
    const rows = await members(servers[0]!);
    assert.deepEqual(rows.map((r) => r['Node']).sort(), [...servers, ...clients].map((h) => h.name).sort());
    for (const r of rows)
      assert.equal(r['Type'], servers.some((s) => s.name === r['Node']) ? 'server' : 'client');
    const info = await sshOk(servers[0]!.name, 'docker exec consul consul info');
    assert.match(info, /^\tnum_peers = 2$/m);
    assert.match(info, /^\tencrypted = true$/m);
  });

  it('survives the loss of the leader: a new leader within seconds, with a higher term', async () => {
    const leaderAddr = await leaderSeenBy(servers[0]!);
    const leader = servers.find((s) => leaderAddr.startsWith(`${s.address}:`))!;
    const termOf = async (h: LabHost) =>
      Number(/^\tterm = (\d+)$/m.exec(await sshOk(h.name, 'docker exec consul consul info'))?.[1]);
    const others = servers.filter((s) => s !== leader);
    const before = await termOf(others[0]!);
    await sshOk(leader.name, 'docker kill consul');
    await waitFor('a new leader among the two remaining servers', 20, async () => {
      const l = await leaderSeenBy(others[0]!);
      return l !== '' && !l.startsWith(`${leader.address}:`);
    });
    assert.ok((await termOf(others[0]!)) > before, 'the term increases with a new election');
    await sshOk(leader.name, 'docker start consul');
    await waitFor(
      'the old leader back as a follower',
      30,
      async () => (await raftState(leader)) === 'Follower',
    );
  });

  it('has no leader with two of three servers down, and recovers when they return', async () => {
    const [a, b, c] = servers as [LabHost, LabHost, LabHost];
    await sshOk(a.name, 'docker stop -t 2 consul');
    await sshOk(b.name, 'docker stop -t 2 consul');
    await waitFor('no leader on the last server', 20, async () => (await leaderSeenBy(c)) === '');
    const health = await ssh(
      c.name,
      `curl -s -o /dev/null -w '%{http_code}' http://${c.address}:8500/v1/operator/autopilot/health`,
    );
    assert.notEqual(health.stdout, '200');
    await sshOk(a.name, 'docker start consul');
    await sshOk(b.name, 'docker start consul');
    await waitFor('a leader again', 30, async () => (await leaderSeenBy(c)) !== '');
  });

  it('keeps a removed client as a failed ghost until force-leave -prune', async () => {
    const gone = clients[1]!;
    await sshOk(gone.name, 'docker rm -f consul');
    // The same workload comes back on another machine, as a re-created container would.
    await startAgent(spare, agentConfig(spare, servers, false));
    await waitFor(`${gone.name} failed and ${spare.name} alive`, 30, async () => {
      const rows = await members(servers[0]!);
      const status = (n: string) => rows.find((r) => r['Node'] === n)?.['Status'];
      return status(gone.name) === 'failed' && status(spare.name) === 'alive';
    });
    await sshOk(servers[0]!.name, `docker exec consul consul force-leave -prune ${gone.name}`);
    await waitFor(
      `${gone.name} pruned`,
      15,
      async () => !(await members(servers[0]!)).some((r) => r['Node'] === gone.name),
    );
  });

  it('keeps out a node whose gossip key does not match, and logs why', async () => {
    const intruder = clients[1]!;
    await startAgent(intruder, agentConfig(intruder, servers, false, OTHER_KEY));
    await new Promise((r) => setTimeout(r, 5000));
    const rows = await members(servers[0]!);
    assert.equal(rows.find((r) => r['Node'] === intruder.name)?.['Status'] === 'alive', false);
    const logs = await sshOk(intruder.name, 'docker logs consul 2>&1');
    assert.match(logs, /key|decrypt|encrypt/i);
  });
});
