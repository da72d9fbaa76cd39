/**
 * Node maintenance on 127.0.0.196-197 (a server and a client running `web`): Consul's
 * answers to `PUT /v1/agent/maintenance`, the critical `_node_maintenance` check that takes the
 * node's services out of `?passing` and DNS, and its persistence across a restart until it is
 * disabled.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, cleanup, dnsQuery, tempDir, waitFor } from './harness.js';

describe('stand-in node maintenance', () => {
  let server: Agent;
  let client: Agent;
  const passing = async () =>
    (JSON.parse((await server.http('/v1/health/service/web?passing')).body) as unknown[]).length;
  const dns = () => dnsQuery('127.0.0.196', 'web.service.consul');

  before(async () => {
    const root = tempDir('standin-maint-');
    server = new Agent(
      { ip: '127.0.0.196', name: 'maint-server', server: true, bootstrapExpect: 1 },
      root,
    ).start();
    client = new Agent(
      {
        ip: '127.0.0.197',
        name: 'maint-client',
        retryJoin: ['127.0.0.196'],
        extra: { services: [{ name: 'web', port: 80 }] },
      },
      root,
    ).start();
    await waitFor('web passing', async () => (await passing()) === 1, 20000);
  });

  after(cleanup);

  it("answers a bad enable as Consul does, and takes the node's services out of passing and DNS", async () => {
    const missing = await client.http('/v1/agent/maintenance', 'PUT');
    assert.deepEqual([missing.status, missing.body.trim()], [400, 'Missing value for enable']);
    const bad = await client.http('/v1/agent/maintenance?enable=maybe', 'PUT');
    assert.deepEqual([bad.status, bad.body.trim()], [400, 'Invalid value for enable: "maybe"']);
    assert.deepEqual((await dns()).addresses, ['127.0.0.197']);
    const on = await client.http(
      '/v1/agent/maintenance?enable=true&reason=drover%3A%20rolling%20restart',
      'PUT',
    );
    assert.equal(on.status, 200, on.body);
    const checks = JSON.parse((await client.http('/v1/agent/checks')).body) as Record<
      string,
      { Name: string; Status: string; Notes: string; ServiceID: string }
    >;
    assert.deepEqual(checks['_node_maintenance'], {
      ...checks['_node_maintenance'],
      Name: 'Node Maintenance Mode',
      Status: 'critical',
      Notes: 'drover: rolling restart',
      ServiceID: '',
    });
    await waitFor('out of passing', async () => (await passing()) === 0, 10000);
    assert.deepEqual((await dns()).addresses, []);
    assert.match(client.out, /Node entered maintenance mode/);
  });

  it('stays in maintenance across a restart, until it is disabled', async () => {
    client.kill('SIGTERM');
    await client.stopped();
    client.start();
    await waitFor(
      'client back',
      async () => (await client.http('/v1/agent/self').catch(() => ({ status: 0 }))).status === 200,
      20000,
    );
    const checks = JSON.parse((await client.http('/v1/agent/checks')).body) as Record<string, unknown>;
    assert.ok('_node_maintenance' in checks, 'maintenance was lost with the restart');
    assert.equal(await passing(), 0);
    const off = await client.http('/v1/agent/maintenance?enable=false', 'PUT');
    assert.equal(off.status, 200, off.body);
    await waitFor('back in passing', async () => (await passing()) === 1, 10000);
    assert.deepEqual((await dns()).addresses, ['127.0.0.197']);
    // Twice is no change.
    assert.equal((await client.http('/v1/agent/maintenance?enable=false', 'PUT')).status, 200);
  });
});
