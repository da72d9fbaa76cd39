/**
 * A server that dies during a roll is noticed at once: on a 5-server cluster, a follower crashed
 * just after the roll restarted another server stops the roll with exit 5, naming the dead
 * server and what to do, instead of restarting the next one (3 of 5 left, no margin) or waiting
 * out the gate's timeout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fault, pickHosts, waitFor } from '../lab/lab.js';
import { cleanUp, drover, restartedLine, ROOT, writeLabInventory } from './drover-cli.js';

describe('a follower crashed during a 5-server roll', () => {
  const servers = pickHosts(5);
  // The gates' own default timeout (300 s): the test shows it is not waited out.
  const inv = writeLabInventory({ servers, clients: [], vars: { ssh_connect_timeout: 3 } });

  before(async () => {
    await cleanUp(servers);
    const r = await drover(['deploy', '-i', inv], 240);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    for (const s of servers) await fault('boot', s.name).catch(() => undefined);
    await drover(['lock', 'release', '-i', inv, '--yes']);
    await cleanUp(servers);
  });

  it('stops with exit 5 before the next server, naming the crashed one, long before the gate timeout', async () => {
    let victim = '';
    const started = Date.now();
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'drover.js'), 'restart', '-i', inv], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const order = /consul_leader_last: leader \S+ \([^)]*\); order (.*)$/m.exec(out)?.[1]?.split(', ');
        if (order && !victim && /changed: \[\w+\] restart consul/.test(out)) {
          // The last follower in line (the leader comes after it): alive when the roll started,
          // crashed as the first restart is done, long before its own turn. (On the lab a restart
          // and its gate take about a second, so a later crash would race the next restart.)
          victim = order.at(-2)!;
          void fault('crash', victim);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.code, 5, r.out);
    assert.ok(victim, r.out);
    assert.equal(restartedLine(r.out).length, 1, `only the first server was restarted:\n${r.out}`);
    assert.match(
      r.out,
      new RegExp(`${victim} \\([\\d.]+\\) (is failed|is left|does not answer right now)`),
      r.out,
    );
    assert.match(r.out, /(bring \S+ back|fix that first)/);
    assert.ok(seconds < 200, `the roll took ${seconds}s: it waited for a server that cannot come back`);
    await fault('boot', victim);
    await waitFor(
      'the cluster to verify again',
      90,
      async () => (await drover(['verify', '-i', inv])).code === 0,
    );
  });
});
