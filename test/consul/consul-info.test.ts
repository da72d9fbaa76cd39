import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConsulInfo } from '../../src/consul/parse/consul-info.js';
import { ConsulOutputError } from '../../src/consul/api/output-error.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

test('the documented sample: a leader, caught up, with its serf counts', () => {
  const info = parseConsulInfo(fixture('info-doc-sample.txt'));
  assert.deepEqual([...info.sections.keys()], ['agent', 'consul', 'raft', 'serf_lan', 'serf_wan']);
  assert.equal(info.isServer, true);
  assert.equal(info.isLeader, true);
  assert.equal(info.raftState, 'Leader');
  assert.equal(info.commitIndex, 45832);
  assert.equal(info.lastLogIndex, 45832);
  assert.equal(info.caughtUp, true);
  assert.equal(info.numPeers, 2);
  assert.equal(info.term, 4);
  assert.deepEqual(info.serfLan, { members: 3, failed: 0, left: 0, encrypted: undefined });
  assert.equal(info.value('serf_wan', 'members'), '1');
  // The doc's "... (same keys) ..." line is not a key.
  assert.equal(info.sections.get('serf_wan')?.size, 2);
});

test('real tab-indented 1.7.4 server output: follower, empty values, duration, IPv6 leader', () => {
  const info = parseConsulInfo(fixture('info-server-1.7.4.txt'));
  assert.equal(info.raftState, 'Follower');
  assert.equal(info.isLeader, false);
  assert.equal(info.leaderAddr, '[2a06:98c0:1400:100::c629:990d]:8300');
  assert.equal(info.value('build', 'prerelease'), '');
  assert.equal(info.version, '1.7.4+1');
  assert.equal(info.lastContactMs, 53.901869);
  assert.equal(info.commitIndex, 2443786);
  assert.equal(info.caughtUp, true);
  assert.equal(info.numPeers, 2);
  assert.equal(info.serfLan.members, 311);
  assert.equal(info.serfLan.encrypted, true);
  assert.match(info.value('raft', 'latest_configuration') ?? '', /^\[\{Suffrage:Voter/);
  assert.equal(info.value('runtime', 'version'), 'go1.13.12');
});

test('a client has no raft section; space indentation, stray quote and an empty leader_addr are fine', () => {
  const text = [
    'build:',
    '    prerelease =',
    "    revision = '21f2d5a",
    '    version = 0.7.0',
    'consul:',
    '    known_servers = 3',
    '    leader_addr =',
    '    server = false',
    'serf_lan:',
    '    encrypted = false',
    '    failed = 1',
    '    members = 5',
    '',
  ].join('\r\n');
  const info = parseConsulInfo(text);
  assert.equal(info.hasRaft, false);
  assert.equal(info.isServer, false);
  assert.equal(info.raftState, undefined);
  assert.equal(info.commitIndex, undefined);
  assert.equal(info.caughtUp, undefined);
  assert.equal(info.knownServers, 3);
  assert.equal(info.leaderAddr, undefined);
  assert.equal(info.value('build', 'revision'), '21f2d5a');
  assert.deepEqual(info.serfLan, { members: 5, failed: 1, left: undefined, encrypted: false });
});

test('a follower that is behind is not caught up; a leader has last_contact 0', () => {
  const info = parseConsulInfo(
    'raft:\n\tcommit_index = 90\n\tlast_log_index = 100\n\tlast_contact = 0\n\tstate = Candidate\n',
  );
  assert.equal(info.caughtUp, false);
  assert.equal(info.lastContactMs, 0);
  assert.equal(info.raftState, 'Candidate');
});

test('garbage where a number or state belongs is an error, not a guess', () => {
  assert.throws(
    () => parseConsulInfo('raft:\n\tcommit_index = lots\n').commitIndex,
    /raft\.commit_index is "lots"/,
  );
  assert.throws(() => parseConsulInfo('raft:\n\tstate = Sleeping\n').raftState, /raft\.state is "Sleeping"/);
  assert.throws(() => parseConsulInfo('consul:\n\tserver = yes\n').isServer, /consul\.server is "yes"/);
});

test('output that is not consul info is rejected with what it printed', () => {
  assert.throws(
    () => parseConsulInfo(''),
    (e: unknown) => e instanceof ConsulOutputError && /printed nothing/.test(e.message),
  );
  assert.throws(
    () =>
      parseConsulInfo(
        'Error querying agent: Get "http://127.0.0.1:8500/v1/agent/self": connection refused\n',
      ),
    /consul info: no sections found; it printed: Error querying agent/,
  );
  assert.throws(() => parseConsulInfo('commit_index = 5\n'), /before any section header/);
});
