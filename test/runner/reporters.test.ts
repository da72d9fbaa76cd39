import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import type { ConversationModule } from '../../src/modules/module.js';
import { parsePlaybookText } from '../../src/playbook/load-playbook.js';
import { combineReporters } from '../../src/report/combine.js';
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

test('createReporter picks plain lines for CI, pipes and terminals without a width, listr for terminals', async () => {
  const stream = Object.assign(new PassThrough(), { columns: 80 });
  assert.ok((await createReporter({ tty: false, ci: false, stream })) instanceof PlainReporter);
  assert.ok((await createReporter({ tty: true, ci: true, stream })) instanceof PlainReporter);
  assert.ok((await createReporter({ tty: true, ci: false, stream })) instanceof ListrReporter);
  // `script` without a terminal of its own gives a pty of 0 columns: listr2 cannot lay out a list.
  const narrow = Object.assign(new PassThrough(), { columns: 0 });
  assert.ok((await createReporter({ tty: true, ci: false, stream: narrow })) instanceof PlainReporter);
});

/** Resolves true once `check` holds, false after `seconds` (polled every 10 ms). */
async function until(check: () => boolean, seconds = 5): Promise<boolean> {
  for (let i = 0; i < seconds * 100; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

/** Rejects when `promise` has not settled within `seconds`: a list that never ends must fail, not hang. */
function within<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${seconds}s`)), seconds * 1000);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

test('listr reporter ends a list whose hosts the run never started (Ctrl-C), and prints the recap last', async () => {
  const controller = new AbortController();
  // Ctrl-C comes while s1 runs: the run lets s1 finish and starts no other host (forks 1).
  const stop: ConversationModule<Record<string, never>> = {
    kind: 'conversation',
    name: 'stop',
    argsSchema: { type: 'object' },
    async run(_a, ctx) {
      if (ctx.host.name === 's1') controller.abort();
      return { changed: false, summary: 'stopped' };
    },
  };
  const modules = { ...testModules, stop };
  const out = capture();
  const ts = transports([...inv.hosts.keys()]);
  const result = await within(
    runPlaybook({
      playbook: parsePlaybookText(
        '- hosts: all\n  tasks:\n    - name: stop here\n      stop: {}\n    - probe: { what: later }\n',
        'site.yaml',
        modules,
      ),
      inventory: inv,
      selectHosts,
      modules,
      connect: async (h) => ts.get(h.name)!,
      baseDir: '/',
      reporter: new ListrReporter({ stream: out.stream, renderer: 'simple' }),
      forks: 1,
      signal: controller.signal,
    }),
    10,
    'the run',
  );
  assert.equal(result.status, 'interrupted');
  const text = out.text();
  // The hosts never started are closed as such instead of being waited for forever.
  assert.match(text, /s1: ok/);
  assert.match(text, /s2: not run/);
  assert.match(text, /c1: not run/);
  assert.ok(text.endsWith(formatRecap(result.recap)), text);
});

test('listr reporter: when the run throws in the middle of a task, the list has ended before it rejects', async () => {
  const out = capture();
  const listr = new ListrReporter({ stream: out.stream, renderer: 'simple' });
  const broken: Reporter = {
    playStart() {},
    taskStart() {},
    taskEnd() {
      throw new Error('events file: disk full');
    },
  };
  const ts = transports([...inv.hosts.keys()], (t) => t.onExec(/.*/, {}));
  await assert.rejects(
    runPlaybook({
      playbook: playbook('- hosts: all\n  tasks:\n    - name: look\n      probe: { what: x }\n'),
      inventory: inv,
      selectHosts,
      modules: testModules,
      connect: async (h) => ts.get(h.name)!,
      baseDir: '/',
      reporter: combineReporters(listr, broken),
      forks: 1,
    }),
    /disk full/,
  );
  // Nothing is left drawing: the hosts after the error are closed, and flush has nothing to wait for.
  assert.match(out.text(), /s2: not run/);
  await within(listr.flush(), 1, 'flush');
});

test('live listr view: every line after a list reaches the terminal, and the streams are given back', async () => {
  const chunks: string[] = [];
  const terminal = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    }),
    { isTTY: true, columns: 100, rows: 40 },
  );
  const text = () => chunks.join('');
  const stderrWrite = process.stderr.write;
  // listr2 draws its live view only when process.stdout is a terminal.
  const wasTty = process.stdout.isTTY;
  process.stdout.isTTY = true;
  try {
    const reporter = new ListrReporter({ stream: terminal });
    reporter.playStart('deploy', ['s1']);
    for (const task of ['first', 'second', 'third']) {
      reporter.taskBegin({ play: 'deploy', task, hosts: ['s1'] });
      // As over real SSH, the list is drawing (listr2 has taken the streams) before the result.
      const drawn = await until(() => text().includes(task));
      reporter.taskEnd({
        play: 'deploy',
        task,
        host: 's1',
        status: 'changed',
        message: `did ${task}`,
        durationMs: 1,
      });
      assert.ok(drawn, `the "${task}" list was never drawn:\n${text()}`);
    }
    const recap = { s1: { ok: 3, changed: 3, failed: 0, skipped: 0, unreachable: 0, ignored: 0 } };
    reporter.runEnd(recap);
    await within(reporter.flush(), 5, 'flush');
    assert.ok(text().endsWith(`\n${formatRecap(recap)}`), text());
    for (const task of ['first', 'second', 'third'])
      assert.match(text(), new RegExp(`s1: changed - did ${task}`));
    assert.equal(terminal.write, Writable.prototype.write, 'the terminal stream has its own write again');
    assert.equal(process.stderr.write, stderrWrite, 'process.stderr has its own write again');
  } finally {
    process.stdout.isTTY = wasTty;
  }
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
