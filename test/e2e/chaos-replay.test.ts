/**
 * Runs of the chaos campaign (test/chaos/RESULTS.md, docs/reliability.md) that found a failure,
 * replayed from their seeds on the lab after the fix, with the campaign's own checks: the exit
 * code and recap right for the fault, the cluster converged after one healing deploy (nothing
 * owed, verify passes, the lock free), no acknowledged KV write lost, no leaderless moment the
 * fault does not explain, and no task failing on drover's own playbook. A seed fixes the
 * operation, fault, target and moment; the timing within a moment is the machine's, as in the
 * campaign.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pickHosts } from '../lab/lab.js';
import { verdictOf } from '../chaos/report.js';
import { observeOperation, runScenario, type Lane } from '../chaos/run-one.js';
import { scenarioOf, type ObservedRun, type Operation } from '../chaos/scenario.js';
import { cleanUp } from './drover-cli.js';

/** Each seed with what it found before its fix. */
const REPLAYS: { seed: number; found: string }[] = [
  {
    seed: 588769266,
    found:
      "upgrade, the lock host frozen 40 s at the pre-flight: the healing deploy's pre-flight refused a server autopilot had yet to promote",
  },
  {
    seed: 589660332,
    found:
      'rotate-gossip-key, a client cut off 40 s when the new key became primary: the resumed rotation failed removing the old key from members that no longer had it',
  },
  {
    seed: 590713410,
    found:
      'snapshot save with a follower frozen: the run ended, but drover did not exit while its socket to the frozen host stayed open',
  },
];

describe('chaos campaign runs that found a failure, replayed after the fix', () => {
  const hosts = pickHosts(5);
  const work = mkdtempSync(join(tmpdir(), 'drover-chaos-replay-'));
  const lane: Lane = {
    index: 1,
    servers: hosts.slice(0, 3),
    clients: hosts.slice(3),
    dir: join(work, 'lane'),
  };
  const observed = new Map<Operation, ObservedRun>();
  after(() => cleanUp(hosts));

  for (const { seed, found } of REPLAYS) {
    it(`seed ${seed} (${found}) passes every check`, async () => {
      const s = scenarioOf(seed);
      if (!observed.has(s.operation))
        observed.set(
          s.operation,
          await observeOperation(s.operation, lane, join(work, `observed-${s.operation}`)),
        );
      const r = await runScenario(
        s,
        lane,
        join(work, String(seed)),
        observed.get(s.operation) as ObservedRun,
      );
      assert.equal(r.injected, true, `the fault was injected (${r.moment})`);
      assert.equal(verdictOf(r), 'ok', `${join(work, String(seed))}: ${JSON.stringify(r)}`);
    });
  }
});
