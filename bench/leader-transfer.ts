/**
 * `npm run bench:leader-transfer`: how long a rolling restart leaves a 3-server cluster without
 * a leader, with the leadership handed over before the leader stops (consul_leader_transfer:
 * true, drover's default) and without (the leader simply restarted: followers wait out the
 * heartbeat timeout, then elect). Measured on the lab (h1-h3 servers, h4-h5 clients) at the
 * lab's raft timing (consul_raft_multiplier 1) and at Consul's default (5), rounds interleaved.
 * A watcher on this machine asks every server for /v1/status/leader about every 200 ms; a round
 * counts as leaderless when no server is named by a majority while it answers and names
 * itself (test/e2e/drover-cli.ts watchServers), so figures are at that granularity.
 *
 * Writes bench/LEADER-TRANSFER.md and bench/out/leader-transfer.json. Brings the lab up when it
 * is not (and down again after). Knobs: BENCH_LT_ROUNDS (default 3), BENCH_LT_MULTIPLIERS
 * (default "1,5").
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDown, labUp, pickHosts } from '../test/lab/lab.js';
import { cleanUp, drover, watchServers, writeLabInventory } from '../test/e2e/drover-cli.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env['BENCH_LT_ROUNDS'] ?? '3');
const MULTIPLIERS = (process.env['BENCH_LT_MULTIPLIERS'] ?? '1,5').split(',').map(Number);
const HOSTS_FILE = join(BENCH, '..', 'test', 'lab', 'state', 'hosts.json');

interface Sample {
  multiplier: number;
  transfer: boolean;
  round: number;
  leaderlessMs: number;
  rounds: number;
  restartSeconds: number;
}

async function main(): Promise<void> {
  const startedLab = !existsSync(HOSTS_FILE);
  if (startedLab) await labUp(8);
  const hosts = pickHosts(5);
  const servers = hosts.slice(0, 3);
  const clients = hosts.slice(3);
  const samples: Sample[] = [];
  const loadStart = loadavg()[0] ?? 0;
  try {
    for (const multiplier of MULTIPLIERS) {
      await cleanUp(hosts);
      const vars = (transfer: boolean) => ({
        consul_raft_multiplier: multiplier,
        consul_leader_transfer: transfer,
      });
      const inventory = writeLabInventory({ servers, clients, vars: vars(true) });
      const deployed = await drover(['deploy', '-i', inventory], 300);
      if (deployed.code !== 0) throw new Error(`deploy failed:\n${deployed.stdout}${deployed.stderr}`);
      for (let round = 1; round <= ROUNDS; round++) {
        for (const transfer of [true, false]) {
          // The same file (its gossip key beside it), with the var for this run.
          const variant = writeLabInventory({ servers, clients, vars: vars(transfer) });
          writeFileSync(inventory, readFileSync(variant, 'utf8'));
          rmSync(dirname(variant), { recursive: true, force: true });
          const watcher = watchServers(servers, 600);
          const t0 = Date.now();
          const r = await drover(['restart', '-i', inventory, '--yes'], 600);
          const restartSeconds = (Date.now() - t0) / 1000;
          const seen = await watcher.stop();
          if (r.code !== 0) throw new Error(`restart failed:\n${r.stdout}${r.stderr}`);
          samples.push({
            multiplier,
            transfer,
            round,
            leaderlessMs: seen.longestLeaderlessMs,
            rounds: seen.rounds,
            restartSeconds,
          });
          console.log(
            `multiplier ${multiplier}, transfer ${transfer}, round ${round}: longest without a leader ${seen.longestLeaderlessMs} ms, restart ${restartSeconds.toFixed(1)} s`,
          );
        }
      }
      rmSync(dirname(inventory), { recursive: true, force: true });
    }
  } finally {
    await cleanUp(hosts);
    if (startedLab) await labDown();
  }
  const out = join(BENCH, 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'leader-transfer.json'), `${JSON.stringify(samples, null, 2)}\n`);
  writeFileSync(join(BENCH, 'LEADER-TRANSFER.md'), report(samples, loadStart, loadavg()[0] ?? 0));
  console.log(`wrote ${join(BENCH, 'LEADER-TRANSFER.md')}`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

function report(samples: readonly Sample[], loadStart: number, loadEnd: number): string {
  const rows: string[] = [];
  for (const multiplier of MULTIPLIERS) {
    for (const transfer of [true, false]) {
      const mine = samples.filter((s) => s.multiplier === multiplier && s.transfer === transfer);
      const ms = mine.map((s) => s.leaderlessMs);
      const secs = mine.map((s) => s.restartSeconds);
      rows.push(
        `| ${multiplier} | ${transfer ? 'handed over first' : 'stopped as it is'} | ${median(ms)} | ${Math.min(...ms)} | ${Math.max(...ms)} | ${median(secs).toFixed(1)} | ${mine.length} |`,
      );
    }
  }
  return [
    '# Leadership transfer in a rolling restart: time without a leader',
    '',
    'Written by `npm run bench:leader-transfer` (bench/leader-transfer.ts); do not edit by hand.',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, load average ${loadStart.toFixed(2)} at start, ${loadEnd.toFixed(2)} at end.`,
    'The lab (Consul stand-in, test/lab/standin), 3 servers and 2 clients; `drover restart` with',
    '`consul_leader_transfer` true and false, rounds interleaved. "Without a leader" is the longest',
    'run of watcher rounds (every ~200 ms, from this machine) in which no server was named leader by',
    'a majority while naming itself; 0 means never for a whole round.',
    '',
    '| raft multiplier | the leader | without a leader, median ms | min | max | restart, median s | restarts |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Without a transfer the followers notice the leader gone only after the heartbeat timeout',
    '(1 s x the multiplier) and then elect; with it, the leader hands over in one round of votes',
    'before it stops (docs/rolling-restarts.md).',
    '',
  ].join('\n');
}

await main();
