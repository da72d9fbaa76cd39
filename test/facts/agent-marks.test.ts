import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readAgentMarks, touchAgentMark } from '../../src/remote/agent-marks.js';
import { owedWork } from '../../src/consul/agent/agent-owed.js';
import { parseAgentMarks, parseDockerTime, type AgentMarks } from '../../src/facts/agent-marks.js';
import { FactParseError } from '../../src/facts/fact.js';
import { exec, type Cmd } from '../../src/shell/cmd.js';
import { runLocal } from '../remote/run-local.js';

const S = 1_000_000_000n;

describe('Docker times', () => {
  it('reads RFC 3339 with nanoseconds, fewer digits, none, and the zero time', () => {
    assert.equal(parseDockerTime('1970-01-01T00:00:01.000000002Z'), S + 2n);
    assert.equal(parseDockerTime('1970-01-01T00:00:01.5Z'), S + 500_000_000n);
    assert.equal(parseDockerTime('2026-12-06T21:05:01Z'), BigInt(Date.UTC(2026, 11, 6, 21, 5, 1) / 1000) * S);
    assert.equal(parseDockerTime('0001-01-01T00:00:00Z'), 0n);
    assert.throws(() => parseDockerTime('yesterday'), FactParseError);
  });
});

describe('agent marks on the host', () => {
  it('the scripts, run by the local sh: marks written, read back after the start time docker reports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-marks-'));
    // A docker that answers `container inspect` as dockerd does for a running container.
    const bin = mkdtempSync(join(tmpdir(), 'drover-bin-'));
    writeFileSync(join(bin, 'docker'), '#!/bin/sh\necho "2001-02-03T04:05:06.5Z true"\n');
    chmodSync(join(bin, 'docker'), 0o755);
    const withPath = (cmd: Cmd): Cmd => exec('env', `PATH=${bin}:/usr/bin:/bin`, ...cmdArgv(cmd));
    const marks = join(dir, 'consul');
    assert.equal((await runLocal(withPath(touchAgentMark('consul', 'restart-owed', marks)))).code, 0);
    const r = await runLocal(withPath(readAgentMarks('consul', marks)));
    assert.equal(r.code, 0, r.stderr);
    const facts = parseAgentMarks(r.stdout);
    assert.equal(facts.running, true);
    assert.equal(facts.startedAt, parseDockerTime('2001-02-03T04:05:06.5Z'));
    assert.ok(facts.marks['restart-owed']! > facts.startedAt!, 'the mark is newer than that start');
    assert.equal(facts.marks['reloaded'], undefined);
    assert.deepEqual(owedWork(facts).restart, true);
  });

  it('reads a missing container and refuses output it does not understand', () => {
    assert.deepEqual(parseAgentMarks('started absent\n'), { running: false, marks: {} });
    assert.throws(() => parseAgentMarks(''), FactParseError);
    assert.throws(() => parseAgentMarks('started absent\nreloaded soon\n'), FactParseError);
  });
});

describe('what an agent owes', () => {
  const at = (startedAt: bigint, marks: AgentMarks['marks'], running = true): AgentMarks => ({
    startedAt,
    running,
    marks,
  });

  it('a restart when a restart-class change was written after the agent started, not before', () => {
    assert.equal(owedWork(at(10n * S, { 'restart-owed': 11n * S })).restart, true);
    assert.deepEqual(owedWork(at(10n * S, { 'restart-owed': 11n * S })).reasons, [
      'restart owed: config changed since the agent started',
    ]);
    assert.equal(owedWork(at(12n * S, { 'restart-owed': 11n * S })).restart, false);
  });

  it('a reload when a reload-class change is newer than both the start and the last reload', () => {
    assert.equal(owedWork(at(10n * S, { 'reload-owed': 11n * S })).reload, true);
    assert.equal(owedWork(at(10n * S, { 'reload-owed': 11n * S, reloaded: 12n * S })).reload, false);
    assert.equal(owedWork(at(12n * S, { 'reload-owed': 11n * S })).reload, false);
    // A restart reads everything: no reload on top of it.
    const both = owedWork(at(10n * S, { 'reload-owed': 11n * S, 'restart-owed': 11n * S }));
    assert.deepEqual([both.restart, both.reload], [true, false]);
  });

  it('nothing for an absent or stopped container: starting it reads every file', () => {
    assert.deepEqual(owedWork({ running: false, marks: { 'restart-owed': 5n } }), {
      restart: false,
      reload: false,
      reasons: [],
    });
    assert.equal(owedWork(at(0n, { 'restart-owed': 5n }, false)).restart, false);
  });
});

function cmdArgv(cmd: Cmd): string[] {
  if (cmd.kind !== 'exec') throw new Error('expected a single command');
  return cmd.argv.map((a) => (typeof a === 'string' ? a : a.reveal()));
}
