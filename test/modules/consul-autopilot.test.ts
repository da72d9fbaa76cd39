/** consul_autopilot with a recording transport: what it reads, what it writes, and when nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moduleContext } from './context.js';
import { consulAutopilotModule } from '../../src/modules/consul-autopilot.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import type { Vars } from '../../src/inventory/types.js';

const CONFIG = {
  CleanupDeadServers: true,
  LastContactThreshold: '200ms',
  MaxTrailingLogs: 250,
  MinQuorum: 0,
  ServerStabilizationTime: '10s',
  RedundancyZoneTag: '',
  DisableUpgradeMigration: false,
  UpgradeVersionTag: '',
  CreateIndex: 5,
  ModifyIndex: 9,
};

function cluster(hostvars: Record<string, Vars>, o: { casAnswers?: string[] } = {}) {
  const t = new RecordingTransport('s1');
  t.onHttp(/GET .*\/v1\/status\/leader/, { body: '"10.0.0.11:8300"' });
  t.onHttp(/GET .*\/v1\/operator\/autopilot\/configuration$/, { body: JSON.stringify(CONFIG) });
  const cas = [...(o.casAnswers ?? ['true'])];
  t.onHttp(/PUT .*\/v1\/operator\/autopilot\/configuration\?cas=\d+$/, () => ({
    body: cas.shift() ?? 'true',
  }));
  const vars: Vars = {
    inventory_hostname: 's1',
    groups: { all: Object.keys(hostvars), servers: Object.keys(hostvars), clients: [] },
    hostvars,
  };
  return {
    t,
    run: (check = false) => consulAutopilotModule.run({}, moduleContext({ transport: t, vars, check })),
  };
}

const s1 = (extra: Vars = {}) => ({ s1: { bind_addr: '10.0.0.11', ...extra } });

test('nothing set: nothing read, nothing written', async () => {
  const { t, run } = cluster(s1());
  const out = await run();
  assert.deepEqual([out.changed, out.summary], [false, 'autopilot as the inventory says']);
  assert.deepEqual(t.httpCalls, []);
});

test('a change is written whole with cas, only the wanted field replaced; check mode only reads', async () => {
  const { t, run } = cluster(s1({ consul_autopilot_cleanup_dead_servers: false }));
  const planned = await run(true);
  assert.deepEqual(
    [planned.changed, planned.summary],
    [true, 'would set autopilot: CleanupDeadServers true -> false'],
  );
  assert.equal(t.httpCalls.filter((c) => c.method === 'PUT').length, 0);
  const out = await run();
  assert.deepEqual([out.changed, out.summary], [true, 'set autopilot: CleanupDeadServers true -> false']);
  const put = t.httpCalls.find((c) => c.method === 'PUT');
  assert.equal(put?.path, '/v1/operator/autopilot/configuration?cas=9');
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = CONFIG;
  assert.deepEqual(JSON.parse(put?.body ?? '{}'), { ...rest, CleanupDeadServers: false });
});

test('as wanted already (a duration spelled another way): no write', async () => {
  const { t, run } = cluster(s1({ consul_autopilot_server_stabilization_time: '10000ms' }));
  assert.deepEqual((await run()).changed, false);
  assert.equal(t.httpCalls.filter((c) => c.method === 'PUT').length, 0);
});

test('a lost compare-and-set reads again and writes once more; twice lost fails', async () => {
  const once = cluster(s1({ consul_autopilot_max_trailing_logs: 500 }), { casAnswers: ['false', 'true'] });
  assert.equal((await once.run()).changed, true);
  assert.equal(once.t.httpCalls.filter((c) => c.method === 'PUT').length, 2);
  const twice = cluster(s1({ consul_autopilot_max_trailing_logs: 500 }), { casAnswers: ['false', 'false'] });
  await assert.rejects(twice.run(), /changed twice while drover wrote them/);
});
