/**
 * A restart owed is kept on the host: a deploy that writes a restart-class change and then stops
 * (Ctrl-C during the roll, drover killed, a pre-flight refusal) leaves agents running the old
 * config; `plan` and `verify` say so, and the next plain `drover deploy` restarts exactly those,
 * through the same quorum-safe roll, until every agent runs the config on disk.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fault, pickHosts, ssh, sshOk, waitFor } from '../lab/lab.js';
import { cleanUp, CONFIG_DIR, drover, restartedLine, ROOT, writeLabInventory } from './drover-cli.js';

const LOCK_WAIT = ['--lock-wait', '120'];

/** Runs drover and sends it `signal` (SIGCONT: nothing happens) when its output first matches `when`. */
function droverSignalled(
  args: string[],
  when: RegExp,
  signal: NodeJS.Signals,
  timeoutSeconds = 180,
  /** Done at that moment as well (a fault on a host); the signal is sent after it. */
  act?: () => Promise<void>,
) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'drover.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!sent && when.test(out)) {
        sent = true;
        void (act ?? (async () => undefined))().then(() => child.kill(signal));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, out });
    });
  });
}

describe('a restart owed survives an interrupted, killed or refused deploy', () => {
  const hosts = pickHosts(4);
  const servers = hosts.slice(0, 3);
  const client = hosts[3]!;
  const inv = writeLabInventory({
    servers,
    clients: [client],
    vars: { ssh_connect_timeout: 3, consul_server_gate_timeout: 60, consul_client_gate_timeout: 60 },
  });
  /** A restart-class change for every agent: a new retry_interval. */
  const setRetryInterval = (value: string) =>
    writeFileSync(
      inv,
      readFileSync(inv, 'utf8').replace(
        /consul_retry_interval: "[^"]*"/,
        `consul_retry_interval: "${value}"`,
      ),
    );
  /** Hosts whose agent started before its config file last changed. */
  const stale = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const h of hosts) {
      const started = Date.parse(
        (await sshOk(h.name, "docker inspect -f '{{.State.StartedAt}}' consul")).trim(),
      );
      const written = Number((await sshOk(h.name, `date -r ${CONFIG_DIR}/consul.json +%s%3N`)).trim());
      if (started < written) out.push(h.name);
    }
    return out;
  };
  /** The next deploy finishes the job: verify first says what is owed, then everything converges. */
  const converges = async (expectStale: boolean) => {
    if (expectStale) {
      assert.notDeepEqual(await stale(), [], 'some agent should still run the old config');
      const plan = await drover(['plan', '-i', inv]);
      assert.match(plan.stdout, /restart owed: config changed since the agent started/, plan.stdout);
      const v = await drover(['verify', '-i', inv]);
      assert.notEqual(v.code, 0, v.stdout);
      assert.match(
        v.stdout,
        /restart owed: config changed since the agent started \(drover deploy finishes it\)/,
      );
    }
    const r = await drover(['deploy', '-i', inv, ...LOCK_WAIT], 300);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await stale(), [], r.stdout);
    const v = await drover(['verify', '-i', inv]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const again = await drover(['deploy', '-i', inv, ...LOCK_WAIT]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(restartedLine(again.stdout), [], 'nothing is owed any more');
  };

  before(async () => {
    await cleanUp(hosts);
    const r = await drover(['deploy', '-i', inv], 240);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(() => cleanUp(hosts));

  it('Ctrl-C after the first server restarted: exit 130, then the next deploy restarts the rest', async () => {
    setRetryInterval('3s');
    const r = await droverSignalled(['deploy', '-i', inv], /changed: \[\w+\] restart consul/, 'SIGINT');
    assert.equal(r.code, 130, r.out);
    await converges(true);
  });

  it('drover killed (SIGKILL) during the roll: the next deploy restarts what is owed', async () => {
    setRetryInterval('4s');
    const r = await droverSignalled(
      ['deploy', '-i', inv],
      /TASK \[cluster can lose this server\]/,
      'SIGKILL',
    );
    assert.equal(r.signal, 'SIGKILL', r.out);
    // A killed run cannot release its lock: the operator does, as the lock's message says.
    await drover(['lock', 'release', '-i', inv, '--yes']);
    await converges(true);
  });

  /**
   * A healed server is back only when it votes and autopilot says so: until autopilot's cleanup
   * has run, list-peers may still show the partitioned server as a voter that is about to be
   * removed and re-added as a non-voter. So: three voters and a healthy autopilot with a failure
   * tolerance of one, twice in a row, 5 s apart (past the 2 s autopilot refresh).
   */
  async function healedAndVoting(): Promise<void> {
    const settled = async (): Promise<boolean> => {
      const peers = await ssh(servers[0]!.name, 'docker exec consul consul operator raft list-peers');
      const voters = peers.stdout.split('\n').filter((l) => /\b(leader|follower)\s+true\b/.test(l)).length;
      const health = await ssh(
        servers[0]!.name,
        'curl -s -m 3 http://127.0.0.1:8500/v1/operator/autopilot/health',
      );
      const h = JSON.parse(health.stdout || '{}') as { Healthy?: boolean; FailureTolerance?: number };
      return voters === 3 && h.Healthy === true && (h.FailureTolerance ?? 0) >= 1;
    };
    await waitFor('the healed server to rejoin, vote again and be healthy', 150, async () => {
      if (!(await settled())) return false;
      await new Promise((r) => setTimeout(r, 5000));
      return settled();
    });
  }

  it('a pre-flight refusal after the files were written (a server partitioned): healed, the next deploy converges', async () => {
    setRetryInterval('5s');
    const victim = servers[2]!;
    await fault('partition', victim.name);
    try {
      // Failed, and soon after left: autopilot's dead-server cleanup removes a failed server
      // (Serf's RemoveFailedNode marks it left), so a slow poll may only see the second state.
      await waitFor('the partitioned server to be failed in Serf', 30, async () => {
        const m = await ssh(servers[0]!.name, 'docker exec consul consul members');
        return new RegExp(`^${victim.name}\\s+\\S+\\s+(failed|left)\\b`, 'm').test(m.stdout);
      });
      const r = await drover(['deploy', '-i', inv, ...LOCK_WAIT], 240);
      assert.equal(r.code, 5, r.stdout + r.stderr);
      assert.match(r.stdout, /Consul pre-flight refused/);
    } finally {
      await fault('heal', victim.name);
    }
    // Autopilot removed the partitioned server as dead; healed, it refutes that, rejoins and is
    // promoted to voter again, as Consul's agents do. Only then can a roll pass its pre-flight.
    await healedAndVoting();
    await converges(true);
  });

  it('a connection lost during the roll (a server not yet restarted is partitioned): healed, the next deploy restarts it', async () => {
    setRetryInterval('6s');
    // Not the lock's host (the first server): a run that cannot reach it cannot release the lock.
    const victim = servers[2]!;
    const r = await droverSignalled(
      ['deploy', '-i', inv],
      /changed: \[\w+\] restart consul/,
      'SIGCONT',
      240,
      () => fault('partition', victim.name),
    );
    try {
      // The roll does not restart anything more once a server is gone, and says so.
      assert.ok(r.code === 4 || r.code === 5, `exit ${r.code}\n${r.out}`);
      assert.ok(restartedLine(r.out).length <= 1, r.out);
      assert.doesNotMatch(restartedLine(r.out).join(' '), new RegExp(victim.name));
    } finally {
      await fault('heal', victim.name);
    }
    await healedAndVoting();
    await converges(true);
  });
});
