/**
 * A rolling restart with Consul's own timing (no raft_multiplier: elections and leader leases
 * of about 5 s) while a client writes to the KV store all along: the roll must wait for each
 * restarted server to catch up with the writes it missed (commit_index == last_log_index), the
 * cluster must keep serving, and no write it acknowledged may be lost. The other e2e tests run
 * with raft_multiplier 1 to be quick; this one shows the gates hold at the speed users get.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { pickHosts, type LabHost } from '../lab/lab.js';
import { cleanUp, drover, leaderHost, restartedLine, watchServers, writeLabInventory } from './drover-cli.js';

interface Reply {
  status: number;
  body: string;
}

function http(h: LabHost, method: string, path: string, body?: string): Promise<Reply | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: h.address, port: 8500, method, path, timeout: 3000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

/**
 * Writes drover-e2e/N = "value-N" through `via` about every 100 ms until stopped (bounded by
 * maxSeconds), and remembers which writes Consul acknowledged (200 with `true`).
 */
function writeLoad(via: LabHost, maxSeconds = 300) {
  let stop = false;
  const acked: number[] = [];
  let failed = 0;
  const done = (async () => {
    const deadline = Date.now() + maxSeconds * 1000;
    for (let n = 0; !stop && Date.now() < deadline; n++) {
      const r = await http(via, 'PUT', `/v1/kv/drover-e2e/${n}`, `value-${n}`);
      if (r?.status === 200 && r.body.trim() === 'true') acked.push(n);
      else failed++;
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  return {
    async stop(): Promise<{ acked: number[]; failed: number }> {
      stop = true;
      await done;
      return { acked, failed };
    },
  };
}

describe("a rolling restart at Consul's default raft timing, under a steady KV write load", () => {
  const hosts = pickHosts(4);
  const servers = hosts.slice(0, 3);
  const client = hosts[3]!;
  // consul_raft_multiplier "" leaves performance out of the config: Consul's default, 5.
  const inventory = writeLabInventory({
    servers,
    clients: [client],
    vars: { consul_raft_multiplier: '', ssh_connect_timeout: 3 },
  });

  before(async () => {
    await cleanUp(hosts);
    const r = await drover(['deploy', '-i', inventory], 240);
    assert.equal(r.code, 0, `deploy: ${r.stdout}${r.stderr}`);
  });
  after(() => cleanUp(hosts));

  it('restarts every agent, leader last, and keeps every acknowledged write', async () => {
    const oldLeader = await leaderHost(servers);
    const load = writeLoad(client);
    // Some writes before the roll, so the log has moved on from the deploy.
    await new Promise((res) => setTimeout(res, 2000));
    const watcher = watchServers(servers, 300);
    const r = await drover(['restart', '-i', inventory], 300);
    const seen = await watcher.stop();
    await new Promise((res) => setTimeout(res, 1000));
    const { acked, failed } = await load.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const order = restartedLine(r.stdout);
    assert.equal(order.length, 4, r.stdout);
    assert.equal(order[2], oldLeader.name, `servers restarted in order ${order.join(', ')}`);
    assert.ok(seen.fewest >= 2, `only ${seen.fewest} server(s) answered at one point`);
    assert.ok(acked.length > 20, `only ${acked.length} writes were acknowledged (${failed} failed)`);
    // Every acknowledged write is there, read from each server (default consistency: the leader).
    for (const s of servers) {
      const r = await http(s, 'GET', '/v1/kv/drover-e2e/?recurse');
      assert.equal(r?.status, 200, `${s.name}: ${r?.body}`);
      const stored = new Map(
        (JSON.parse(r!.body) as { Key: string; Value: string }[]).map((e) => [
          e.Key,
          Buffer.from(e.Value, 'base64').toString(),
        ]),
      );
      const lost = acked.filter((n) => stored.get(`drover-e2e/${n}`) !== `value-${n}`);
      assert.deepEqual(lost, [], `${s.name}: acknowledged writes missing`);
    }
    const v = await drover(['verify', '-i', inventory]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
