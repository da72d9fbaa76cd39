import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRaftPeersTable } from '../../src/consul/parse/raft-peers-table.js';

test('the current layout with Commit Index and Trails Leader By', () => {
  const text = [
    'Node   ID              Address         State     Voter  RaftProtocol  Commit Index  Trails Leader By',
    'alice  127.0.0.1:8300  127.0.0.1:8300  follower  true   2             1167          0 commits',
    'bob    127.0.0.2:8300  127.0.0.2:8300  leader    true   3             1167          -',
    'carol  127.0.0.3:8300  127.0.0.3:8300  follower  true   2             1159          8 commits',
  ].join('\n');
  assert.deepEqual(parseRaftPeersTable(text), [
    {
      node: 'alice',
      id: '127.0.0.1:8300',
      address: '127.0.0.1:8300',
      state: 'follower',
      voter: true,
      raftProtocol: '2',
      commitIndex: 1167,
      trailsLeaderBy: 0,
    },
    {
      node: 'bob',
      id: '127.0.0.2:8300',
      address: '127.0.0.2:8300',
      state: 'leader',
      voter: true,
      raftProtocol: '3',
      commitIndex: 1167,
      trailsLeaderBy: 0,
    },
    {
      node: 'carol',
      id: '127.0.0.3:8300',
      address: '127.0.0.3:8300',
      state: 'follower',
      voter: true,
      raftProtocol: '2',
      commitIndex: 1159,
      trailsLeaderBy: 8,
    },
  ]);
});

test('the older layout stops after RaftProtocol', () => {
  const text = [
    'Node   ID              Address         State     Voter  RaftProtocol',
    'alice  127.0.0.1:8300  127.0.0.1:8300  follower  false  2',
    'bob    127.0.0.2:8300  127.0.0.2:8300  leader    true   3',
  ].join('\n');
  const peers = parseRaftPeersTable(text);
  assert.equal(peers.length, 2);
  assert.deepEqual(peers[0], {
    node: 'alice',
    id: '127.0.0.1:8300',
    address: '127.0.0.1:8300',
    state: 'follower',
    voter: false,
    raftProtocol: '2',
  });
  assert.equal(peers[1]?.state, 'leader');
  assert.equal(peers[1]?.commitIndex, undefined);
});

test('a Voter cell that is not true/false, or no output, is an error', () => {
  assert.throws(
    () =>
      parseRaftPeersTable(
        'Node  ID  Address  State  Voter  RaftProtocol\na  x  1.2.3.4:8300  follower  maybe  3\n',
      ),
    /Voter "maybe"/,
  );
  assert.throws(() => parseRaftPeersTable('\n'), /printed nothing/);
  assert.throws(() => parseRaftPeersTable('Error getting peers: No cluster leader\n'), /column/);
});
