/** consul_maintenance with a recording transport: when a client goes out of DNS, and when it comes back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moduleContext } from './context.js';
import { consulMaintenanceModule } from '../../src/modules/consul-maintenance.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import type { Vars } from '../../src/inventory/types.js';

const vars: Vars = {
  inventory_hostname: 'c1',
  groups: { all: ['s1', 'c1'], servers: ['s1'], clients: ['c1'] },
  hostvars: { s1: { bind_addr: '10.0.0.11' }, c1: { bind_addr: '10.0.0.21' } },
};

function client(o: { services?: string; maintenance?: string; put?: { status: number; body: string } }) {
  const t = new RecordingTransport('c1');
  const checks =
    o.maintenance === undefined
      ? {}
      : { _node_maintenance: { CheckID: '_node_maintenance', Status: 'critical', Notes: o.maintenance } };
  t.onHttp(/GET 127\.0\.0\.1:8500\/v1\/agent\/checks$/, { body: JSON.stringify(checks) });
  t.onHttp(/GET 127\.0\.0\.1:8500\/v1\/agent\/services$/, { body: o.services ?? '{}' });
  t.onHttp(/PUT 127\.0\.0\.1:8500\/v1\/agent\/maintenance\?/, o.put ?? { body: '' });
  const run = (state: 'enabled' | 'disabled', check = false) =>
    consulMaintenanceModule.run(
      { state },
      moduleContext({
        transport: t,
        vars,
        check,
        host: { name: 'c1', address: '10.0.0.21', groups: ['all', 'clients'], vars },
      }),
    );
  return { t, run, puts: () => t.httpCalls.filter((c) => c.method === 'PUT').map((c) => c.path) };
}

const WEB = JSON.stringify({
  web: { ID: 'web', Service: 'web' },
  'web-2': { ID: 'web-2', Service: 'web' },
  api: { ID: 'api', Service: 'api' },
});

test('a client with services goes out of DNS with a reason drover recognises; check mode only reads', async () => {
  const c = client({ services: WEB });
  const planned = await c.run('enabled', true);
  assert.deepEqual(
    [planned.changed, planned.summary],
    [true, 'would put c1 in maintenance (api, web out of DNS)'],
  );
  assert.deepEqual(c.puts(), []);
  const done = await c.run('enabled');
  assert.deepEqual([done.changed, done.summary], [true, 'put c1 in maintenance (api, web out of DNS)']);
  assert.deepEqual(c.puts(), ['/v1/agent/maintenance?enable=true&reason=drover%3A%20rolling%20restart']);
});

test('a client without services, or already in maintenance, is left as it is', async () => {
  const none = client({});
  assert.equal((await none.run('enabled')).summary, 'no services: nothing to take out of DNS');
  const theirs = client({ services: WEB, maintenance: 'disk replacement' });
  assert.match((await theirs.run('enabled')).summary, /set by someone else, left so: disk replacement/);
  assert.match((await theirs.run('disabled')).summary, /set by someone else, left so/);
  assert.deepEqual([...none.puts(), ...theirs.puts()], []);
});

test("only drover's own maintenance is ended, and a refused end fails the task", async () => {
  const ours = client({ maintenance: 'drover: rolling restart' });
  const out = await ours.run('disabled');
  assert.deepEqual([out.changed, out.summary], [true, 'took c1 out of maintenance: back in DNS']);
  assert.deepEqual(ours.puts(), ['/v1/agent/maintenance?enable=false']);
  assert.equal((await client({}).run('disabled')).summary, 'not in maintenance');
  const refused = client({
    maintenance: 'drover: rolling restart',
    put: { status: 403, body: 'Permission denied' },
  });
  await assert.rejects(refused.run('disabled'), /maintenance off answered HTTP 403: Permission denied/);
});

test('an agent that refuses maintenance or does not answer does not stop the restart: it is said', async () => {
  const refused = client({ services: WEB, put: { status: 403, body: 'Permission denied' } });
  assert.match((await refused.run('enabled')).summary, /^no maintenance: .*HTTP 403/);
  const t = new RecordingTransport('c1');
  t.onHttp(/.*/, () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:8500');
  });
  const out = await consulMaintenanceModule.run({ state: 'enabled' }, moduleContext({ transport: t, vars }));
  assert.match(out.summary, /^no maintenance: c1's agent did not answer/);
});
