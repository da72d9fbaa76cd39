/**
 * `-e` on the playbook commands, in-process against recorded hosts: key=value, a JSON mapping and
 * @FILE, above the inventory's vars, later ones winning; a secret-named var redacted like an
 * inventory secret; bad input located, exit 3, before any host is asked.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ExitCode } from '../../../src/errors.js';
import { parseExtraVars } from '../../../src/cli/extra-vars.js';
import { isSecret } from '../../../src/shell/secret.js';
import { CLUSTER, Hosts, scratch } from './harness.js';

const TOKEN = '6c0ffee0-aaaa-4bbb-8ccc-0123456789ab';
const files = scratch({
  'cluster.yaml': CLUSTER.replace(
    'consul_tls_enable: false',
    'consul_tls_enable: false, greeting: from-inventory',
  ),
  'site.yaml': [
    '- name: show',
    '  hosts: s1',
    '  tasks:',
    '    - name: say',
    '      command: { argv: [echo, "{{greeting}} {{n}} {{flag}}", "{{api_token}}"], read_only: true }',
    '',
  ].join('\n'),
  'vars.yaml': 'greeting: from-file\nn: 2\n',
  'bad.yaml': 'greeting: ok\nnot a name: 1\napi_token: [1]\n',
});
after(files.remove);

describe('-e extra vars', () => {
  it('win over the inventory, later ones over earlier ones; a secret is redacted everywhere', async () => {
    const hosts = new Hosts((t) => t.onExec(/^echo /, (command) => ({ stdout: `${command.slice(5)}\n` })));
    const r = await hosts.drover([
      'run',
      files.path('site.yaml'),
      '-i',
      files.path('cluster.yaml'),
      '-e',
      `@${files.path('vars.yaml')}`,
      '-e',
      `n=3 api_token=${TOKEN}`,
      '-e',
      '{"flag": true}',
      // A read-only command runs in check mode too: no lock to script.
      '--check',
    ]);
    assert.equal(r.code, ExitCode.ok, r.stdout + r.stderr);
    // What the host was sent, and what it echoed back, both without the token.
    assert.match(hosts.transports.get('s1')!.commands[0]!, /^echo 'from-file 3 true' <redacted>$/);
    assert.ok(!(r.stdout + r.stderr).includes(TOKEN), r.stdout);
  });

  it('key=value gives booleans and whole numbers as such, anything else as a string', () => {
    const v = parseExtraVars(['a=true b=false c=42 d=1.20.1 e=x=y', 'f_token=s3cr3t-v4lue'], {
      env: {},
      cwd: '/',
    });
    assert.deepEqual(
      { ...v, f_token: undefined },
      { a: true, b: false, c: 42, d: '1.20.1', e: 'x=y', f_token: undefined },
    );
    assert.ok(isSecret(v['f_token']));
  });

  it('bad input is exit 3, located in the file, before any host is asked', async () => {
    const hosts = new Hosts();
    const r = await hosts.drover([
      'run',
      files.path('site.yaml'),
      '-i',
      files.path('cluster.yaml'),
      '-e',
      `@${files.path('bad.yaml')}`,
    ]);
    assert.equal(r.code, ExitCode.badInput, r.stderr);
    assert.match(r.stderr, /bad\.yaml:2:\d+ .*"not a name" is not a var name/);
    assert.match(r.stderr, /bad\.yaml:3:\d+ api_token: must be a string/);
    assert.equal(hosts.transports.size, 0);
    const word = await hosts.drover([
      'run',
      files.path('site.yaml'),
      '-i',
      files.path('cluster.yaml'),
      '-e',
      'nokeyvalue',
    ]);
    assert.equal(word.code, ExitCode.usage);
    const missing = await hosts.drover([
      'run',
      files.path('site.yaml'),
      '-i',
      files.path('cluster.yaml'),
      '-e',
      '@/nonexistent.yaml',
    ]);
    assert.equal(missing.code, ExitCode.badInput);
  });
});
