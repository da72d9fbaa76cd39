import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandRange, MAX_RANGE_HOSTS } from '../../src/inventory/resolve/ranges.js';
import { inventory, lines, problems } from './helpers.js';

const names = (text: string): string[] => {
  const r = expandRange(text);
  if ('error' in r) assert.fail(`${text}: ${r.error}`);
  return r.names;
};
const error = (text: string): string => {
  const r = expandRange(text);
  if ('names' in r) assert.fail(`${text} expanded to ${r.names.length} names`);
  return r.error;
};

test('numeric ranges, zero-padded as their beginning is written, with a stride', () => {
  assert.deepEqual(names('web[01:03].example.com'), [
    'web01.example.com',
    'web02.example.com',
    'web03.example.com',
  ]);
  assert.deepEqual(names('s[8:11]'), ['s8', 's9', 's10', 's11']);
  assert.deepEqual(names('n[01:09:4]'), ['n01', 'n05', 'n09']);
  // As in Ansible: an empty beginning is 0.
  assert.deepEqual(names('h[:2]'), ['h0', 'h1', 'h2']);
  assert.deepEqual(names('plain.example.com'), ['plain.example.com']);
});

test('letter ranges, and several ranges multiply with the first outermost (Ansible order)', () => {
  assert.deepEqual(names('db-[a:c]'), ['db-a', 'db-b', 'db-c']);
  assert.deepEqual(names('db-[A:E:2]'), ['db-A', 'db-C', 'db-E']);
  assert.deepEqual(names('r[1:2]-n[a:b]'), ['r1-na', 'r1-nb', 'r2-na', 'r2-nb']);
});

test('every malformed range says what is wrong with it', () => {
  assert.equal(error('w[3:1]'), '[3:1] begins after its end');
  assert.equal(error('x[01:9]'), '[01:9] is zero-padded to 2 digits, so its end needs 2 digits too');
  assert.equal(error('y[a:Z]'), '[a:Z] mixes lower and upper case');
  assert.equal(error('y[a:9]'), '[a:9] needs two numbers (01:20) or two single letters (a:f)');
  assert.equal(error('y[ab:c]'), '[ab:c] needs two numbers (01:20) or two single letters (a:f)');
  assert.equal(error('z[1:2:0]'), '[1:2:0] needs a step of 1 or more');
  assert.equal(error('z[1:]'), '[1:] has no end');
  assert.equal(error('z[1]'), '[1] is not [BEGIN:END] or [BEGIN:END:STEP] (such as [01:20] or [a:f])');
  assert.equal(error('q[1:3'), '"q[1:3" has a "[" that is never closed');
  assert.equal(error('q1:3]'), '"q1:3]" has a "]" with no "[" before it');
  assert.equal(error('q[1:[2:3]]'), '"q[1:[2:3]]" nests one range in another');
});

test('a range may stand for at most MAX_RANGE_HOSTS names, alone or multiplied', () => {
  assert.equal(names(`h[1:${MAX_RANGE_HOSTS}]`).length, MAX_RANGE_HOSTS);
  assert.equal(
    error(`h[0:${MAX_RANGE_HOSTS}]`),
    `[0:${MAX_RANGE_HOSTS}] stands for more than ${MAX_RANGE_HOSTS} values`,
  );
  assert.equal(
    error('h[1:1000]-[1:1000]'),
    `"h[1:1000]-[1:1000]" stands for more than ${MAX_RANGE_HOSTS} names; drover expands at most that many`,
  );
});

test('a range entry: every host gets its vars; an address range gives the n-th host the n-th address', () => {
  const inv = inventory(
    lines(
      'all:',
      '  children:',
      '    servers:',
      '      hosts:',
      '        s[1:3]:',
      '          address: 10.0.1.[11:13]',
      '          rack: r1',
      '    canary:',
      '      hosts:',
      '        s2:',
    ),
  );
  assert.deepEqual([...inv.hosts.keys()], ['s1', 's2', 's3']);
  assert.deepEqual(
    [...inv.hosts.values()].map((h) => [h.address, h.vars['bind_addr'], h.vars['rack']]),
    [
      ['10.0.1.11', '10.0.1.11', 'r1'],
      ['10.0.1.12', '10.0.1.12', 'r1'],
      ['10.0.1.13', '10.0.1.13', 'r1'],
    ],
  );
  assert.deepEqual(inv.groups.get('servers')?.hosts, ['s1', 's2', 's3']);
  assert.deepEqual(inv.hosts.get('s2')?.groups, ['all', 'servers', 'canary']);
  // Each host is located at the range entry, its address at the address range.
  assert.equal(inv.hosts.get('s3')?.origin?.path, 'all.children.servers.hosts.s[1:3]');
  assert.deepEqual(inv.locateVar?.('s3', 'address'), {
    file: '/inv/prod.yaml',
    line: 6,
    column: 20,
    path: 'all.children.servers.hosts.s[1:3].address',
  });
});

test('a range entry without an address: each host is reached at its name, located at the entry', () => {
  const inv = inventory(
    lines(
      'all:',
      '  children:',
      '    web:',
      '      hosts:',
      '        web[01:02].example.com: { http_port: 80 }',
    ),
  );
  const web02 = inv.hosts.get('web02.example.com');
  assert.equal(web02?.address, 'web02.example.com');
  assert.equal(web02?.vars['address'], 'web02.example.com');
  assert.equal(web02?.vars['bind_addr'], 'web02.example.com');
  assert.equal(web02?.vars['http_port'], 80);
  assert.deepEqual(inv.locateVar?.('web02.example.com', 'bind_addr'), {
    file: '/inv/prod.yaml',
    line: 5,
    column: 33,
    path: 'all.children.web.hosts.web[01:02].example.com',
  });
  // A host listed by name, not by a range, still needs its address.
  assert.deepEqual(problems(lines('all:', '  hosts:', '    h1: { port: 1 }')), [
    '/inv/prod.yaml:3:9 all.hosts.h1: missing required key "address"',
  ]);
});

test('bad ranges, a shared address and a count mismatch are located errors, all in one run', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  hosts:',
        '    ok: { address: 10.0.0.1 }',
        '    w[3:1]:',
        '    s[1:3]:',
        '      address: 10.0.1.1',
        '    r[1:2]:',
        '      address: 10.0.2.[1:3]',
        '    t[1:2]:',
        '      address: "10.0.3.[1:"',
        '    "bad name[1:2]":',
      ),
    ),
    [
      '/inv/prod.yaml:4:12 all.hosts.w[3:1]: bad host range: [3:1] begins after its end',
      '/inv/prod.yaml:6:16 all.hosts.s[1:3].address: the 3 hosts of range "s[1:3]" cannot share one address: ' +
        "write a range here too (address: 10.0.1.[11:30]), or leave address out to make each host's address its name",
      '/inv/prod.yaml:8:16 all.hosts.r[1:2].address: the address range stands for 3 addresses and the host ' +
        'range "r[1:2]" for 2 hosts; the n-th host gets the n-th address, so they must be as many',
      '/inv/prod.yaml:10:16 all.hosts.t[1:2].address: bad address range: "10.0.3.[1:" has a "[" that is never closed',
      '/inv/prod.yaml:11:21 all.hosts.bad name[1:2]: "bad name[1:2]" is not a valid host name (letters, digits, "_", "." and "-")',
    ],
  );
});

test('two range entries that meet on a host must agree on its address, as any two entries of a host must', () => {
  assert.deepEqual(
    problems(
      lines(
        'all:',
        '  children:',
        '    a:',
        '      hosts:',
        '        h[1:2]: { address: "10.0.0.[1:2]" }',
        '    b:',
        '      hosts:',
        '        h[2:3]: { address: "10.0.0.[5:6]" }',
      ),
    ),
    [
      '/inv/prod.yaml:8:28 all.children.b.hosts.h[2:3].address: host "h2" already has a different address at ' +
        "line 5:28; a host's vars must agree",
    ],
  );
});
