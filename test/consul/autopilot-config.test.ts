/** The autopilot settings as the inventory asks for them and as Consul answers them (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  autopilotBody,
  autopilotChanges,
  autopilotWantFromVars,
  parseAutopilotConfig,
} from '../../src/consul/api/autopilot-config.js';

/** Consul 1.20's answer for a cluster bootstrapped with server_stabilization_time 2s. */
const ANSWER = JSON.stringify({
  CleanupDeadServers: true,
  LastContactThreshold: '200ms',
  MaxTrailingLogs: 250,
  MinQuorum: 0,
  ServerStabilizationTime: '2s',
  RedundancyZoneTag: '',
  DisableUpgradeMigration: false,
  UpgradeVersionTag: '',
  CreateIndex: 5,
  ModifyIndex: 9,
});

test('wants only what the vars set: "" and unset ask for nothing, false and 0 do', () => {
  assert.deepEqual(autopilotWantFromVars({ consul_autopilot_min_quorum: '' }), {});
  assert.deepEqual(
    autopilotWantFromVars({
      consul_autopilot_cleanup_dead_servers: false,
      consul_autopilot_max_trailing_logs: 0,
      consul_autopilot_last_contact_threshold: '1s',
    }),
    { CleanupDeadServers: false, MaxTrailingLogs: 0, LastContactThreshold: '1s' },
  );
});

test('compares durations by length, not by spelling, and names each change', () => {
  const have = parseAutopilotConfig(ANSWER);
  assert.equal(have.modifyIndex, 9);
  assert.deepEqual(autopilotChanges(have, { ServerStabilizationTime: '2000ms', MinQuorum: 0 }), []);
  assert.deepEqual(autopilotChanges(have, { CleanupDeadServers: false, LastContactThreshold: '1s' }), [
    'CleanupDeadServers true -> false',
    'LastContactThreshold "200ms" -> "1s"',
  ]);
  assert.throws(() => parseAutopilotConfig('{"CleanupDeadServers":"yes"}'), /CleanupDeadServers/);
});

test('writes the whole object back, the wanted fields replaced, without the indexes', () => {
  const body = autopilotBody(parseAutopilotConfig(ANSWER), { CleanupDeadServers: false });
  assert.deepEqual(body, {
    CleanupDeadServers: false,
    LastContactThreshold: '200ms',
    MaxTrailingLogs: 250,
    MinQuorum: 0,
    ServerStabilizationTime: '2s',
    RedundancyZoneTag: '',
    DisableUpgradeMigration: false,
    UpgradeVersionTag: '',
  });
});
