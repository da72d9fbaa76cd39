/**
 * What `drover plan` and the run commands print, at argv level: the CLI from source
 * against SSH hosts on loopback (test/cli/loopback-hosts.ts), with small playbooks of command,
 * template and consul_config_check tasks (it only reads a file and renders a template: no
 * Docker). Output is piped, as in CI, but for one case on a pseudo-terminal.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { droverPiped, ROOT, startLoopbackHosts, type LoopbackHosts } from './loopback-hosts.js';
import { openTerminal, recapAndAfter, terminalEnv } from './terminal.js';

let hosts: LoopbackHosts;
before(async () => {
  hosts = await startLoopbackHosts(3);
});
after(() => hosts?.stop());

const TEMPLATE = '{\n  "log_level": {{json level}},\n  "retry_interval": {{json retry}}\n}\n';
const config = (level: string, retry: string) =>
  `{\n  "log_level": "${level}",\n  "retry_interval": "${retry}"\n}\n`;

/**
 * A folder with an agent config per host, all `info`/`30s` (mode 0600, as the template writes
 * it), and an inventory that wants h1 at log level debug (a reload) and h2 with retry_interval
 * 5s (a restart); h3 already matches.
 */
function configFixture(name: string, o: { unreachable?: number } = {}) {
  const dir = join(hosts.root, name);
  const hostNames = ['h1', 'h2', 'h3'];
  for (const h of hostNames) {
    mkdirSync(join(dir, h), { recursive: true });
    writeFileSync(join(dir, h, 'consul.json'), config('info', '30s'));
    chmodSync(join(dir, h, 'consul.json'), 0o600);
  }
  writeFileSync(join(dir, 'agent.json.hbs'), TEMPLATE);
  const playbook = join(dir, 'site.yaml');
  writeFileSync(
    playbook,
    [
      '- name: agents',
      '  hosts: web',
      '  tasks:',
      '    - name: agent config change class',
      '      consul_config_check:',
      '        src: agent.json.hbs',
      '        dest: "{{base}}/{{inventory_hostname}}/consul.json"',
      '    - name: agent config',
      '      template:',
      '        src: agent.json.hbs',
      '        dest: "{{base}}/{{inventory_hostname}}/consul.json"',
      '        mode: "0600"',
      '    - name: look around',
      '      command: { cmd: "true", read_only: true }',
      '',
    ].join('\n'),
  );
  const inventory = hosts.inventory(dir, {
    hosts: 3,
    ...(o.unreachable ? { unreachable: o.unreachable } : {}),
    vars: { base: dir, level: 'info', retry: '30s' },
    hostVars: { h1: '{ level: debug }', h2: '{ retry: 5s }' },
  });
  const files = () => hostNames.map((h) => readFileSync(join(dir, h, 'consul.json'), 'utf8'));
  return { dir, playbook, inventory, files };
}

/** The lines before the PLAY RECAP (the plan block) and the recap's host names and what follows. */
function parts(stdout: string) {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith('PLAY RECAP '));
  const { recap, after: tail } = recapAndAfter(lines);
  return {
    block: lines.slice(0, at),
    recapHosts: recap.map((l) => l.split(' ')[0]),
    tail: tail.filter((l) => l !== ''),
  };
}

/** The unified diff of one host's config (4 lines, `body` between the braces), as the template module shows it. */
const diff = (file: string, body: string[]) => [
  `--- a${file}`,
  `+++ b${file}`,
  '@@ -1,4 +1,4 @@',
  ' {',
  ...body,
  ' }',
];

describe('drover plan', { timeout: 120_000 }, () => {
  it('prints one short block: per host what would change, its config change class and diff; the rest in one line', async () => {
    const f = configFixture('plan');
    const before = f.files();
    const r = await droverPiped(['plan', '-p', f.playbook, '-i', f.inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const file = (h: string) => join(f.dir, h, 'consul.json');
    const { block, recapHosts, tail } = parts(r.stdout);
    assert.deepEqual(
      block,
      [
        'ok: [h1] agent config change class - config change: reload: log_level (reload)',
        `changed: [h1] agent config - update ${file('h1')} (mode 0600)`,
        ...diff(file('h1'), [
          '-  "log_level": "info",',
          '+  "log_level": "debug",',
          '   "retry_interval": "30s"',
        ]),
        '',
        'ok: [h2] agent config change class - config change: restart: retry_interval (restart)',
        `changed: [h2] agent config - update ${file('h2')} (mode 0600)`,
        ...diff(file('h2'), [
          '   "log_level": "info",',
          '-  "retry_interval": "30s"',
          '+  "retry_interval": "5s"',
        ]),
        '',
        'no change: h3',
        '',
      ],
      r.stdout,
    );
    assert.deepEqual(recapHosts, ['h1', 'h2', 'h3']);
    assert.deepEqual(tail, ['would change: h1, h2'], r.stdout);
    assert.deepEqual(f.files(), before, 'plan writes nothing');
  });

  it('-v lists every task on every host, the config change class included', async () => {
    const f = configFixture('plan-v');
    const r = await droverPiped(['plan', '-v', '-p', f.playbook, '-i', f.inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.split('\n');
    for (const line of [
      'PLAY [agents] (3 hosts)',
      'TASK [agent config change class]',
      'TASK [agent config]',
      'TASK [look around]',
      'ok: [h1] agent config change class - config change: reload: log_level (reload)',
      'ok: [h2] agent config change class - config change: restart: retry_interval (restart)',
      'ok: [h3] agent config change class',
      'ok: [h3] agent config',
      'ok: [h1] look around',
      'ok: [h2] look around',
      'ok: [h3] look around',
    ])
      assert.ok(lines.includes(line), `${line}\n${r.stdout}`);
    assert.ok(lines.includes('-  "log_level": "info",'), r.stdout);
    assert.deepEqual(parts(r.stdout).tail, ['would change: h1, h2'], r.stdout);
  });

  it('with nothing to change says so in one line, then the recap', async () => {
    const f = configFixture('nothing');
    const apply = await droverPiped(['run', f.playbook, '-i', f.inventory]);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    // The run lists every task, and no `restarted` line: this playbook restarts nothing.
    assert.ok(apply.stdout.includes('TASK [look around]'), apply.stdout);
    assert.deepEqual(parts(apply.stdout).tail, ['changed: h1, h2'], apply.stdout);
    assert.deepEqual(f.files(), [config('debug', '30s'), config('info', '5s'), config('info', '30s')]);

    const r = await droverPiped(['plan', '-p', f.playbook, '-i', f.inventory]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['nothing to change (3 hosts)', '', `PLAY RECAP ${'*'.repeat(69)}`]);
    assert.deepEqual(parts(r.stdout).recapHosts, ['h1', 'h2', 'h3']);
    assert.deepEqual(lines.slice(6), ['would change: no host'], r.stdout);
  });

  it('on a terminal: a progress line while it runs, gone at the end; then the same block', async () => {
    const f = configFixture('terminal');
    const term = openTerminal(
      [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'plan', '-p', f.playbook, '-i', f.inventory],
      { cwd: ROOT, env: terminalEnv(), timeoutSeconds: 90, columns: 160 },
    );
    const r = await term.done;
    const screen = r.lines.join('\n');
    assert.equal(r.code, 0, screen);
    // It was drawn (in place, at each task), and nothing of it is left on the screen.
    assert.ok(term.raw().includes('\r\x1b[2Kplanning: agent config change class (0/3)'), term.raw());
    assert.ok(!r.lines.some((l) => l.includes('planning:')), screen);
    const at = r.lines.findIndex((l) => l.startsWith('PLAY RECAP '));
    const block = r.lines.slice(0, at);
    assert.equal(
      block[0],
      'ok: [h1] agent config change class - config change: reload: log_level (reload)',
      screen,
    );
    assert.ok(
      block.includes('ok: [h2] agent config change class - config change: restart: retry_interval (restart)'),
      screen,
    );
    assert.ok(block.includes('-  "log_level": "info",'), screen);
    assert.equal(block.filter((l) => l.startsWith('no change: ')).join(), 'no change: h3', screen);
    // No live task list: no list titles with their state icons.
    assert.ok(!r.lines.some((l) => /^[✔✖↓] /.test(l)), screen);
    assert.deepEqual(recapAndAfter(r.lines).after, ['would change: h1, h2'], screen);
    assert.ok(r.cursorVisible);
  });
});

describe('the summary after the recap', { timeout: 120_000 }, () => {
  it('names every unreachable host with why, in a run and in a plan (exit 4)', async () => {
    const f = configFixture('unreachable', { unreachable: 1 });
    const where = `${hosts.address(3)}:${hosts.sshd.port}`;
    const run = await droverPiped(['run', f.playbook, '-i', f.inventory]);
    assert.equal(run.code, 4, run.stdout + run.stderr);
    assert.deepEqual(
      parts(run.stdout).tail,
      [`unreachable: h4 (connection refused by ${where})`, 'changed: h1, h2'],
      run.stdout,
    );
    const plan = await droverPiped(['plan', '-p', f.playbook, '-i', f.inventory]);
    assert.equal(plan.code, 4, plan.stdout + plan.stderr);
    const { block, tail } = parts(plan.stdout);
    assert.ok(
      block.includes(
        `unreachable: [h4] agent config change class - h4: unreachable: connection refused by ${where}`,
      ),
      plan.stdout,
    );
    assert.deepEqual(tail, [`unreachable: h4 (connection refused by ${where})`, 'would change: no host']);
  });

  it('of an interrupted run: interrupted, the hosts restarted, changed and never started (exit 130)', async () => {
    const dir = join(hosts.root, 'interrupt');
    const gates = join(dir, 'gates');
    mkdirSync(gates, { recursive: true });
    // h1 passes its gate at once; h2 waits at its own until Ctrl-C has been seen (600 polls at most).
    writeFileSync(join(gates, 'h1'), '');
    const gate = `i=0; while [ ! -e ${gates}/{{ inventory_hostname }} ]; do i=$((i+1)); [ $i -gt 600 ] && exit 1; sleep 0.1; done`;
    const playbook = join(dir, 'roll.yaml');
    writeFileSync(
      playbook,
      [
        '- name: roll',
        '  hosts: web',
        '  serial: 1',
        '  tasks:',
        '    - name: wait at the gate',
        `      command: { cmd: ${JSON.stringify(gate)} }`,
        '    - name: restart consul',
        "      command: { cmd: 'echo restarted' }",
        '- name: after the roll',
        '  hosts: web',
        '  tasks:',
        '    - name: final check',
        "      command: { cmd: 'echo done', read_only: true }",
        '',
      ].join('\n'),
    );
    const inventory = hosts.inventory(dir, { hosts: 3 });
    let signalled = false;
    const r = await droverPiped(['run', playbook, '-i', inventory], {
      onOutput(all, child) {
        // h2's gate task has begun: Ctrl-C now, and let h2's task end once drover has seen it.
        if (!signalled && /BATCH 2\/3: h2\nTASK \[wait at the gate\]\n/.test(all)) {
          signalled = true;
          process.kill(child.pid, 'SIGINT');
        }
        if (signalled && all.includes('interrupted: finishing running tasks'))
          writeFileSync(join(gates, 'h2'), '');
      },
    });
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.ok(!r.stdout.includes('[h2] restart consul'), 'no new task after Ctrl-C');
    assert.deepEqual(parts(r.stdout).recapHosts, ['h1', 'h2', 'h3']);
    assert.deepEqual(
      parts(r.stdout).tail,
      [
        'interrupted: running tasks finished, no new task was started',
        'restarted: h1',
        // h1 and h2 ran tasks: reached, though the last play never ran on them.
        'not reached: h3',
        'changed: h1, h2',
      ],
      r.stdout,
    );
  });
});
