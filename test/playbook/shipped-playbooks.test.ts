/** The shipped Consul playbooks load, and their rolls have the shape the safety depends on. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtinModules } from '../../src/modules/registry.js';
import { PLAYBOOKS_DIR } from '../../src/paths.js';
import { loadPlaybook } from '../../src/playbook/load-playbook.js';

for (const file of ['consul-deploy.yaml', 'consul-rolling-restart.yaml', 'consul-upgrade.yaml']) {
  test(`${file}: servers roll one at a time, leader last, gated; clients in templated batches`, async () => {
    const book = await loadPlaybook(join(PLAYBOOKS_DIR, file), builtinModules());
    const servers = book.plays.find((p) => p.name === 'Consul servers, one at a time, leader last');
    assert.ok(servers, 'a servers play');
    assert.deepEqual(servers.serial, [1]);
    assert.equal(servers.order, 'consul_leader_last');
    assert.equal(servers.maxFailPercentage, 0);
    const modules = servers.tasks.map(
      (t) => `${t.module}${t.args['wait'] ? `:${String(t.args['wait'])}` : ''}`,
    );
    assert.equal(modules[0], 'consul_gate:ready');
    assert.equal(modules.at(-1), 'consul_gate:server');
    const clients = book.plays.find((p) => p.name === 'Consul clients, in batches');
    assert.equal(clients?.serialTemplate, '{{consul_roll_serial}}');
    // Each client out of DNS first, then back once its gate has passed.
    const steps = (clients?.tasks ?? []).map(
      (t) => `${t.module}:${String(t.args['wait'] ?? t.args['state'] ?? '')}`,
    );
    assert.equal(steps[0], 'consul_maintenance:enabled');
    assert.deepEqual(steps.slice(-2), ['consul_gate:client', 'consul_maintenance:disabled']);
    // The pre-flight comes before any play that restarts.
    const names = book.plays.map((p) => p.name);
    assert.ok(names.indexOf('Consul pre-flight') < names.indexOf(servers.name));
    assert.equal(names.at(-1), 'Verify the cluster');
  });
}

test('consul-upgrade.yaml pulls on every host before the servers play', async () => {
  const book = await loadPlaybook(join(PLAYBOOKS_DIR, 'consul-upgrade.yaml'), builtinModules());
  const names = book.plays.map((p) => p.name);
  const pull = book.plays.find((p) => p.tasks.some((t) => t.module === 'docker_image'));
  assert.equal(pull?.hosts, 'servers:clients');
  assert.deepEqual(pull?.serial, []);
  assert.ok(names.indexOf(pull.name) < names.indexOf('Consul servers, one at a time, leader last'));
});

test('consul-deploy.yaml: the TLS files come before the config that names them, and only with TLS on', async () => {
  const book = await loadPlaybook(join(PLAYBOOKS_DIR, 'consul-deploy.yaml'), builtinModules());
  const agents = book.plays[0];
  assert.ok(agents);
  const names = agents.tasks.map((t) => t.name);
  const at = (name: string) => {
    const i = names.indexOf(name);
    assert.ok(i >= 0, `a task "${name}"`);
    return i;
  };
  assert.ok(at('TLS directory') < at('TLS certificates'));
  assert.ok(at('TLS certificates') < at('record the reload the TLS files owe'));
  assert.ok(at('record the reload the TLS files owe') < at('agent config change class'));
  assert.ok(at('TLS certificates') < at('container'), 'a new agent starts with its certificate in place');
  for (const name of ['TLS directory', 'TLS certificates', 'record the reload the TLS files owe']) {
    const task = agents.tasks[at(name)];
    assert.match(task?.when[0]?.source ?? '', /^consul_tls_enable\b/, `${name} runs only with TLS on`);
  }
  const cert = agents.tasks[at('TLS certificates')];
  assert.equal(cert?.module, 'consul_tls_cert');
  assert.equal(cert?.args['dir'], '{{consul_config_dir}}/tls', 'inside the folder the container mounts');
  assert.equal(agents.tasks[at('record the reload the TLS files owe')]?.args['mark'], 'reload');
  assert.equal(agents.defaults['consul_tls_enable'], false, 'existing clusters keep what they have');
});
