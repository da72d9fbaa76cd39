/**
 * consul_tls_enable when the inventory leaves it unset (tls-default.ts): read from the servers,
 * on for a new cluster only; and a CA is never made anew for servers that run TLS with one.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readClusterTls } from '../../src/app/tls-default.js';
import { applyTlsCa, caFilesBeside } from '../../src/app/tls-material-source.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import type { Host, Inventory } from '../../src/inventory/types.js';
import { StepExecutor } from '../../src/runner/step-executor.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';

function inventory(vars: Record<string, unknown> = {}): Inventory {
  const names = ['s1', 's2', 'c1'];
  const host = (name: string): Host => ({
    name,
    address: `10.0.0.${names.indexOf(name) + 1}`,
    groups: ['all', name.startsWith('s') ? 'servers' : 'clients'],
    vars: { consul_config_dir: '/etc/consul.d', ...vars },
  });
  return {
    file: join(mkdtempSync(join(tmpdir(), 'drover-tls-default-')), 'prod.yaml'),
    hosts: new Map(names.map((n) => [n, host(n)])),
    groups: new Map([
      [
        'servers',
        { name: 'servers', vars: {}, children: [], directHosts: ['s1', 's2'], hosts: ['s1', 's2'] },
      ],
      ['clients', { name: 'clients', vars: {}, children: [], directHosts: ['c1'], hosts: ['c1'] }],
    ]),
    warnings: [],
  };
}

type ServerState = 'tls' | 'plain' | 'state only' | 'bare' | 'down';

/** A server's answers to the two reads: its config file, and whether it has agent state. */
function server(state: ServerState): RecordingTransport {
  const t = new RecordingTransport('s');
  const config = (body: object) => ({
    stdout: `present 600 100 consul 1000 consul\n${JSON.stringify(body)}`,
  });
  if (state === 'tls') t.onExec(/consul\.json/, config({ server: true, tls: { defaults: {} } }));
  else if (state === 'plain') t.onExec(/consul\.json/, config({ server: true }));
  else t.onExec(/consul\.json/, { stdout: 'absent\n' });
  t.onExec(/node-id/, { code: state === 'state only' ? 0 : 1 });
  return t;
}

async function decide(inv: Inventory, states: Record<string, ServerState>) {
  const lines: string[] = [];
  const connect = async (h: Host) => {
    if (states[h.name] === 'down') throw new Error('unreachable');
    return new StepExecutor(server(states[h.name] ?? 'bare'), true, () => []);
  };
  const r = await readClusterTls(inv, { connect, warn: (l) => lines.push(l) });
  const tls = [...r.inventory.hosts.values()].map((h) => h.vars['consul_tls_enable']);
  return { ...r, tls, lines };
}

describe('TLS when the inventory does not say', () => {
  it('is on for a new cluster, and says so', async () => {
    const r = await decide(inventory(), { s1: 'bare', s2: 'down' });
    assert.deepEqual(r.tls, [true, true, true]);
    assert.match(r.lines.join('\n'), /TLS on, as for every new cluster/);
  });

  it('stays off for a running plain cluster, also one set up by someone else', async () => {
    for (const s2 of ['plain', 'state only'] as const) {
      const r = await decide(inventory(), { s1: 'bare', s2 });
      assert.deepEqual(r.tls, [false, false, false], s2);
      assert.match(r.lines.join('\n'), /TLS stays off: .* \(s2\); turning it on .* is a migration/);
    }
  });

  it('stays on for a cluster that runs TLS, and refuses servers that disagree', async () => {
    assert.deepEqual((await decide(inventory(), { s1: 'tls', s2: 'tls' })).tls, [true, true, true]);
    await assert.rejects(
      decide(inventory(), { s1: 'tls', s2: 'plain' }),
      (err: unknown) =>
        err instanceof UsageError && /s1 run TLS, s2 do not; set consul_tls_enable/.test(err.message),
    );
  });

  it('leaves a host that sets it alone, and reads nothing when TLS is off everywhere', async () => {
    const set = await decide(inventory({ consul_tls_enable: false }), { s1: 'plain', s2: 'plain' });
    assert.deepEqual(set.tls, [false, false, false]);
    let connected = 0;
    await readClusterTls(inventory({ consul_tls_enable: false }), {
      connect: async () => (connected++, new StepExecutor(server('plain'), true, () => [])),
      warn: () => undefined,
    });
    assert.equal(connected, 0);
  });
});

describe('a CA for servers that already run TLS', () => {
  it('is refused, not made anew, when it is missing beside the inventory', async () => {
    const inv = inventory({ consul_tls_enable: true });
    const cluster = await decide(inv, { s1: 'tls', s2: 'tls' });
    assert.deepEqual(cluster.serversWithTls, ['s1', 's2']);
    await assert.rejects(
      applyTlsCa(cluster.inventory, {
        create: true,
        env: {},
        warn: () => undefined,
        serversWithTls: cluster.serversWithTls,
      }),
      (err: unknown) => err instanceof ConfigError && /s1, s2 already run TLS with a CA/.test(err.message),
    );
    assert.equal(existsSync(caFilesBeside(inv.file).cert), false, 'a CA was written');
    // A new cluster gets one.
    await applyTlsCa(cluster.inventory, { create: true, env: {}, warn: () => undefined, serversWithTls: [] });
    assert.equal(existsSync(caFilesBeside(inv.file).cert), true);
  });
});
