/**
 * Rolling restarts over several datacenters in one inventory: the pre-flight and the gates judge
 * each node against its own datacenter (Raft, autopilot and the LAN pool are per datacenter),
 * `consul_leader_last` goes datacenter by datacenter with each one's leader last, and the real
 * consul-rolling-restart.yaml rolls a scripted east (3 servers) + west (5 servers) cluster.
 */
import { moduleContext } from '../modules/context.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GateAgents } from '../../src/consul/gates/gate-agents.js';
import { planLeaderLast, type OrderContext } from '../../src/consul/gates/restart-order.js';
import { ConfigError, ExitCode, GateError } from '../../src/errors.js';
import type { Vars } from '../../src/inventory/types.js';
import { consulGateModule } from '../../src/modules/consul-gate.js';
import { consulPreflightModule, PreflightRefusedError } from '../../src/modules/consul-preflight.js';
import type { ConversationContext } from '../../src/modules/module.js';
import { builtinModules } from '../../src/modules/registry.js';
import { parsePlaybookText } from '../../src/playbook/load-playbook.js';
import { builtinOrderers } from '../../src/consul/gates/leader-last-orderer.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import type { HttpRequest } from '../../src/ssh/transport.js';
import { makeInventory, runWith } from '../runner/helpers.js';
import { exitCodeFor } from '../../src/report/conclusion.js';

interface Agent {
  name: string;
  ip: string;
  dc: 'east' | 'west';
  server: boolean;
  up: boolean;
}

/**
 * Two datacenters as Consul runs them: each has its own Raft leader, autopilot view and LAN
 * members, and an agent answers only about its own datacenter (shapes as in consul-gate.test.ts).
 * Every host's transport reaches its own agent on 127.0.0.1 and the others at their bind_addr.
 */
class FakeDatacenters {
  readonly agents: Agent[] = [
    ...[1, 2, 3].map((i) => ({ name: `e${i}`, ip: `127.0.1.${10 + i}`, dc: 'east' as const, server: true })),
    ...[1, 2, 3, 4, 5].map((i) => ({
      name: `w${i}`,
      ip: `127.0.2.${10 + i}`,
      dc: 'west' as const,
      server: true,
    })),
    { name: 'ec1', ip: '127.0.1.21', dc: 'east' as const, server: false },
    { name: 'wc1', ip: '127.0.2.21', dc: 'west' as const, server: false },
  ].map((a) => ({ ...a, up: true }));
  leaders: Record<Agent['dc'], string> = { east: 'e1', west: 'w3' };
  /** `docker restart consul`, in order, with which leader each datacenter had at that moment. */
  readonly restarts: { host: string; leaders: string }[] = [];
  /** Called after each restart, e.g. to move leadership. */
  onRestart: (host: string) => void = () => undefined;

  agent(name: string): Agent {
    const a = this.agents.find((x) => x.name === name);
    if (!a) throw new Error(`no agent ${name}`);
    return a;
  }

  transport(from: string): RecordingTransport {
    const t = new RecordingTransport(from);
    t.onHttp(/^GET /, (req) => this.answer(from, req));
    t.onHttp(/^POST .*\/v1\/operator\/raft\/transfer-leader$/, () => this.transfer(from));
    t.onExec('docker restart consul', () => {
      this.restarts.push({ host: from, leaders: `${this.leaders.east}/${this.leaders.west}` });
      this.onRestart(from);
      return { code: 0 };
    });
    return t;
  }

  /** Consul 1.15+ leadership transfer, asked of `from`'s agent: the next up server of its datacenter leads. */
  transfer(from: string): { status: number; body: string } {
    const { dc } = this.agent(from);
    const next = this.agents.find((a) => a.dc === dc && a.server && a.up && a.name !== this.leaders[dc]);
    if (!next) return { status: 500, body: 'cannot find peer' };
    this.leaders[dc] = next.name;
    return { status: 200, body: '{"Success":true}' };
  }

  answer(from: string, req: HttpRequest): { status?: number; body: string } {
    const agent = req.host === '127.0.0.1' ? this.agent(from) : this.agents.find((a) => a.ip === req.host);
    if (!agent || !agent.up) throw new Error(`connect ECONNREFUSED ${req.host}:${req.port}`);
    const json = (v: unknown): { body: string } => ({ body: JSON.stringify(v) });
    const local = this.agents.filter((a) => a.dc === agent.dc);
    const servers = local.filter((a) => a.server);
    const leaderIp = this.agent(this.leaders[agent.dc]).ip;
    switch (req.path) {
      case '/v1/status/leader':
        return json(`${leaderIp}:8300`);
      case '/v1/operator/raft/configuration':
        return json({
          Servers: servers.map((s) => ({
            ID: `id-${s.name}`,
            Node: s.name,
            Address: `${s.ip}:8300`,
            Leader: s.ip === leaderIp,
            Voter: true,
            ProtocolVersion: '3',
          })),
          Index: 46,
        });
      case '/v1/agent/members':
        return json(local.map((a) => member(a)));
      case '/v1/operator/autopilot/health': {
        const healthy = servers.every((s) => s.up);
        const upCount = servers.filter((s) => s.up).length;
        return {
          status: healthy ? 200 : 429,
          body: JSON.stringify({
            Healthy: healthy,
            FailureTolerance: Math.max(0, upCount - (Math.floor(servers.length / 2) + 1)),
            Servers: servers.map((s) => ({
              ID: `id-${s.name}`,
              Name: s.name,
              Address: `${s.ip}:8300`,
              SerfStatus: s.up ? 'alive' : 'failed',
              Version: '1.20.1',
              Leader: s.ip === leaderIp,
              LastContact: '10ms',
              LastTerm: 3,
              LastIndex: 46,
              Healthy: s.up,
              Voter: true,
              StableSince: '2026-01-01T00:00:00Z',
            })),
          }),
        };
      }
      case '/v1/agent/self':
        return json({
          Config: { Datacenter: agent.dc, NodeName: agent.name, Server: agent.server, Version: '1.20.1' },
          Member: member(agent),
          Stats: {
            consul: { server: String(agent.server) },
            ...(agent.server
              ? { raft: { commit_index: '46', last_log_index: '46', state: 'Follower' } }
              : {}),
          },
        });
      default:
        throw new Error(`unscripted path ${req.path}`);
    }
  }
}

const member = (a: Agent) => ({
  Name: a.name,
  Addr: a.ip,
  Port: 8301,
  Tags: { role: a.server ? 'consul' : 'node', dc: a.dc, port: '8300' },
  Status: a.up ? 1 : 4,
});

const SERVERS = ['e1', 'e2', 'e3', 'w1', 'w2', 'w3', 'w4', 'w5'];
const CLIENTS = ['ec1', 'wc1'];

function inventory(servers: string[] = SERVERS) {
  const fake = new FakeDatacenters();
  return makeInventory({
    groups: {
      servers,
      clients: CLIENTS,
      dc_east: ['e1', 'e2', 'e3', 'ec1'],
      dc_west: ['w1', 'w2', 'w3', 'w4', 'w5', 'wc1'],
    },
    groupVars: { dc_east: { consul_datacenter: 'east' }, dc_west: { consul_datacenter: 'west' } },
    vars: Object.fromEntries(fake.agents.map((a) => [a.name, { bind_addr: a.ip }])),
  });
}

/** The `groups`/`hostvars` a task sees for this inventory. */
function clusterVars(here: string): Vars {
  const inv = inventory();
  return {
    inventory_hostname: here,
    groups: Object.fromEntries([...inv.groups].map(([name, g]) => [name, g.hosts])),
    hostvars: Object.fromEntries([...inv.hosts].map(([name, h]) => [name, h.vars])),
  };
}

function contextOn(
  fake: FakeDatacenters,
  here: string,
): ConversationContext & { transport: RecordingTransport } {
  return moduleContext({
    transport: fake.transport(here),
    host: { name: here, address: '10.0.0.1', groups: ['all'], vars: {} },
    vars: clusterVars(here),
    diff: false,
  });
}

// ---------------------------------------------------------------- GateAgents

test('GateAgents knows the datacenters in inventory order and narrows to one', () => {
  const all = GateAgents.fromVars(clusterVars('e1'), new RecordingTransport('e1'), 'e1');
  assert.deepEqual(all.datacenters(), ['east', 'west']);
  const west = all.inDatacenterOf('wc1');
  assert.equal(west.datacenter, 'west');
  assert.deepEqual(
    west.servers.map((s) => s.host),
    ['w1', 'w2', 'w3', 'w4', 'w5'],
  );
  assert.deepEqual(
    west.clients.map((s) => s.host),
    ['wc1'],
  );
  assert.throws(() => all.inDatacenter('north'), ConfigError);
  // One datacenter: the same agents, nothing narrowed or named.
  const single = GateAgents.fromVars(
    {
      groups: { servers: ['s1', 's2', 's3'] },
      hostvars: { s1: { address: '10.0.0.1' }, s2: { address: '10.0.0.2' }, s3: { address: '10.0.0.3' } },
    },
    new RecordingTransport('s1'),
    's1',
  );
  assert.equal(single.inDatacenterOf('s2'), single);
  assert.equal(single.datacenter, undefined);
});

// ---------------------------------------------------------------- consul_preflight

test("pre-flight judges each host's own datacenter and records that datacenter's FailureTolerance", async () => {
  const fake = new FakeDatacenters();
  const east = await consulPreflightModule.run({}, contextOn(fake, 'ec1'));
  assert.equal(
    east.summary,
    'Consul pre-flight OK (datacenter east): leader e1, FailureTolerance 1, 3/3 servers alive voters',
  );
  assert.equal(east.data?.['failure_tolerance'], 1);
  assert.equal(east.data?.['datacenter'], 'east');
  const west = await consulPreflightModule.run({}, contextOn(fake, 'w1'));
  assert.equal(
    west.summary,
    'Consul pre-flight OK (datacenter west): leader w3, FailureTolerance 2, 5/5 servers alive voters',
  );
  assert.equal(west.data?.['failure_tolerance'], 2);
  // A host of west asks west's agents only: its own first, and it answered.
  const ctx = contextOn(fake, 'w2');
  await consulPreflightModule.run({}, ctx);
  assert.ok(ctx.transport.httpCalls.every((c) => c.host === '127.0.0.1'));
});

test('a failed server in west refuses the pre-flight in west only, naming the datacenter', async () => {
  const fake = new FakeDatacenters();
  fake.agent('w4').up = false;
  const east = await consulPreflightModule.run({}, contextOn(fake, 'e2'));
  assert.match(east.summary, /^Consul pre-flight OK \(datacenter east\)/);
  let caught: unknown;
  await consulPreflightModule.run({}, contextOn(fake, 'wc1')).catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof PreflightRefusedError);
  assert.equal(caught.exitCode, ExitCode.gateAborted);
  assert.match(caught.message, /^Consul pre-flight refused in datacenter west: /);
  assert.match(caught.message, /w4 \(127\.0\.2\.14\) is failed in Serf/);
  assert.doesNotMatch(caught.message, /\be\d\b/);
  // Named explicitly, from a host of the other datacenter.
  await assert.rejects(
    consulPreflightModule.run({ datacenter: 'west' }, contextOn(fake, 'e1')),
    PreflightRefusedError,
  );
});

// ---------------------------------------------------------------- consul_gate

test("gates judge the target against its own datacenter's servers and baseline", async () => {
  const fake = new FakeDatacenters();
  // West is degraded: that must not stop a server of east, nor be asked about by east's gates.
  fake.agent('w5').up = false;
  const ctx = contextOn(fake, 'e2');
  const ready = await consulGateModule.run({ wait: 'ready' }, ctx);
  assert.equal(ready.data?.['datacenter'], 'east');
  const back = await consulGateModule.run({ wait: 'server', timeout: 1, interval: 0.01 }, ctx);
  assert.equal(
    (back.data?.['conditions'] as Record<string, string>)['failure_tolerance'],
    'FailureTolerance 1 (baseline 1)',
  );
  // Only east's agents were asked (e2's own on 127.0.0.1, the other east servers at bind_addr).
  const asked = ctx.transport.httpCalls.map((c) => c.host);
  assert.ok(
    asked.every((h) => h === '127.0.0.1' || h.startsWith('127.0.1.')),
    asked.join(', '),
  );

  // In west, the default baseline is that of 5 servers (2), and the down server is seen.
  fake.agent('w5').up = true;
  const west = await consulGateModule.run(
    { wait: 'server', node: 'w1', timeout: 1, interval: 0.01 },
    contextOn(fake, 'e1'),
  );
  assert.equal(
    (west.data?.['conditions'] as Record<string, string>)['failure_tolerance'],
    'FailureTolerance 2 (baseline 2)',
  );
  fake.agent('w5').up = false;
  await assert.rejects(
    consulGateModule.run({ wait: 'ready', node: 'w1', timeout: 0.05, interval: 0.01 }, contextOn(fake, 'w1')),
    (e: unknown) => e instanceof GateError && /w5 \(127\.0\.2\.15\) is failed in Serf/.test(e.message),
  );
  // A client is judged by its own datacenter's servers.
  const client = await consulGateModule.run({ wait: 'client', node: 'ec1' }, contextOn(fake, 'ec1'));
  assert.match(
    String((client.data?.['conditions'] as Record<string, string>)['member_alive']),
    /ec1 .* is alive/,
  );
});

// ---------------------------------------------------------------- consul_leader_last

function orderContext(t: RecordingTransport, via: string, servers = SERVERS): OrderContext {
  const inv = inventory(servers);
  return {
    groups: Object.fromEntries([...inv.groups].map(([name, g]) => [name, g.hosts])),
    hostvars: Object.fromEntries([...inv.hosts].map(([name, h]) => [name, h.vars])),
    channel: t,
    via,
    timeoutSeconds: 1,
  };
}

test('leader-last goes datacenter by datacenter, followers first and each leader last', async () => {
  const fake = new FakeDatacenters();
  fake.leaders = { east: 'e2', west: 'w1' };
  const t = fake.transport('e1');
  const plan = await planLeaderLast(SERVERS, orderContext(t, 'e1'));
  assert.deepEqual(plan.order, ['e1', 'e3', 'e2', 'w2', 'w3', 'w4', 'w5', 'w1']);
  assert.deepEqual(plan.datacenters, [
    { datacenter: 'east', leader: '127.0.1.12:8300', leaderHost: 'e2' },
    { datacenter: 'west', leader: '127.0.2.11:8300', leaderHost: 'w1' },
  ]);
  // East through e1's own agent, west through a west server (never east's view of west).
  assert.deepEqual(
    t.httpCalls.map((c) => c.host),
    ['127.0.0.1', '127.0.2.11'],
  );
});

test('servers listed interleaved still go one datacenter after another; clients keep their places', async () => {
  const fake = new FakeDatacenters();
  const interleaved = ['w1', 'e1', 'w2', 'e2', 'w3', 'e3', 'w4', 'w5'];
  const plan = await planLeaderLast(
    ['ec1', 'w1', 'e1', 'w2', 'wc1', 'e2', 'w3', 'e3', 'w4', 'w5'],
    orderContext(fake.transport('e1'), 'e1', interleaved),
  );
  // West appears first in the servers group, so it goes first; its leader w3 last of west.
  assert.deepEqual(plan.order, ['ec1', 'w1', 'w2', 'w4', 'wc1', 'w5', 'w3', 'e2', 'e3', 'e1']);
});

test('only the datacenters with servers left are asked; a silent datacenter is a GateError naming it', async () => {
  const fake = new FakeDatacenters();
  // --limit dc_west: east is not asked at all, and west's leader goes last.
  const t = fake.transport('w1');
  const plan = await planLeaderLast(['w1', 'w2', 'w3', 'w4', 'w5'], orderContext(t, 'w1'));
  assert.deepEqual(plan.order, ['w1', 'w2', 'w4', 'w5', 'w3']);
  assert.ok(t.httpCalls.every((c) => c.host === '127.0.0.1'));

  for (const w of ['w1', 'w2', 'w3', 'w4', 'w5']) fake.agent(w).up = false;
  await assert.rejects(
    planLeaderLast(SERVERS, orderContext(fake.transport('e1'), 'e1')),
    (e: unknown) =>
      e instanceof GateError &&
      /^cannot order the restart leader-last: no Consul server of datacenter west answered \(.*ECONNREFUSED/.test(
        e.message,
      ),
  );
});

// ---------------------------------------------------------------- the real roll playbook

const ROLL = readFileSync(
  join(import.meta.dirname, '..', '..', 'playbooks', 'consul-rolling-restart.yaml'),
  'utf8',
);

test('consul-rolling-restart.yaml rolls east then west, each leader last, following a moving leader', async () => {
  const fake = new FakeDatacenters();
  // While e2 (east's first follower) restarts, east's leadership moves to e3, not yet restarted.
  fake.onRestart = (host) => {
    if (host === 'e2') fake.leaders.east = 'e3';
    // A leader that restarts hands leadership to a server of its own datacenter.
    if (host === fake.leaders.east) fake.leaders.east = 'e1';
    if (host === fake.leaders.west) fake.leaders.west = 'w1';
  };
  const modules = builtinModules();
  const book = parsePlaybookText(ROLL, 'consul-rolling-restart.yaml', modules);
  // Everything but the snapshot and the final verify (covered by their modules' own tests).
  const skipped = ['Snapshot before the servers restart', 'Verify the cluster'];
  const playbook = { ...book, plays: book.plays.filter((p) => !skipped.includes(p.name)) };
  assert.equal(playbook.plays.length, 3);
  const transports = new Map(fake.agents.map((a) => [a.name, fake.transport(a.name)]));
  const r = await runWith(playbook, inventory(), {
    modules,
    orderers: builtinOrderers(),
    forks: 10,
    connect: async (host) => transports.get(host.name) as RecordingTransport,
  });
  assert.equal(exitCodeFor(r.status), 0, `${r.abortReason ?? ''}\n${r.reporter.lines.join('\n')}`);
  assert.deepEqual(
    fake.restarts.map((x) => x.host),
    ['e2', 'e1', 'e3', 'w1', 'w2', 'w4', 'w5', 'w3', 'ec1', 'wc1'],
  );
  // Each datacenter's leader went last, and handed over first: e3 to e1, w3 to w1, so no server
  // was restarted while it led.
  assert.deepEqual(
    fake.restarts.map((x) => x.leaders),
    ['e1/w3', 'e3/w3', 'e1/w3', 'e1/w3', 'e1/w3', 'e1/w3', 'e1/w3', 'e1/w1', 'e1/w1', 'e1/w1'],
  );
  for (const { host, leaders } of fake.restarts) assert.ok(!leaders.split('/').includes(host), host);
  const notes = r.reporter.notes.filter((n) => n.startsWith('consul_leader_last'));
  assert.equal(notes.length, 8, notes.join('\n'));
  assert.equal(
    notes[0],
    'consul_leader_last: leaders east e1 (127.0.1.11:8300), west w3 (127.0.2.13:8300); order e2, e3, e1, w1, w2, w4, w5, w3',
  );
  assert.equal(
    notes[1],
    'consul_leader_last: leaders east e3 (127.0.1.13:8300), west w3 (127.0.2.13:8300); order e1, e3, w1, w2, w4, w5, w3',
  );
  assert.equal(notes[7], 'consul_leader_last: leaders west w3 (127.0.2.13:8300); order w3');
  // The pre-flight baseline is per datacenter: 1 for east's 3 servers, 2 for west's 5.
  const preflight = r.reporter.outcomes.filter((o) => o.task === 'cluster is healthy before the roll');
  assert.match(preflight.find((o) => o.host === 'e1')?.message ?? '', /datacenter east.*FailureTolerance 1,/);
  assert.match(preflight.find((o) => o.host === 'w5')?.message ?? '', /datacenter west.*FailureTolerance 2,/);
});
