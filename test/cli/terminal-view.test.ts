/**
 * The live view on a real terminal: the CLI runs on a pseudo-terminal against SSH
 * hosts on loopback (one OpenSSH server, reached as 127.0.0.2-4), and the tests read the screen
 * a person would see. Each host's middle task waits for a gate file that the test creates only
 * once the screen shows that host's batch running, so the run cannot outpace the screen: a view
 * that froze or lost its lines fails at the first gate it never shows.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSshd, type TestSshd } from '../ssh/sshd.js';
import { relay } from './loopback-hosts.js';
import { openTerminal, recapAndAfter, Screen, terminalEnv } from './terminal.js';

const ROOT = join(import.meta.dirname, '..', '..');
const HOSTS = ['h1', 'h2', 'h3'];
const address = (i: number) => `127.0.0.${i + 2}`;

let sshd: TestSshd;
let root: string;
const forwarders: Server[] = [];
const sockets = new Set<Socket>();

/** One sshd, several host addresses: each address relays to the sshd on 127.0.0.1. */
async function forward(host: string, port: number): Promise<void> {
  forwarders.push(await relay(host, port, sockets));
}

/**
 * A fresh inventory and playbook in a folder of their own (lock, audit log and gates in it too:
 * nothing outside it is touched): a serial roll over the hosts, then one task on all of them.
 */
function fixture(name: string): { inventory: string; playbook: string; openGate: (host: string) => void } {
  const dir = join(root, name);
  const gates = join(dir, 'gates');
  mkdirSync(gates, { recursive: true });
  const inventory = join(dir, 'inventory.yaml');
  writeFileSync(
    inventory,
    [
      'all:',
      '  vars:',
      '    ssh_user: root',
      `    ssh_port: ${sshd.port}`,
      `    ssh_key: ${sshd.clientKey}`,
      `    ssh_known_hosts: ${join(root, 'known_hosts')}`,
      `    drover_lock_dir: ${join(dir, 'lock')}`,
      `    drover_audit_log: ${join(dir, 'audit.log')}`,
      '  children:',
      '    web:',
      '      hosts:',
      ...HOSTS.map((h, i) => `        ${h}: { address: ${address(i)} }`),
      '',
    ].join('\n'),
  );
  // The gate: at most 600 polls, 0.1s apart.
  const gate = `i=0; while [ ! -e ${gates}/{{ inventory_hostname }} ]; do i=$((i+1)); [ $i -gt 600 ] && exit 1; sleep 0.1; done`;
  const playbook = join(dir, 'playbook.yaml');
  writeFileSync(
    playbook,
    [
      '- name: roll',
      '  hosts: all',
      '  serial: 1',
      '  tasks:',
      '    - name: say hello',
      "      command: { cmd: 'echo hello' }",
      '    - name: wait at the gate',
      `      command: { cmd: ${JSON.stringify(gate)} }`,
      '    - name: say goodbye',
      "      command: { cmd: 'echo goodbye' }",
      '- name: after the roll',
      '  hosts: all',
      '  tasks:',
      '    - name: final check',
      "      command: { cmd: 'echo done', read_only: true }",
      '',
    ].join('\n'),
  );
  return { inventory, playbook, openGate: (host) => writeFileSync(join(gates, host), '') };
}

/** drover from source (the unit tests run before the bundle is built), on a terminal. */
function droverOnTerminal(f: { inventory: string; playbook: string }) {
  return openTerminal(
    [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'run', f.playbook, '-i', f.inventory, '--yes'],
    { cwd: ROOT, env: terminalEnv(), timeoutSeconds: 90 },
  );
}

/** The live list at the bottom of the screen is the gate task, with `host` still running. */
const atGate = (host: string) => (lines: string[]) =>
  /^\S wait at the gate$/.test(lines.at(-2) ?? '') && new RegExp(`^ +\\S ${host}$`).test(lines.at(-1) ?? '');

/** Lines that are a list's title with its state icon, e.g. `✔ say hello`. */
const titled = (lines: readonly string[], title: string) => lines.filter((l) => l.slice(2) === title);

const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

before(async () => {
  sshd = await startSshd();
  root = mkdtempSync(join(tmpdir(), 'drover-terminal-'));
  for (const [i] of HOSTS.entries()) await forward(address(i), sshd.port);
  writeFileSync(
    join(root, 'known_hosts'),
    HOSTS.map((_, i) => `[${address(i)}]:${sshd.port} ${sshd.hostPublicKey}\n`).join(''),
  );
});

after(async () => {
  // Open every gate: a shell still polling one (after a test failed) ends at once.
  for (const dir of ['roll', 'interrupt', 'twice']) {
    for (const h of HOSTS) {
      try {
        writeFileSync(join(root, dir, 'gates', h), '');
      } catch {
        // that test never ran
      }
    }
  }
  for (const s of sockets) s.destroy();
  await Promise.all(forwarders.map((f) => new Promise((r) => f.close(r))));
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('the live view on a terminal', { timeout: 180_000 }, () => {
  it('moves with the run, shows every task and batch, and ends with the recap and the summary', async () => {
    const f = fixture('roll');
    const term = droverOnTerminal(f);
    const held: string[][] = [];
    for (const [i, host] of HOSTS.entries()) {
      const lines = await term.waitFor(`${host} at the gate`, 60, atGate(host));
      // The run waits at this host's gate: the screen shows this batch, and nothing after it.
      assert.ok(lines.includes(`batch ${i + 1}/3: ${host}`), lines.join('\n'));
      assert.ok(!lines.some((l) => l.startsWith(`batch ${i + 2}/`)), lines.join('\n'));
      assert.equal(titled(lines, 'say hello').length, i + 1, lines.join('\n'));
      held.push(lines);
      f.openGate(host);
    }
    const r = await term.done;
    const screen = r.lines.join('\n');
    assert.equal(r.code, 0, screen);
    // Progress moved: each held screen was a new one, and the last one kept all of it.
    assert.equal(new Set(held.map((l) => l.join('\n'))).size, HOSTS.length);

    assert.ok(r.lines.includes('PLAY [roll] (h1, h2, h3)'), screen);
    assert.ok(r.lines.includes('PLAY [after the roll] (h1, h2, h3)'), screen);
    for (const [i, host] of HOSTS.entries()) {
      assert.equal(r.lines.filter((l) => l === `batch ${i + 1}/3: ${host}`).length, 1, screen);
      for (const word of ['hello', 'goodbye']) {
        assert.ok(
          r.lines.some((l) => l.endsWith(` ${host}: changed - run sh -c 'echo ${word}'`)),
          `${host} ${word}\n${screen}`,
        );
      }
      assert.ok(
        r.lines.some((l) => new RegExp(`^ +\\S ${host}: ok$`).test(l)),
        screen,
      );
    }
    for (const title of ['say hello', 'wait at the gate', 'say goodbye'])
      assert.equal(titled(r.lines, title).length, 3, `${title}\n${screen}`);
    assert.equal(titled(r.lines, 'final check').length, 1, screen);
    // Every list was drawn to its end: no spinner left on the screen, the cursor shown again.
    assert.ok(!r.lines.some((l) => SPINNER.test(l)), screen);
    assert.ok(r.cursorVisible);

    const { recap, after: tail } = recapAndAfter(r.lines);
    assert.deepEqual(
      recap.map((l) => l.split(' ')[0]),
      HOSTS,
      screen,
    );
    assert.deepEqual(tail, ['changed: h1, h2, h3'], screen);
  });

  it('on Ctrl-C finishes the running task, starts no other, and ends with the recap and an interrupted summary (exit 130)', async () => {
    const f = fixture('interrupt');
    const term = droverOnTerminal(f);
    await term.waitFor('h1 at the gate', 60, atGate('h1'));
    f.openGate('h1');
    await term.waitFor('h2 at the gate', 60, atGate('h2'));
    term.ctrlC();
    // The terminal echoes ^C as it signals drover; only then may h2's running task finish.
    await term.waitFor('the terminal to echo ^C', 10, (_l, raw) => raw.includes('^C'));
    f.openGate('h2');
    const r = await term.done;
    const screen = r.lines.join('\n');
    assert.equal(r.code, 130, screen);
    assert.ok(
      r.lines.includes('interrupted: finishing running tasks (Ctrl-C again to stop at once)'),
      screen,
    );
    // No new task after Ctrl-C: h2 never said goodbye, h3 never started, the last play never ran.
    assert.equal(titled(r.lines, 'say goodbye').length, 1, screen);
    assert.ok(!r.lines.some((l) => l.startsWith('batch 3/3')), screen);
    assert.ok(!r.lines.includes('PLAY [after the roll] (h1, h2, h3)'), screen);
    assert.ok(!r.lines.some((l) => SPINNER.test(l)), screen);
    assert.ok(r.cursorVisible);

    const { recap, after: tail } = recapAndAfter(r.lines);
    assert.deepEqual(
      recap.map((l) => l.split(' ')[0]),
      HOSTS,
      screen,
    );
    assert.equal(tail[0], 'interrupted: running tasks finished, no new task was started', screen);
    // The hosts no task ran on: h3's batch never started. h1 and h2 were reached, though the
    // last play never ran on them (the `interrupted` line says the run did not get to its end).
    assert.ok(tail.includes('not reached: h3'), screen);
    assert.match(tail.at(-1) ?? '', /^changed: /, screen);
  });

  it('on a second Ctrl-C stops at once, says so, and gives the terminal back', async () => {
    const f = fixture('twice');
    const term = droverOnTerminal(f);
    await term.waitFor('h1 at the gate', 60, atGate('h1'));
    term.ctrlC();
    await term.waitFor('the terminal to echo ^C', 10, (_l, raw) => raw.includes('^C'));
    term.ctrlC();
    const r = await term.done;
    const screen = r.lines.join('\n');
    assert.equal(r.code, 130, screen);
    assert.ok(r.lines.includes('interrupted again: stopping now'), screen);
    assert.ok(r.cursorVisible, 'the cursor is shown again');
  });
});

describe('the terminal model of these tests', () => {
  it('redraws lines as a terminal does, and refuses sequences it does not know', () => {
    const s = new Screen(10);
    s.feed('top\r\nold one\r\nold two');
    // log-update's erase of two lines, then the new frame.
    s.feed('\x1b[2K\x1b[1A\x1b[2K\x1b[G\x1b[32mnew\x1b[39m\r\n0123456789ab');
    assert.deepEqual(s.lines(), ['top', 'new', '0123456789', 'ab']);
    assert.equal(s.feed('\x1b[?25'), '\x1b[?25', 'a cut-off sequence waits for the rest');
    s.feed('\x1b[?25l');
    assert.equal(s.cursorVisible, false);
    assert.throws(() => s.feed('\x1b[2J'), /unknown control sequence/);
    assert.throws(() => s.feed('\x1b7'), /unknown escape sequence/);
  });
});
