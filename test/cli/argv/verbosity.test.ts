/**
 * -v, -vv, -vvv and -q on a playbook run, in-process against recorded hosts: what each level
 * adds (output lines, the commands and HTTP requests, the connections), secrets never shown at
 * any level, and -q down to the recap.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ExitCode } from '../../../src/errors.js';
import { CLUSTER, Hosts, scratch } from './harness.js';

const TOKEN = 'b3c4d5e6-0000-4111-8222-933344445555';
const files = scratch({
  'cluster.yaml': CLUSTER.replace(
    'consul_tls_enable: false',
    `consul_tls_enable: false, deploy_token: "${TOKEN}"`,
  ),
  'site.yaml': [
    '- name: show',
    '  hosts: s1',
    '  tasks:',
    '    - name: say',
    '      command: { argv: [echo, hello, "{{deploy_token}}"], read_only: true }',
    '    - name: fail',
    '      command: { argv: ["false"], read_only: true }',
    '      ignore_errors: true',
    '',
  ].join('\n'),
});
after(files.remove);

const run = (...flags: string[]) => {
  const hosts = new Hosts((t) =>
    t.onExec(/^echo /, { stdout: `hello ${TOKEN}\n`, stderr: 'a warning\n' }).onExec('false', { code: 1 }),
  );
  return hosts.drover([
    'run',
    files.path('site.yaml'),
    '-i',
    files.path('cluster.yaml'),
    '--check',
    ...flags,
  ]);
};

describe('verbosity', () => {
  it('default: task lines only; -v adds each command’s output and exit code', async () => {
    const plain = await run();
    assert.equal(plain.code, ExitCode.ok, plain.stderr);
    assert.doesNotMatch(plain.stdout, /^s1 \|/m);
    const v = await run('-v');
    assert.match(v.stdout, /^s1 \| hello <redacted>$/m);
    assert.match(v.stdout, /^s1 ! a warning$/m);
    assert.match(v.stdout, /^s1 rc=1 \(\d+ ms\)$/m);
    assert.doesNotMatch(v.stdout, /^s1 \$ /m, 'commands are -vv');
  });

  it('-vv adds each command as people may see it; -vvv the connections; never a secret', async () => {
    const vv = await run('-vv');
    assert.match(vv.stdout, /^s1 \$ echo hello <redacted>$/m);
    assert.doesNotMatch(vv.stdout, /ssh: connect/);
    const vvv = await run('-vvv');
    assert.match(vvv.stdout, /^s1 ssh: connecting to 10\.9\.0\.1$/m);
    assert.match(vvv.stdout, /^s1 ssh: connected in \d+ ms$/m);
    for (const r of [vv, vvv]) assert.ok(!(r.stdout + r.stderr).includes(TOKEN));
  });

  it('-q: the recap only, no task lines', async () => {
    const q = await run('-q');
    assert.equal(q.code, ExitCode.ok, q.stderr);
    assert.doesNotMatch(q.stdout, /TASK \[|PLAY \[show\]/);
    assert.match(q.stdout, /^PLAY RECAP /m);
    assert.match(q.stdout, /^s1 +: ok=\d+/m);
  });
});
