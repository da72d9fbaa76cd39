/**
 * Engine features for quorum-safe rolls: a play's `order` asked before every batch, gate
 * failures that abort the run with exit 5, not-reached hosts, templated `serial`, extra vars,
 * `group_by`, and `check_mode: true`. Also the `consul_leader_last` orderer over a
 * RecordingTransport that answers like Consul agents.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, ExitCode, GateError } from '../../src/errors.js';
import { selectHosts } from '../../src/inventory/patterns.js';
import type { ConversationModule, Outcome } from '../../src/modules/module.js';
import { parsePlaybookText } from '../../src/playbook/load-playbook.js';
import { consulLeaderLast } from '../../src/consul/gates/leader-last-orderer.js';
import type { HostOrderer } from '../../src/runner/orderers.js';
import { execStep } from '../../src/remote/step.js';
import { exec } from '../../src/shell/cmd.js';
import type { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { makeInventory, runWith, testModules } from './helpers.js';
import { exitCodeFor } from '../../src/report/conclusion.js';

/** `gate: {fail?}`: a read-only check that throws GateError when told to (as consul_gate does). */
const gateModule: ConversationModule<{ fail?: boolean; node?: string }> = {
  kind: 'conversation',
  name: 'gate',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { fail: { type: 'boolean' }, node: { type: 'string' } },
  },
  async run(args, ctx): Promise<Outcome> {
    await ctx.steps.run(execStep('read', exec('gate', ctx.host.name)));
    if (args.fail) throw new GateError(`gate on ${ctx.host.name}: not back after 1s`);
    return { changed: false, summary: 'gate passed' };
  },
};
const modules = { ...testModules, gate: gateModule };
const book = (yaml: string) => parsePlaybookText(yaml, 'roll.yaml', modules);

const cluster = makeInventory({ groups: { servers: ['s1', 's2', 's3'], clients: ['c1', 'c2'] } });

const batchesOf = (r: Awaited<ReturnType<typeof runWith>>): string[][] =>
  r.reporter.events.flatMap((e) => (e.kind === 'batch' ? [[...e.hosts]] : []));

test('static orders: reverse_inventory and sorted, with serial batches', async () => {
  const inv = makeInventory({ groups: { all5: ['b', 'c', 'a', 'e', 'd'] } });
  const run = (order: string) =>
    runWith(
      book(`- hosts: all5\n  serial: 2\n  order: ${order}\n  tasks:\n    - probe: { what: x }\n`),
      inv,
      {
        modules,
      },
    );
  assert.deepEqual(batchesOf(await run('reverse_inventory')), [['d', 'e'], ['a', 'c'], ['b']]);
  assert.deepEqual(batchesOf(await run('sorted')), [['a', 'b'], ['c', 'd'], ['e']]);
  assert.deepEqual(batchesOf(await run('reverse_sorted')), [['e', 'd'], ['c', 'b'], ['a']]);
  assert.deepEqual(batchesOf(await run('inventory')), [['b', 'c'], ['a', 'e'], ['d']]);
});

test('a named orderer is asked before EACH batch with the hosts not yet run', async () => {
  // The "leader" moves: s1 at first, then s3 (not yet run), as a real cluster's might.
  const leaders = ['s1', 's3', 's3'];
  const asked: string[][] = [];
  const leaderLast: HostOrderer = (remaining, ctx) => {
    asked.push([...remaining]);
    const leader = leaders[asked.length - 1] as string;
    ctx.note(`leader ${leader}`);
    return [...remaining.filter((h) => h !== leader), ...remaining.filter((h) => h === leader)];
  };
  const r = await runWith(
    book('- hosts: servers\n  serial: 1\n  order: leader_last\n  tasks:\n    - shell: { cmd: restart }\n'),
    cluster,
    { modules, orderers: { leader_last: leaderLast } },
  );
  assert.equal(exitCodeFor(r.status), 0);
  // Each call gets what is left, in the order the previous call gave it.
  assert.deepEqual(asked, [['s1', 's2', 's3'], ['s3', 's1'], ['s3']]);
  // s2 first (s1 led), then s1 (s3 took over), the leader s3 last.
  assert.deepEqual(batchesOf(r), [['s2'], ['s1'], ['s3']]);
  assert.deepEqual(r.reporter.notes, ['leader s1', 'leader s3', 'leader s3']);
});

test('an unknown order is a ConfigError before any host is contacted', async () => {
  await assert.rejects(
    runWith(book('- hosts: servers\n  order: nosuch\n  tasks:\n    - probe: { what: x }\n'), cluster, {
      modules,
    }),
    (err: unknown) => err instanceof ConfigError && /unknown order "nosuch"/.test(err.message),
  );
});

test('an orderer that returns other hosts, or throws, stops the run; a GateError makes it exit 5', async () => {
  const wrong = await runWith(
    book('- hosts: servers\n  serial: 1\n  order: bad\n  tasks:\n    - probe: { what: x }\n'),
    cluster,
    { modules, orderers: { bad: () => ['s1'] } },
  );
  assert.equal(wrong.status, 'failed');
  assert.equal(exitCodeFor(wrong.status), ExitCode.taskFailed);
  assert.match(wrong.abortReason ?? '', /order bad failed: orderer "bad" returned \[s1\]/);
  assert.deepEqual(wrong.connects, []);

  const refused = await runWith(
    book('- hosts: servers\n  serial: 1\n  order: gated\n  tasks:\n    - probe: { what: x }\n'),
    cluster,
    {
      modules,
      orderers: {
        gated: () => {
          throw new GateError('no Consul server answered');
        },
      },
    },
  );
  assert.equal(refused.status, 'aborted');
  assert.equal(exitCodeFor(refused.status), ExitCode.gateAborted);
  assert.deepEqual(refused.notReachedHosts, ['s1', 's2', 's3']);
});

const rollBook = `
- name: pre-flight
  hosts: servers:clients
  tasks:
    - name: pre-flight
      gate: {}
- name: servers
  hosts: servers
  serial: 1
  defaults:
    gate_fails: false
  tasks:
    - name: restart consul
      shell: { cmd: restart }
    - name: server is back
      gate: { fail: "{{ gate_fails }}" }
- name: clients
  hosts: clients
  tasks:
    - name: restart consul
      shell: { cmd: restart }
`;

test('a gate that fails aborts the run: exit 5, later batches and plays untouched, not-reached hosts named', async () => {
  const ok = await runWith(book(rollBook), cluster, { modules });
  assert.equal(exitCodeFor(ok.status), 0, ok.reporter.lines.join('\n'));
  assert.deepEqual(ok.notReachedHosts, []);

  const s2Fails = makeInventory({
    groups: { servers: ['s1', 's2', 's3'], clients: ['c1', 'c2'] },
    vars: { s2: { gate_fails: true } },
  });
  const r = await runWith(book(rollBook), s2Fails, { modules });
  assert.equal(r.status, 'aborted');
  assert.equal(exitCodeFor(r.status), ExitCode.gateAborted);
  assert.match(
    r.abortReason ?? '',
    /^play "servers": gate "server is back" failed on s2: gate on s2: not back after 1s; stopping the run$/,
  );
  // s1 and s2 restarted, s3 and the clients never: the roll stopped before the next server.
  assert.deepEqual(
    r.reporter.lines.filter((l) => l.includes('restart consul')),
    ['changed s1 restart consul', 'changed s2 restart consul'],
  );
  assert.deepEqual(r.failedHosts, ['s2']);
  assert.deepEqual(r.changedHosts, ['s1', 's2']);
  assert.deepEqual(r.notReachedHosts, ['s3', 'c1', 'c2']);
  assert.ok(!(r.transports.get('s3') as RecordingTransport).commands.includes('sh -c restart'));
});

test('ignore_errors on a gate lets the run go on; failed_when false overrules the refusal', async () => {
  const yaml = (extra: string) => `
- hosts: servers
  serial: 1
  tasks:
    - name: gate
      gate: { fail: true }
${extra}
    - name: after
      probe: { what: x }
`;
  const ignored = await runWith(book(yaml('      ignore_errors: true')), cluster, { modules });
  assert.equal(ignored.status, 'ok');
  assert.equal(ignored.reporter.lines.filter((l) => l.endsWith(' after')).length, 3);
  const overruled = await runWith(book(yaml('      failed_when: false')), cluster, { modules });
  assert.equal(overruled.status, 'ok');
});

test('templated serial and extra vars: extra vars win over play vars and registered results', async () => {
  const yaml = `
- hosts: servers:clients
  serial: "{{ roll_serial }}"
  defaults:
    roll_serial: "25%"
    image: old
  vars:
    image: play
  tasks:
    - name: note
      shell: { cmd: "echo {{ image }}" }
      register: image
    - name: use
      shell: { cmd: "use {{ image }}" }
`;
  const r = await runWith(book(yaml), cluster, { modules, extraVars: { roll_serial: '2', image: 'new' } });
  assert.deepEqual(batchesOf(r), [['s1', 's2'], ['s3', 'c1'], ['c2']]);
  assert.ok(
    r.transports.get('s1')?.commands.some((c) => c === "sh -c 'use new'"),
    r.transports.get('s1')?.commands.join('\n'),
  );

  const byDefault = await runWith(book(yaml), cluster, { modules });
  assert.deepEqual(batchesOf(byDefault), [['s1'], ['s2'], ['s3'], ['c1'], ['c2']]);

  await assert.rejects(
    runWith(book(yaml), cluster, { modules, extraVars: { roll_serial: 'half' } }),
    (err: unknown) =>
      err instanceof ConfigError && /serial "\{\{ roll_serial \}\}" gave "half"/.test(err.message),
  );
});

test('group_by makes a group later plays select; a named group exists even when empty', async () => {
  const yaml = `
- hosts: servers:clients
  tasks:
    - name: pick
      group_by: { key: pending }
      when: inventory_hostname in ['s2', 'c1']
- name: roll
  hosts: servers:&pending
  tasks:
    - probe: { what: x }
- name: none
  hosts: nobody
  tasks:
    - probe: { what: y }
`;
  const withNobody = yaml.replace(
    '    - name: pick\n',
    '    - name: never\n      group_by: { key: nobody }\n      when: false\n    - name: pick\n',
  );
  // The inventory's own pattern matcher: `a:&b` intersections.
  const r = await runWith(book(withNobody), cluster, { modules, selectHosts });
  assert.equal(r.status, 'ok');
  const plays = r.reporter.events.flatMap((e) => (e.kind === 'play' ? [[e.play, [...e.hosts]]] : []));
  assert.deepEqual(plays, [
    ['servers:clients', ['s1', 's2', 's3', 'c1', 'c2']],
    ['roll', ['s2']],
    ['none', []],
  ]);
});

test('check_mode: true only plans, even in a real run, and registers whether it would change', async () => {
  const r = await runWith(
    book(`
- hosts: servers
  tasks:
    - name: would write
      write: { path: /etc/x, content: new }
      check_mode: true
      register: plan
    - name: follow-up
      shell: { cmd: "changed={{ plan.changed }}" }
`),
    cluster,
    { modules },
  );
  const s1 = r.transports.get('s1') as RecordingTransport;
  assert.ok(!s1.commands.some((c) => c.startsWith('write ')), 'nothing may be written');
  assert.ok(s1.commands.includes('sh -c changed=true'), s1.commands.join('\n'));
  assert.deepEqual(r.reporter.lines.slice(0, 1), ['changed s1 would write']);
});

/** A cluster of three servers whose leader, as s1's agent reports it, is read from `leaders` in turn. */
function leaderScript(leaders: string[]) {
  let calls = 0;
  return (t: RecordingTransport) => {
    if (t.host !== 's1') return;
    t.onHttp('GET 127.0.0.1:8500/v1/status/leader', () => ({
      body: JSON.stringify(leaders[Math.min(calls++, leaders.length - 1)]),
    }));
  };
}

test('consul_leader_last: followers first, the leader last, looked up again before every server', async () => {
  const inv = makeInventory({
    groups: { servers: ['s1', 's2', 's3'], clients: ['c1'] },
    vars: { s1: { bind_addr: '10.0.0.1' }, s2: { bind_addr: '10.0.0.2' }, s3: { bind_addr: '10.0.0.3' } },
  });
  // s1 leads, then (after s2's restart) s3 takes over and keeps it.
  const r = await runWith(
    book(
      '- hosts: servers\n  serial: 1\n  order: consul_leader_last\n  tasks:\n    - shell: { cmd: restart }\n',
    ),
    inv,
    {
      modules,
      orderers: { consul_leader_last: consulLeaderLast },
      script: leaderScript(['10.0.0.1:8300', '10.0.0.3:8300', '10.0.0.3:8300']),
    },
  );
  assert.equal(exitCodeFor(r.status), 0, r.reporter.notes.join('\n'));
  assert.deepEqual(batchesOf(r), [['s2'], ['s1'], ['s3']]);
  const s1 = r.transports.get('s1') as RecordingTransport;
  assert.equal(s1.httpCalls.filter((c) => c.path === '/v1/status/leader').length, 3);
  assert.match(
    r.reporter.notes[0] ?? '',
    /^consul_leader_last: leader s1 \(10\.0\.0\.1:8300\); order s2, s3, s1$/,
  );
});

test('consul_leader_last: no Consul server answering aborts the roll with exit 5', async () => {
  const inv = makeInventory({
    groups: { servers: ['s1', 's2', 's3'] },
    vars: { s1: { bind_addr: '10.0.0.1' }, s2: { bind_addr: '10.0.0.2' }, s3: { bind_addr: '10.0.0.3' } },
  });
  const r = await runWith(
    book(
      '- hosts: servers\n  serial: 1\n  order: consul_leader_last\n  tasks:\n    - shell: { cmd: restart }\n',
    ),
    inv,
    {
      modules,
      orderers: { consul_leader_last: consulLeaderLast },
      script: (t) => {
        t.onHttp(/.*/, () => {
          throw new Error('connect ECONNREFUSED');
        });
      },
    },
  );
  assert.equal(r.status, 'aborted');
  assert.equal(exitCodeFor(r.status), ExitCode.gateAborted);
  assert.match(
    r.abortReason ?? '',
    /order consul_leader_last failed: cannot order the roll leader-last through any host of play "servers" \(via s1: cannot order the restart leader-last: no Consul server answered .*; via s2: .*; via s3: /,
  );
  assert.deepEqual(r.reporter.lines, []);
});
