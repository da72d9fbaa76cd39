import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMembersTable } from '../../src/consul/parse/members-table.js';
import { ConsulOutputError } from '../../src/consul/api/output-error.js';

test('the older 7-column layout from the upgrade guide', () => {
  const text = [
    'Node       Address         Status  Type    Build  Protocol  DC',
    'dc1-node1  10.11.0.2:8301  alive   server  1.8.3  2         dc1',
    'dc1-node2  10.11.0.3:8301  alive   server  1.8.3  2         dc1',
  ].join('\n');
  assert.deepEqual(parseMembersTable(text), [
    {
      node: 'dc1-node1',
      address: '10.11.0.2:8301',
      status: 'alive',
      type: 'server',
      build: '1.8.3',
      protocol: 2,
      dc: 'dc1',
    },
    {
      node: 'dc1-node2',
      address: '10.11.0.3:8301',
      status: 'alive',
      type: 'server',
      build: '1.8.3',
      protocol: 2,
      dc: 'dc1',
    },
  ]);
});

test('the newer documented layout, exactly as printed', () => {
  const text = [
    'Node    Address         Status  Type    Build  Protocol  DC   Partition  Segment',
    'Steven  127.0.0.1:8301  alive   server  2.0.4  2         dc1  default    <all>',
  ].join('\n');
  assert.deepEqual(parseMembersTable(text), [
    {
      node: 'Steven',
      address: '127.0.0.1:8301',
      status: 'alive',
      type: 'server',
      build: '2.0.4',
      protocol: 2,
      dc: 'dc1',
      partition: 'default',
      segment: '<all>',
    },
  ]);
});

test('the newer layout with a failed client', () => {
  const text = [
    'Node     Address         Status  Type    Build  Protocol  DC   Partition  Segment',
    'Steven   127.0.0.1:8301  alive   server  2.0.4  2         dc1  default    <all>',
    'client1  127.0.0.2:8301  failed  client  2.0.4  2         dc1  default    <default>',
  ].join('\n');
  const rows = parseMembersTable(text);
  assert.deepEqual(rows[0], {
    node: 'Steven',
    address: '127.0.0.1:8301',
    status: 'alive',
    type: 'server',
    build: '2.0.4',
    protocol: 2,
    dc: 'dc1',
    partition: 'default',
    segment: '<all>',
  });
  assert.equal(rows[1]?.status, 'failed');
  assert.equal(rows[1]?.segment, '<default>');
});

test('columns are found by header, so reordered or tab-separated tables parse the same', () => {
  const text =
    'Status\tNode\tDC\tAddress\tType\tBuild\tProtocol\nleft\tc2\tdc1\t10.0.0.9:8301\tclient\t1.20.1\t2\n';
  assert.deepEqual(parseMembersTable(text), [
    {
      node: 'c2',
      address: '10.0.0.9:8301',
      status: 'left',
      type: 'client',
      build: '1.20.1',
      protocol: 2,
      dc: 'dc1',
    },
  ]);
});

test('an empty cell keeps the other cells in their columns', () => {
  const text = [
    'Node  Address         Status  Type    Build   Protocol  DC   Partition  Segment',
    's1    10.0.0.1:8301   alive   server  1.20.1  2         dc1             <all>',
  ].join('\n');
  const [row] = parseMembersTable(text);
  assert.equal(row?.partition, '');
  assert.equal(row?.segment, '<all>');
  assert.equal(row?.dc, 'dc1');
});

test('an empty table is an error (no ACL token prints nothing)', () => {
  assert.throws(
    () => parseMembersTable(''),
    (e: unknown) => e instanceof ConsulOutputError && /printed nothing/.test(e.message),
  );
  assert.throws(
    () => parseMembersTable('Node  Address  Status  Type  Build  Protocol  DC\n'),
    /header but no members/,
  );
});

test('a table that is not consul members is rejected with what is missing', () => {
  assert.throws(
    () => parseMembersTable('Node  Address\ns1    10.0.0.1:8301\n'),
    /no "Status", "Type", "Build", "Protocol", "DC" column/,
  );
  assert.throws(
    () =>
      parseMembersTable(
        'Node  Address  Status  Type  Build  Protocol  DC\ns1  10.0.0.1:8301  sleepy  server  1.0  2  dc1\n',
      ),
    /status "sleepy"/,
  );
});
