import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { objectValidator } from '../../src/config/schema.js';
import { builtinModules } from '../../src/modules/registry.js';

describe('builtin modules', () => {
  const modules = builtinModules();

  it('are registered under their playbook names', () => {
    const names = [...modules.keys()];
    for (const expected of [
      'command',
      'consul_gate',
      'consul_preflight',
      'consul_verify',
      'copy',
      'docker_container',
      'docker_image',
      'mkdir',
      'template',
      'wait_for',
    ]) {
      assert.ok(names.includes(expected), `${expected} is registered`);
    }
    for (const [name, m] of modules) assert.equal(m.name, name);
  });

  it('are each planned (facts in, a Change out) or a conversation, and say which', () => {
    const of = (kind: string) => [...modules.values()].filter((m) => m.kind === kind).map((m) => m.name);
    assert.deepEqual(of('planned').sort(), [
      'command',
      'consul_agent_state',
      'consul_cli',
      'consul_config_check',
      'consul_gossip_key',
      'consul_keyring',
      'consul_services',
      'consul_tls_cert',
      'copy',
      'docker_container',
      'docker_image',
      'mkdir',
      'template',
    ]);
    assert.equal(of('planned').length + of('conversation').length, modules.size);
  });

  it('have args schemas that compile under strict ajv and reject unknown keys', () => {
    for (const [name, m] of modules) {
      const validate = objectValidator(m.argsSchema);
      assert.equal(validate({ definitely_not_an_arg: 1 }), false, `${name} accepts an unknown key`);
      assert.ok(
        validate.errors?.some((e) => e.keyword === 'additionalProperties'),
        `${name}: ${JSON.stringify(validate.errors)}`,
      );
    }
  });

  it('accept typical playbook args', () => {
    const ok = (name: string, args: unknown) => {
      const validate = objectValidator(modules.get(name)!.argsSchema);
      assert.ok(validate(args), `${name}: ${JSON.stringify(validate.errors)}`);
    };
    ok('mkdir', { path: '/opt/consul/data', mode: '0750', owner: 'consul' });
    ok('template', {
      src: 'templates/consul/server.json.hbs',
      dest: '/opt/consul/config/consul.json',
      mode: '0640',
      validate_schema: 'schemas/consul-agent.schema.json',
    });
    ok('copy', { content: 'x', dest: '/etc/motd' });
    ok('command', { argv: ['consul', 'members'], read_only: true, timeout: 30 });
    ok('docker_image', { name: 'hashicorp/consul:1.19.2' });
    ok('docker_container', {
      name: 'consul',
      image: 'hashicorp/consul:1.19.2',
      state: 'started',
      restart: 'always',
      labels: { a: 'b' },
    });
    ok('wait_for', { port: 8500, http_path: '/v1/status/leader', timeout: 60 });
  });

  it('reject a mode written as an unquoted YAML number', () => {
    const validate = objectValidator(modules.get('mkdir')!.argsSchema);
    assert.equal(validate({ path: '/x', mode: 750 }), false);
    assert.equal(validate({ path: 'relative/x' }), false);
  });
});
