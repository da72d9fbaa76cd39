/** The chaos campaign's rules: scenarios from seeds, the exit-code judge, the fault's excuse, the report. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { causedByFault, overlapsAny, wrongExit, type Outcome } from './judge.js';
import { findingsOf, rejudged, renderResults } from './report.js';
import { newRecord, type RunRecord } from './run-one.js';
import { OPERATIONS, resolveMoment, runSeed, scenarioOf, HOST_FAULTS } from './scenario.js';

const recap = (c: Partial<Record<'ok' | 'changed' | 'unreachable' | 'failed', number>>) => ({
  ok: 1,
  changed: 0,
  unreachable: 0,
  failed: 0,
  ...c,
});

const outcome = (o: Partial<Outcome>): Outcome => ({
  fault: 'partition',
  injected: true,
  faultedHosts: ['h2'],
  exitCode: 0,
  hung: false,
  runEnd: { status: 'ok', recap: { h1: recap({}), h2: recap({}) } },
  ...o,
});

describe('scenarios', () => {
  it('come from the seed alone: a replay is the same run', () => {
    assert.deepEqual(scenarioOf(1234), scenarioOf(1234));
    assert.notDeepEqual(scenarioOf(1234), scenarioOf(1235));
  });

  it('cover every operation and host fault, and aim signals only at drover', () => {
    const all = Array.from({ length: 400 }, (_, i) => scenarioOf(runSeed(7, i)));
    assert.deepEqual(new Set(all.map((s) => s.operation)), new Set(OPERATIONS));
    for (const f of HOST_FAULTS)
      assert.ok(
        all.some((s) => s.fault === f),
        f,
      );
    for (const s of all) assert.equal(s.target === 'drover', s.fault === 'sigint' || s.fault === 'sigkill');
    assert.ok(all.every((s) => (s.target === 'drover') === (s.duration === undefined)));
  });

  it('resolve their moment among what an unfaulted run did, on no more hosts than it ran; a signal never before the run', () => {
    const plays = {
      tasks: [
        { play: 'A', task: 't1', hosts: 3 },
        { play: 'A', task: 't2', hosts: 1 },
      ],
      batches: [{ play: 'A', index: 1 }],
    };
    const seen = new Set(
      Array.from({ length: 50 }, (_, i) =>
        JSON.stringify(resolveMoment({ ...scenarioOf(i), momentPick: i }, plays)),
      ),
    );
    assert.ok([...seen].some((m) => m.includes('"before"')));
    assert.ok([...seen].some((m) => m.includes('"batch"')));
    assert.ok([...seen].some((m) => m.includes('"t2"')));
    assert.ok([...seen].filter((m) => m.includes('"t2"')).every((m) => m.includes('"occurrence":1')));
    const signal = { ...scenarioOf(1), target: 'drover' as const, fault: 'sigint' as const };
    for (let i = 0; i < 10; i++)
      assert.notEqual(resolveMoment({ ...signal, momentPick: i }, plays).kind, 'before');
  });
});

describe('the exit-code judge', () => {
  it('takes exit 0 with a clean recap, and refuses exit 0 with an unreachable host in it', () => {
    assert.equal(wrongExit(outcome({})), undefined);
    const r = wrongExit(outcome({ runEnd: { status: 'ok', recap: { h2: recap({ unreachable: 1 }) } } }));
    assert.match(r ?? '', /exit 0 with h2 unreachable/);
  });

  it('takes exit 4 only for faulted hosts, and only when no task failed', () => {
    const unreachable = (h: string) => ({ status: 'unreachable', recap: { [h]: recap({ unreachable: 1 }) } });
    assert.equal(wrongExit(outcome({ exitCode: 4, runEnd: unreachable('h2') })), undefined);
    assert.match(
      wrongExit(outcome({ exitCode: 4, runEnd: unreachable('h3') })) ?? '',
      /h3 unreachable, not faulted/,
    );
    assert.match(
      wrongExit(outcome({ exitCode: 4, injected: false, runEnd: unreachable('h2') })) ?? '',
      /no fault/,
    );
    const both = {
      status: 'unreachable',
      recap: { h2: recap({ unreachable: 1 }), h1: recap({ failed: 1 }) },
    };
    assert.match(wrongExit(outcome({ exitCode: 4, runEnd: both })) ?? '', /should be 2/);
  });

  it('takes exit 4 for a lock host it could not reach before any task (named in the reason)', () => {
    const runEnd = {
      status: 'unreachable',
      reason: 'h2: unreachable: no SSH handshake within 10s',
      recap: {},
    };
    assert.equal(wrongExit(outcome({ exitCode: 4, runEnd })), undefined);
  });

  it('wants 130 after SIGINT and no exit code, nor run_end, after SIGKILL', () => {
    assert.equal(wrongExit(outcome({ fault: 'sigint', exitCode: 130 })), undefined);
    assert.match(wrongExit(outcome({ fault: 'sigint', exitCode: 0 })) ?? '', /after SIGINT/);
    assert.equal(
      wrongExit(outcome({ fault: 'sigint', exitCode: null })),
      undefined,
      'killed by the SIGINT itself',
    );
    const { runEnd: _, ...killed } = outcome({ fault: 'sigkill', exitCode: null });
    assert.equal(wrongExit(killed), undefined);
    assert.match(wrongExit(outcome({ fault: 'sigkill', exitCode: 0 })) ?? '', /after SIGKILL/);
  });

  it('never takes an internal error, a lock held, a hang, or a gate without a fault', () => {
    assert.match(wrongExit(outcome({ exitCode: 1 })) ?? '', /internal error/);
    assert.match(wrongExit(outcome({ exitCode: 6 })) ?? '', /lock held/);
    assert.match(wrongExit(outcome({ hung: true })) ?? '', /hung/);
    assert.match(wrongExit(outcome({ exitCode: 5, injected: false })) ?? '', /no fault/);
    assert.match(wrongExit(outcome({ exitCode: 2 })) ?? '', /no failed host/);
  });
});

describe('which spans the fault explains', () => {
  it('a hand-over: a span overlapping the transfer task, or ending within 2 s of it', () => {
    const transfers = [{ from: 5000, to: 5200, samples: 0 }];
    assert.equal(overlapsAny({ from: 5100, to: 5300 }, transfers), true);
    assert.equal(overlapsAny({ from: 7000, to: 7100 }, transfers), true);
    assert.equal(overlapsAny({ from: 7300, to: 7400 }, transfers), false);
    assert.equal(overlapsAny({ from: 1000, to: 4900 }, transfers), false);
  });

  const onServer = { kind: 'freeze' as const, onServer: true, injectedAt: 10000, healedAt: 20000 };
  it('a span from injection until a little after the healing, on a server', () => {
    assert.equal(causedByFault({ from: 11000, to: 12000 }, onServer), true);
    assert.equal(causedByFault({ from: 30000, to: 31000 }, onServer), true);
    assert.equal(causedByFault({ from: 45000, to: 46000 }, onServer), true);
    assert.equal(causedByFault({ from: 51000, to: 52000 }, onServer), false);
    assert.equal(causedByFault({ from: 2000, to: 3000 }, onServer), false);
  });
  it('never one on a client, nor one around a signal to drover', () => {
    assert.equal(causedByFault({ from: 11000, to: 12000 }, { ...onServer, onServer: false }), false);
    assert.equal(causedByFault({ from: 11000, to: 12000 }, { ...onServer, kind: 'sigkill' }), false);
  });
});

describe('the report', () => {
  // A finished run that found nothing; each test changes what it is about.
  const run = (o: Partial<RunRecord>): RunRecord => ({
    ...newRecord(scenarioOf(1), 1, 3),
    operation: 'restart',
    fault: 'crash',
    target: 'leader',
    duration: 'short',
    moment: 'batch 1 of "x"',
    stage: 'x',
    targetHost: 'h1',
    faultedHosts: ['h1'],
    injected: true,
    exitCode: 0,
    acknowledged: 10,
    healingExit: 0,
    planChanged: [],
    verifyExit: 0,
    lockFreeAfter: true,
    converged: true,
    durationMs: 60000,
    ...o,
  });
  const info = {
    campaignSeed: 9,
    commit: 'abc',
    machine: 'm',
    lanes: 1,
    startedAt: 't',
    minutes: 1,
    loadAverage: '1',
    settings: [],
  };

  it('judges a recorded span again by the rule of today (a longer grace after the healing)', () => {
    const r = run({
      fault: 'crash',
      target: 'follower',
      injectedAtMs: 7000,
      healedAtMs: 17000,
      leaderless: [{ at: 33000, ms: 200, samples: 2, byFault: false, handover: false }],
    });
    assert.equal(rejudged(r).leaderless[0]?.byFault, true);
    const client = run({ ...r, target: 'client' });
    assert.equal(rejudged(client).leaderless[0]?.byFault, false, 'a fault on a client explains no election');
  });

  it('names the seed of every finding, and counts a leaderless span the fault explains apart', () => {
    const records = [
      run({ seed: 11, leaderless: [{ at: 9000, ms: 1500, samples: 15, byFault: true, handover: false }] }),
      run({ seed: 14, leaderless: [{ at: 9000, ms: 300, samples: 3, byFault: false, handover: true }] }),
      run({ seed: 15, leaderless: [{ at: 9000, ms: 800, samples: 8, byFault: false, handover: false }] }),
      run({ seed: 12, lost: [3], converged: false }),
      run({ seed: 13, wrongExit: 'exit 1 (internal error) is never right here' }),
    ];
    const f = findingsOf(records);
    assert.deepEqual(
      [f.lostWrites, f.notConverged, f.wrongExit, f.leaderlessNotByFault].map((rs) => rs.map((r) => r.seed)),
      [[12], [12], [13], [15]],
    );
    const text = renderResults(info, records);
    assert.match(text, /\| acknowledged writes lost \(of 50\) \| 1 \| 12 \|/);
    assert.match(text, /\| leaderless, by the fault \| 1 \| 1\.5 s \(seed 11\) \|/);
    assert.match(text, /\| leaderless during a hand-over drover asked for \| 1 \| 0\.3 s \(seed 14\) \|/);
    assert.match(text, /\| leaderless, not by the fault \| 1 \| 0\.8 s \(seed 15\) \|/);
    assert.match(text, /\| stage \| crash \| all \|\n\|---\|---\|---\|\n\| x \| 5 \| 5 \|/);
    assert.match(text, /\| 13 \| restart .*\| exit 1 \(internal error\) is never right here \|/);
  });
});
