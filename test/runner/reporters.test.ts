import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createReporter } from '../../src/runner/create-reporter.js';
import { ListrReporter } from '../../src/runner/listr-reporter.js';
import { PlainReporter } from '../../src/runner/plain-reporter.js';
import { formatRecap } from '../../src/runner/recap.js';
import { runPlaybook } from '../../src/runner/run-playbook.js';
import type { Reporter } from '../../src/runner/reporter.js';
import { Secret } from '../../src/shell/secret.js';
import { makeInventory, playbook, selectHosts, testModules, transports } from './helpers.js';

const GOSSIP = 'c2VjcmV0LWdvc3NpcC1rZXk=';
const TOKEN = 'acl-token-9f8e7d6c';
const inv = makeInventory({
  groups: { servers: ['s1', 's2'], clients: ['c1'] },
  groupVars: { all: { gossip_key: new Secret(GOSSIP), acl_token: new Secret(TOKEN) } },
});
const book = playbook(`
- name: deploy
  hosts: all
  tasks:
    - name: write config
      write:
        path: /etc/consul.json
        content: '{"encrypt": "{{ gossip_key }}", "node": "{{ inventory_hostname }}"}'
    - name: register token
      shell: { cmd: "consul acl set-agent-token default {{ acl_token }}" }
    - name: after
      probe: { what: after }
`);

async function run(reporter: Reporter) {
  const ts = transports([...inv.hosts.keys()], (t) => {
    // c1 fails and echoes the token back, as real tools do.
    // The command holds a secret, so it is recorded (and shown) with that whole argument redacted.
    if (t.host === 'c1') t.onExec('sh -c <redacted>', { code: 1, stderr: `bad token ${TOKEN}` });
  });
  const result = await runPlaybook({
    playbook: book,
    inventory: inv,
    selectHosts,
    modules: testModules,
    connect: async (h) => ts.get(h.name)!,
    baseDir: '/',
    reporter,
    diff: true,
    forks: 1,
  });
  await reporter.flush?.();
  return { result, ts };
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { stream, text: () => chunks.join('') };
}

test('plain reporter: one line per host result, diffs, recap; secrets never printed', async () => {
  const out = capture();
  const { result, ts } = await run(new PlainReporter(out.stream));
  const text = out.text();
  assert.ok(!text.includes(GOSSIP) && !text.includes(TOKEN), text);
  const lines = text.split('\n');
  assert.ok(lines.includes('PLAY [deploy] (3 hosts)'));
  assert.ok(lines.includes('TASK [write config]'));
  assert.ok(lines.includes('changed: [s1] write config - write /etc/consul.json'));
  assert.ok(lines.includes('changed: [s2] register token - run sh -c <redacted>'), text);
  assert.ok(
    lines.includes('failed: [c1] register token - c1: command failed (exit 1): sh -c <redacted>'),
    text,
  );
  assert.ok(lines.includes('bad token <redacted>'));
  assert.ok(lines.includes('ok: [s1] after'));
  assert.ok(lines.includes('+{"encrypt": "<redacted>", "node": "s1"}'), text);
  assert.ok(
    lines.some((l) => /^c1 +: ok=1 +changed=1 +unreachable=0 +failed=1 +skipped=0 +ignored=0$/.test(l)),
    text,
  );
  // The host itself got the clear text: secrets are revealed only on the wire.
  assert.equal(ts.get('s1')?.calls[1]?.stdin, `{"encrypt": "${GOSSIP}", "node": "s1"}`);
  assert.deepEqual(result.failedHosts, ['c1']);
});

test('listr reporter draws per-task host lists and never prints secrets', async () => {
  const out = capture();
  await run(new ListrReporter({ stream: out.stream, renderer: 'simple' }));
  const text = out.text();
  assert.ok(!text.includes(GOSSIP) && !text.includes(TOKEN), text);
  assert.match(text, /PLAY \[deploy\] \(s1, s2, c1\)/);
  assert.match(text, /s1: changed - write \/etc\/consul.json/);
  assert.match(text, /c1: command failed \(exit 1\)/);
  assert.match(text, /PLAY RECAP/);
});

test('createReporter picks plain lines for CI and pipes, listr for terminals', async () => {
  const stream = new PassThrough();
  assert.ok((await createReporter({ tty: false, ci: false, stream })) instanceof PlainReporter);
  assert.ok((await createReporter({ tty: true, ci: true, stream })) instanceof PlainReporter);
  assert.ok((await createReporter({ tty: true, ci: false, stream })) instanceof ListrReporter);
});

test("formatRecap reads like Ansible's PLAY RECAP", () => {
  assert.equal(
    formatRecap({
      s1: { ok: 3, changed: 1, failed: 0, skipped: 2, unreachable: 0, ignored: 0 },
      'a-very-long-host-name.example.internal': {
        ok: 0,
        changed: 0,
        failed: 0,
        skipped: 0,
        unreachable: 1,
        ignored: 0,
      },
    }),
    [
      `PLAY RECAP ${'*'.repeat(69)}`,
      's1                                     : ok=3    changed=1    unreachable=0    failed=0    skipped=2    ignored=0',
      'a-very-long-host-name.example.internal : ok=0    changed=0    unreachable=1    failed=0    skipped=0    ignored=0',
      '',
    ].join('\n'),
  );
});
