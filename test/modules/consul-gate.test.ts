import { moduleContext } from './context.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectValidator } from '../../src/config/schema.js';
import { ConfigError, ExitCode, GateError } from '../../src/errors.js';
import { consulGateModule, GateTimeoutError } from '../../src/modules/consul-gate.js';
import { consulPreflightModule, PreflightRefusedError } from '../../src/modules/consul-preflight.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import type { HttpRequest } from '../../src/ssh/transport.js';

/**
 * A scripted Consul cluster behind one host's SSH connection (s1's): s1's agent on 127.0.0.1,
 * every other agent at its bind_addr. Answers are computed from mutable state on every request,
 * so a test can make the cluster recover (or not) between a gate's polls. Shapes follow Consul's
 * API docs (status, agent, operator/raft, operator/autopilot).
 */
interface FakeAgent {
  name: string;
  ip: string;
  server: boolean;
  /** Serf status number (1 alive, 4 failed). */
  status: number;
  /** Whether its HTTP API answers at all. */
  up: boolean;
  voter: boolean;
  inRaft: boolean;
  commitIndex: number;
  lastLogIndex: number;
  /** Leader as this agent sees it; default: the cluster's. */
  leaderSeen?: string;
  /** Whether /v1/agent/self carries Raft Stats. */
  raftStats: boolean;
}

class FakeConsul {
  leader = '127.0.1.12:8300';
  failureTolerance = 1;
  /** Forces autopilot's Healthy (and so HTTP 429) regardless of the servers. */
  unhealthy = false;
  readonly agents: FakeAgent[];
  /** Called on each /v1/agent/self request to an agent, with how many it has had so far. */
  onSelf: (agent: FakeAgent, count: number) => void = () => undefined;
  readonly #selfCounts = new Map<string, number>();

  constructor() {
    const agent = (name: string, last: number, server: boolean): FakeAgent => ({
      name,
      ip: `127.0.1.${last}`,
      server,
      status: 1,
      up: true,
      voter: server,
      inRaft: server,
      commitIndex: 46,
      lastLogIndex: 46,
      raftStats: true,
    });
    this.agents = [
      agent('s1', 11, true),
      agent('s2', 12, true),
      agent('s3', 13, true),
      agent('c1', 21, false),
    ];
  }

  agent(name: string): FakeAgent {
    const a = this.agents.find((x) => x.name === name);
    if (!a) throw new Error(`no agent ${name}`);
    return a;
  }

  /**
   * s1's transport, answering for every agent. `first` scripts its own replies ahead of the
   * cluster's (the first matching script wins), e.g. to count checks or change state mid-wait.
   */
  transport(first: (t: RecordingTransport) => void = () => undefined): RecordingTransport {
    const t = new RecordingTransport('s1');
    first(t);
    t.onHttp(/^GET /, (req) => this.answer(req));
    return t;
  }

  answer(req: HttpRequest): { status?: number; body: string } {
    const agent = req.host === '127.0.0.1' ? this.agent('s1') : this.agents.find((a) => a.ip === req.host);
    if (!agent || !agent.up) throw new Error(`connect ECONNREFUSED ${req.host}:${req.port}`);
    const json = (v: unknown): { body: string } => ({ body: JSON.stringify(v) });
    const servers = this.agents.filter((a) => a.server);
    switch (req.path) {
      case '/v1/status/leader':
        return json(agent.leaderSeen ?? this.leader);
      case '/v1/status/peers':
        return json(servers.filter((s) => s.inRaft).map((s) => `${s.ip}:8300`));
      case '/v1/operator/raft/configuration':
        return json({
          Servers: servers
            .filter((s) => s.inRaft)
            .map((s) => ({
              ID: `id-${s.name}`,
              Node: s.name,
              Address: `${s.ip}:8300`,
              Leader: `${s.ip}:8300` === this.leader,
              Voter: s.voter,
              ProtocolVersion: '3',
            })),
          Index: 46,
        });
      case '/v1/agent/members':
        return json(this.agents.map((a) => this.#member(a)));
      case '/v1/operator/autopilot/health': {
        const entries = servers.map((s) => ({
          ID: `id-${s.name}`,
          Name: s.name,
          Address: `${s.ip}:8300`,
          SerfStatus: s.status === 1 ? 'alive' : 'failed',
          Version: '1.20.1',
          Leader: `${s.ip}:8300` === this.leader,
          LastContact: s.status === 1 ? '10ms' : '12s',
          LastTerm: 3,
          LastIndex: s.commitIndex,
          Healthy: s.status === 1 && s.commitIndex === s.lastLogIndex,
          Voter: s.voter,
          StableSince: '2026-01-01T00:00:00Z',
        }));
        const healthy = !this.unhealthy && entries.every((e) => e.Healthy);
        return {
          status: healthy ? 200 : 429,
          body: JSON.stringify({
            Healthy: healthy,
            FailureTolerance: this.failureTolerance,
            Servers: entries,
          }),
        };
      }
      case '/v1/agent/self': {
        const count = (this.#selfCounts.get(agent.name) ?? 0) + 1;
        this.#selfCounts.set(agent.name, count);
        this.onSelf(agent, count);
        const stats: Record<string, Record<string, string>> = { consul: { server: String(agent.server) } };
        if (agent.server && agent.raftStats) {
          stats['raft'] = {
            commit_index: String(agent.commitIndex),
            last_log_index: String(agent.lastLogIndex),
            state: 'Follower',
          };
        }
        return json({
          Config: { Datacenter: 'dc1', NodeName: agent.name, Server: agent.server, Version: '1.20.1' },
          Member: this.#member(agent),
          Stats: stats,
        });
      }
      default:
        throw new Error(`unscripted path ${req.path}`);
    }
  }

  #member(a: FakeAgent): Record<string, unknown> {
    return {
      Name: a.name,
      Addr: a.ip,
      Port: 8301,
      Tags: { role: a.server ? 'consul' : 'node', dc: 'dc1', port: '8300' },
      Status: a.status,
    };
  }
}

const vars = (here = 's1'): Record<string, unknown> => ({
  inventory_hostname: here,
  groups: { all: ['s1', 's2', 's3', 'c1'], servers: ['s1', 's2', 's3'], clients: ['c1'] },
  hostvars: Object.fromEntries(
    ['s1', 's2', 's3', 'c1'].map((h, i) => [
      h,
      { address: `127.0.2.${i + 1}`, bind_addr: `127.0.1.${h === 'c1' ? 21 : 11 + i}` },
    ]),
  ),
});

function context(transport: RecordingTransport, check = false): ReturnType<typeof moduleContext> {
  return moduleContext({
    transport,
    host: { name: 's1', address: '127.0.2.1', groups: ['all', 'servers'], vars: {} },
    vars: vars(),
    check,
    diff: false,
  });
}

/** Asserts a rejection is a GateError (exit 5) whose message matches, and returns it. */
async function gateRefusal(promise: Promise<unknown>, pattern: RegExp): Promise<GateError> {
  let caught: unknown;
  await assert.rejects(promise, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof GateError, `expected a GateError, got ${String(caught)}`);
  assert.equal(caught.exitCode, ExitCode.gateAborted);
  assert.match(caught.message, pattern);
  return caught;
}

// ---------------------------------------------------------------- consul_preflight

test('pre-flight passes a healthy cluster in check mode and registers the baseline', async () => {
  const consul = new FakeConsul();
  const t = consul.transport();
  const change = await consulPreflightModule.run({}, context(t, true));
  assert.equal(change.changed, false);
  assert.equal(consulPreflightModule.kind, 'conversation');
  assert.equal(
    change.summary,
    'Consul pre-flight OK: leader s2, FailureTolerance 1, 3/3 servers alive voters',
  );
  assert.equal(change.data?.['leader'], '127.0.1.12:8300');
  assert.equal(change.data?.['leader_host'], 's2');
  assert.equal(change.data?.['failure_tolerance'], 1);
  assert.equal(change.data?.['forced'], false);
  assert.deepEqual(
    (change.data?.['servers'] as { host: string }[]).map((s) => s.host),
    ['s1', 's2', 's3'],
  );
  // Asked its own agent only (it answered), never anything but GETs; no commands run.
  assert.ok(t.httpCalls.every((c) => c.method === 'GET' && c.host === '127.0.0.1'));
  assert.deepEqual(t.commands, []);
});

test('pre-flight refuses without a leader', async () => {
  const consul = new FakeConsul();
  consul.leader = '';
  const err = await gateRefusal(
    consulPreflightModule.run({}, context(consul.transport())),
    /no leader: 127\.0\.0\.1:8500 via s1 reports no Raft leader/,
  );
  assert.ok(err instanceof PreflightRefusedError);
  assert.match(err.message, /^Consul pre-flight refused: \d+ problems? \(nothing was touched/);
});

test('pre-flight refuses when autopilot answers 429, naming the unhealthy server', async () => {
  const consul = new FakeConsul();
  consul.agent('s3').commitIndex = 30;
  await gateRefusal(
    consulPreflightModule.run({}, context(consul.transport())),
    /autopilot reports the cluster unhealthy \(HTTP 429\); unhealthy servers: s3 \(127\.0\.1\.13:8300: serf alive, last contact 10ms, index 30\)/,
  );
});

test('pre-flight refuses a FailureTolerance of 0', async () => {
  const consul = new FakeConsul();
  consul.failureTolerance = 0;
  const err = await gateRefusal(
    consulPreflightModule.run({}, context(consul.transport())),
    /autopilot FailureTolerance is 0 with 3 voters \(need at least 1/,
  );
  assert.match(err.message, /refused: 1 problem \(/);
});

test('pre-flight refuses a failed server and says which', async () => {
  const consul = new FakeConsul();
  consul.agent('s3').status = 4;
  consul.agent('s3').up = false;
  await gateRefusal(
    consulPreflightModule.run({}, context(consul.transport())),
    /s3 \(127\.0\.1\.13\) is failed in Serf, as seen by 127\.0\.0\.1:8500 via s1/,
  );
});

test('pre-flight waits for autopilot to promote a server back as a healthy non-voter, then passes', async () => {
  const consul = new FakeConsul();
  const s3 = consul.agent('s3');
  s3.voter = false;
  consul.failureTolerance = 0;
  let looks = 0;
  // Each look starts with s1's leader; autopilot promotes s3 before the third.
  const t = consul.transport((first) =>
    first.onHttp('GET 127.0.0.1:8500/v1/status/leader', () => {
      if (++looks === 3) {
        s3.voter = true;
        consul.failureTolerance = 1;
      }
      return { body: JSON.stringify(consul.leader) };
    }),
  );
  const ctx = context(t);
  const change = await consulPreflightModule.run({}, ctx);
  assert.equal(looks, 3);
  assert.match(change.summary, /^Consul pre-flight OK/);
});

test('pre-flight refuses a non-voter autopilot does not promote within its wait, and one that is unhealthy at once', async () => {
  const consul = new FakeConsul();
  consul.agent('s3').voter = false;
  const ctx = context(consul.transport());
  const started = ctx.clock.now();
  await gateRefusal(consulPreflightModule.run({}, ctx), /s3 \(127\.0\.1\.13\) is a Raft non-voter/);
  assert.ok(ctx.clock.now() - started >= 30_000, `waited ${ctx.clock.now() - started} ms`);
  const lagging = new FakeConsul();
  Object.assign(lagging.agent('s3'), { voter: false, commitIndex: 30 });
  const quick = context(lagging.transport());
  const before = quick.clock.now();
  await gateRefusal(consulPreflightModule.run({}, quick), /is a Raft non-voter/);
  assert.equal(quick.clock.now() - before, 0, 'an unhealthy non-voter is no promotion to wait for');
});

test('force: true reports the problems but passes', async () => {
  const consul = new FakeConsul();
  consul.failureTolerance = 0;
  consul.agent('s3').status = 4;
  const change = await consulPreflightModule.run({ force: true }, context(consul.transport()));
  assert.equal(change.changed, false);
  assert.equal(change.data?.['forced'], true);
  assert.equal(change.data?.['failure_tolerance'], 0);
  const problems = change.data?.['problems'] as string[];
  assert.ok(problems.some((p) => p.startsWith('s3 (127.0.1.13) is failed in Serf')));
  assert.match(change.summary, /^Consul pre-flight: \d+ problem\(s\) ignored \(force: true\): /);
});

test("pre-flight asks the other servers when this host's agent is down", async () => {
  const consul = new FakeConsul();
  consul.agent('s1').up = false;
  consul.agent('s1').status = 4;
  const err = await gateRefusal(
    consulPreflightModule.run({}, context(consul.transport())),
    /s1 \(127\.0\.1\.11\) is failed in Serf, as seen by 127\.0\.1\.12:8500 via s1/,
  );
  assert.doesNotMatch(err.message, /no Consul agent answered/);
});

// ---------------------------------------------------------------- consul_gate wait: server

test('wait: server waits through a lagging commit index and a tolerance below baseline, then passes', async () => {
  const consul = new FakeConsul();
  const s2 = consul.agent('s2');
  s2.commitIndex = 40;
  consul.failureTolerance = 0;
  // Catch-up on the 3rd look at s2's own stats; tolerance back on the 4th.
  consul.onSelf = (agent, count) => {
    if (agent.name !== 's2') return;
    if (count >= 3) s2.commitIndex = s2.lastLogIndex;
    if (count >= 4) consul.failureTolerance = 1;
  };
  const change = await consulGateModule.run(
    // Templated args arrive as strings.
    { wait: 'server', node: 's2', baseline_failure_tolerance: '1', timeout: 5, interval: 0.01 },
    context(consul.transport()),
  );
  assert.equal(change.changed, false);
  assert.equal(change.data?.['attempts'], 4);
  assert.equal(change.data?.['failure_tolerance'], 1);
  assert.deepEqual(change.data?.['conditions'], {
    other_servers_up: 'every other server is alive',
    voter: 's2 (127.0.1.12) is a Raft voter',
    leader: 'leader 127.0.1.12:8300',
    caught_up: 's2 commit_index 46 = last_log_index 46',
    autopilot_healthy: 'autopilot reports the cluster healthy',
    failure_tolerance: 'FailureTolerance 1 (baseline 1)',
  });
  assert.match(change.summary, /^consul_gate server on s2: passed after 4 check\(s\) in /);
});

test('wait: server waits while the restarted node is down and then not yet a voter', async () => {
  const consul = new FakeConsul();
  const s3 = consul.agent('s3');
  Object.assign(s3, { up: false, status: 4, inRaft: false });
  let checks = 0;
  // Each check starts by asking s1's agent for the leader: s3 answers from the 3rd, rejoins Raft on the 5th.
  const t = consul.transport((first) =>
    first.onHttp('GET 127.0.0.1:8500/v1/status/leader', () => {
      checks++;
      if (checks === 3) Object.assign(s3, { up: true, status: 1 });
      if (checks === 5) s3.inRaft = true;
      return { body: JSON.stringify(consul.leader) };
    }),
  );
  const change = await consulGateModule.run(
    { wait: 'server', node: 's3', timeout: 5, interval: 0.01 },
    context(t),
  );
  assert.equal(change.data?.['attempts'], 5);
  // Without a recorded baseline, 3 servers must get back to a tolerance of 1.
  assert.equal(
    (change.data?.['conditions'] as Record<string, string>)['failure_tolerance'],
    'FailureTolerance 1 (baseline 1)',
  );
  // The other servers' view is asked first; s3's own agent only for its own progress.
  const s3Paths = new Set(t.httpCalls.filter((c) => c.host === '127.0.1.13').map((c) => c.path));
  assert.deepEqual([...s3Paths], ['/v1/agent/self']);
});

test('wait: server times out with a GateError naming the unmet condition and the last values', async () => {
  const consul = new FakeConsul();
  consul.agent('s2').commitIndex = 40;
  const ctx = context(consul.transport());
  const started = ctx.clock.now();
  const err = await gateRefusal(
    consulGateModule.run(
      { wait: 'server', node: 's2', baseline_failure_tolerance: 1, timeout: 0.2, interval: 0.05 },
      ctx,
    ),
    /^consul_gate server on s2: not back after 0\.2s \(\d+ checks\); unmet: caught_up: s2 commit_index 40 < last_log_index 46; autopilot_healthy: autopilot reports the cluster unhealthy \(HTTP 429\); unhealthy servers: s2 /,
  );
  assert.ok(err instanceof GateTimeoutError);
  assert.match(err.message, /; held: other_servers_up, voter, leader, failure_tolerance$/);
  // Bounded by count as well as time: at most timeout / interval + 1 checks.
  const checks = Number(/\((\d+) checks\)/.exec(err.message)?.[1]);
  assert.ok(checks >= 2 && checks <= 5, `checks: ${checks}`);
  // On the fake clock: the gate waited no longer than its timeout.
  assert.ok(ctx.clock.now() - started <= 200, `waited ${ctx.clock.now() - started}ms`);
});

test('wait: server reads consul info in the container when the agent hides its Raft stats', async () => {
  const consul = new FakeConsul();
  consul.agent('s1').raftStats = false;
  let infoRuns = 0;
  const t = consul.transport();
  t.onExec(/^docker exec consul-server consul info$/, () => {
    infoRuns++;
    const caught = infoRuns >= 2;
    return {
      stdout: `consul:\n\tserver = true\nraft:\n\tcommit_index = ${caught ? 46 : 41}\n\tlast_log_index = 46\n\tstate = Follower\n`,
    };
  });
  const ctx = { ...context(t), vars: { ...vars(), consul_container_name: 'consul-server' } };
  const change = await consulGateModule.run({ wait: 'server', timeout: 5, interval: 0.01 }, ctx);
  assert.equal(change.data?.['node'], 's1');
  assert.equal(change.data?.['attempts'], 2);
  assert.equal(
    (change.data?.['conditions'] as Record<string, string>)['caught_up'],
    's1 commit_index 46 = last_log_index 46',
  );
  assert.deepEqual(t.commands, [
    'docker exec consul-server consul info',
    'docker exec consul-server consul info',
  ]);
});

test('wait: server on a client is a configuration error', async () => {
  await assert.rejects(
    consulGateModule.run(
      { wait: 'server', node: 'c1', timeout: 1, interval: 0.1 },
      context(new FakeConsul().transport()),
    ),
    (e: unknown) => e instanceof ConfigError && /which the inventory makes a Consul client/.test(e.message),
  );
});

// ---------------------------------------------------------------- consul_gate wait: ready

test('wait: ready passes when every other server is alive and a leader exists', async () => {
  const change = await consulGateModule.run(
    { wait: 'ready', node: 's1' },
    context(new FakeConsul().transport()),
  );
  assert.equal(change.data?.['attempts'], 1);
  assert.equal(change.data?.['leader'], '127.0.1.12:8300');
});

test('wait: ready fails fast when another server is down', async () => {
  const consul = new FakeConsul();
  consul.agent('s3').status = 4;
  consul.agent('s3').up = false;
  const ctx = context(consul.transport());
  const started = ctx.clock.now();
  const err = await gateRefusal(
    consulGateModule.run({ wait: 'ready', node: 's1', timeout: 0.3, interval: 0.1 }, ctx),
    /^consul_gate ready: refusing to stop s1 \(checked \d time\(s\) over 0\.3s\): s3 \(127\.0\.1\.13\) does not answer right now: .*; s3 \(127\.0\.1\.13\) is failed in Serf/,
  );
  assert.ok(err instanceof GateTimeoutError);
  assert.ok(ctx.clock.now() - started <= 300, `waited ${ctx.clock.now() - started}ms`);
});

test('wait: ready refuses without a leader', async () => {
  const consul = new FakeConsul();
  consul.leader = '';
  await gateRefusal(
    consulGateModule.run({ wait: 'ready', timeout: 0.1, interval: 0.05 }, context(consul.transport())),
    /refusing to stop s1 .*no leader: 127\.0\.0\.1:8500 via s1 reports no Raft leader/,
  );
});

// ---------------------------------------------------------------- consul_gate wait: client

test('wait: client waits until a server sees it alive and it knows the leader', async () => {
  const consul = new FakeConsul();
  const c1 = consul.agent('c1');
  Object.assign(c1, { status: 4, up: false });
  let checks = 0;
  // Each check asks c1 for the leader: down at first, back on the 2nd check but without a leader until the 3rd.
  const t = consul.transport((first) =>
    first.onHttp('GET 127.0.1.21:8500/v1/status/leader', () => {
      checks++;
      if (checks === 2) Object.assign(c1, { status: 1, up: true });
      if (!c1.up) throw new Error('connect ECONNREFUSED 127.0.1.21:8500');
      return { body: JSON.stringify(checks < 3 ? '' : consul.leader) };
    }),
  );
  const change = await consulGateModule.run(
    { wait: 'client', node: 'c1', timeout: 5, interval: 0.01 },
    context(t),
  );
  assert.equal(change.data?.['attempts'], 3);
  assert.deepEqual(change.data?.['conditions'], {
    member_alive: 'c1 (127.0.1.21) is alive, as seen by 127.0.0.1:8500 via s1',
    leader: 'c1 knows leader 127.0.1.12:8300',
  });
});

test('wait: client times out naming the member status', async () => {
  const consul = new FakeConsul();
  Object.assign(consul.agent('c1'), { status: 4, up: false });
  await gateRefusal(
    consulGateModule.run(
      { wait: 'client', node: 'c1', timeout: 0.1, interval: 0.05 },
      context(consul.transport()),
    ),
    /^consul_gate client on c1: not back after 0\.1s \(\d+ checks\); unmet: member_alive: c1 \(127\.0\.1\.21\) is failed, as seen by 127\.0\.0\.1:8500 via s1; leader: c1's agent did not answer: /,
  );
});

// ---------------------------------------------------------------- schemas

test('the args schemas compile under strict ajv, accept templated counts and reject unknown args', () => {
  const gate = objectValidator(consulGateModule.argsSchema);
  assert.equal(gate({ wait: 'server', baseline_failure_tolerance: '1', timeout: 120, interval: 2 }), true);
  assert.equal(gate({ wait: 'server', baseline_failure_tolerance: 2 }), true);
  assert.equal(gate({ wait: 'server', baseline_failure_tolerance: 'one' }), false);
  assert.equal(gate({ wait: 'server', baseline_failure_tolerance: -1 }), false);
  assert.equal(gate({ wait: 'later' }), false);
  assert.equal(gate({}), false);
  assert.equal(gate({ wait: 'ready', force: true }), false);
  assert.equal(gate.errors?.[0]?.keyword, 'additionalProperties');
  const pre = objectValidator(consulPreflightModule.argsSchema);
  assert.equal(pre({ force: true, min_failure_tolerance: '0', http_port: 8500, request_timeout: 2 }), true);
  assert.equal(pre({ baseline_failure_tolerance: 1 }), false);
});
