/**
 * The live view on a terminal, end to end on the lab: `drover deploy` of a 3-server +
 * 2-client cluster and rolling `drover restart`s of it run on a pseudo-terminal (see
 * test/cli/terminal.ts), and the tests read the screen a person would see. What ran comes from
 * the run's own --events file: every play, task and batch in it must be on the screen, the screen
 * must have moved while the run went on, and the recap and the summary must be the last lines.
 *
 * Uses pickHosts(): h1.. in CI, LAB_FIRST_HOST=8 while developing beside someone else's tests.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pickHosts, type LabHost } from '../lab/lab.js';
import { openTerminal, recapAndAfter, terminalEnv, type Terminal } from '../cli/terminal.js';
import { cleanUp, ROOT, writeLabInventory } from './drover-cli.js';

/** Short gates and SSH timeouts: a failing gate must end a test in seconds, not minutes. */
const VARS = { ssh_connect_timeout: 3, consul_server_gate_timeout: 20, consul_client_gate_timeout: 20 };
const SUMMARY =
  /^((interrupted|aborted|restarted|failed|unreachable|not reached|changed): |snapshot of \S+ at index \d+ )/;
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

interface Ran {
  /** `PLAY [name] (hosts)` of every play_start. */
  plays: string[];
  /** List titles of every task begun: `name`, or `handler: name`. */
  tasks: string[];
  /** `batch i/n: hosts` of every batch_start of a play with several batches. */
  batches: string[];
}

/** What the run did, from its --events file (one JSON object per line). */
function ran(eventsFile: string): Ran {
  const events = readFileSync(eventsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const of = (kind: string) => events.filter((e) => e['event'] === kind);
  const hosts = (e: Record<string, unknown>) => (e['hosts'] as string[]).join(', ');
  return {
    plays: of('play_start').map((e) => `PLAY [${String(e['play'])}] (${hosts(e) || 'no hosts'})`),
    tasks: [
      ...new Set(of('task_start').map((e) => `${e['handler'] ? 'handler: ' : ''}${String(e['task'])}`)),
    ],
    batches: of('batch_start')
      .filter((e) => Number(e['total']) > 1)
      .map((e) => `batch ${String(e['index'])}/${String(e['total'])}: ${hosts(e)}`),
  };
}

/** Lines that are a list's title with its state icon, e.g. `✔ agent config`. */
const isTitle = (line: string, title: string) => /^\S $/.test(line.slice(0, 2)) && line.slice(2) === title;
/** Lists that have ended (done, failed or skipped) on the screen. */
const endedLists = (lines: readonly string[]) => lines.filter((l) => /^[✔✖↓] /.test(l)).length;
const lastBatch = (lines: readonly string[]) => lines.findLast((l) => /^batch \d+\/\d+: /.test(l)) ?? '';

/**
 * Looks at the screen every 100 ms while the command runs (at most `seconds`): the distinct
 * values `probe` gave, in the order they first showed. The end screen is not counted: this is
 * what a person saw while waiting.
 */
async function watch(term: Terminal, seconds: number, probe: (lines: string[]) => string): Promise<string[]> {
  let ended = false;
  void term.done.then(
    () => (ended = true),
    () => (ended = true),
  );
  const seen: string[] = [];
  const deadline = Date.now() + seconds * 1000;
  while (!ended && Date.now() < deadline) {
    const value = probe(term.lines());
    if (value !== seen.at(-1)) seen.push(value);
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

/** Every play, task and batch the run reported is on the screen; no list was left drawing. */
function assertShowsAll(lines: readonly string[], what: Ran): void {
  const screen = lines.join('\n');
  for (const play of what.plays) assert.ok(lines.includes(play), `${play}\n${screen}`);
  for (const task of what.tasks)
    assert.ok(
      lines.some((l) => isTitle(l, task)),
      `task ${task}\n${screen}`,
    );
  for (const batch of what.batches)
    assert.equal(lines.filter((l) => l === batch).length, 1, `${batch}\n${screen}`);
  assert.ok(!lines.some((l) => SPINNER.test(l)), `a spinner is left on the screen\n${screen}`);
}

describe('the live view on a terminal, on the lab', { timeout: 900_000 }, () => {
  let hosts: LabHost[] = [];
  let servers: LabHost[] = [];
  let clients: LabHost[] = [];
  let inventory = '';
  let dir = '';

  before(async () => {
    hosts = pickHosts(5);
    servers = hosts.slice(0, 3);
    clients = hosts.slice(3);
    await cleanUp(hosts);
    inventory = writeLabInventory({ servers, clients, vars: VARS });
    dir = mkdtempSync(join(tmpdir(), 'drover-e2e-terminal-'));
  });
  after(async () => {
    await cleanUp(hosts);
    rmSync(dir, { recursive: true, force: true });
  });

  /** drover as users run it (bin/drover.js, the bundle) on a terminal, with an events file. */
  const droverOnTerminal = (name: string, args: readonly string[]) => {
    const events = join(dir, `${name}.ndjson`);
    const term = openTerminal(
      [process.execPath, join(ROOT, 'bin', 'drover.js'), ...args, '-i', inventory, '--events', events],
      { cwd: ROOT, env: terminalEnv(), timeoutSeconds: 300 },
    );
    return { term, events };
  };

  it('deploy: the view moves with the run, shows every task, and ends with the recap and the summary', async () => {
    const { term, events } = droverOnTerminal('deploy', ['deploy']);
    const seen = await watch(term, 300, (lines) => String(endedLists(lines)));
    const r = await term.done;
    const screen = r.lines.join('\n');
    assert.equal(r.code, 0, screen);
    // While it ran, lists kept ending on the screen: a frozen view shows one number, or two.
    assert.ok(seen.length >= 4, `ended lists seen while running: ${seen.join(' ')}\n${screen}`);
    assertShowsAll(r.lines, ran(events));
    assert.ok(r.cursorVisible);

    const { recap, after: tail } = recapAndAfter(r.lines);
    assert.deepEqual(recap.map((l) => l.split(' ')[0]).sort(), hosts.map((h) => h.name).sort(), screen);
    assert.ok(tail.length > 0 && tail.every((l) => SUMMARY.test(l)), screen);
    assert.match(tail.at(-1) ?? '', /^changed: /, screen);
  });

  it('restart: every batch shows while it runs, one after another, and the recap and the summary come last', async () => {
    const { term, events } = droverOnTerminal('restart', ['restart', '--serial', '1', '--yes']);
    const seen = (await watch(term, 300, lastBatch)).filter(Boolean);
    const r = await term.done;
    const screen = r.lines.join('\n');
    assert.equal(r.code, 0, screen);
    const what = ran(events);
    // Servers one at a time, then clients one at a time: five batches.
    assert.equal(what.batches.length, 5, what.batches.join('\n'));
    assertShowsAll(r.lines, what);
    // The batches showed up on the screen while the roll went on, in the roll's order.
    assert.ok(seen.length >= 3, `batches seen while running: ${seen.join(' | ')}\n${screen}`);
    assert.deepEqual(
      seen,
      what.batches.filter((b) => seen.includes(b)),
      `seen while running: ${seen.join(' | ')}`,
    );
    assert.ok(r.cursorVisible);

    const { recap, after: tail } = recapAndAfter(r.lines);
    assert.deepEqual(recap.map((l) => l.split(' ')[0]).sort(), hosts.map((h) => h.name).sort(), screen);
    assert.ok(
      tail.every((l) => SUMMARY.test(l)),
      screen,
    );
    // The snapshot taken before the first server stopped, then who was restarted.
    assert.match(tail[0] ?? '', /^snapshot of lab at index \d+ \(Consul [^)]+\) saved to \S+\.snap$/, screen);
    assert.match(tail[1] ?? '', /^restarted: /, screen);
    for (const h of hosts) assert.ok(tail[1]?.includes(h.name), `${h.name} restarted\n${screen}`);
    assert.match(tail.at(-1) ?? '', /^changed: /, screen);
  });

  it('restart, Ctrl-C at the second server: no new task, the recap, an interrupted summary, exit 130', async () => {
    const { term, events } = droverOnTerminal('interrupt', ['restart', '--serial', '1', '--yes']);
    await term.waitFor('the second server batch', 240, (lines) =>
      lines.some((l) => l.startsWith('batch 2/3: ')),
    );
    term.ctrlC();
    const r = await term.done;
    const screen = r.lines.join('\n');
    assert.equal(r.code, 130, screen);
    assert.ok(
      r.lines.includes('interrupted: finishing running tasks (Ctrl-C again to stop at once)'),
      screen,
    );
    // The roll stopped in the second server's batch: no third server, no client.
    assert.ok(!r.lines.some((l) => l.startsWith('batch 3/3: ')), screen);
    assert.ok(!r.lines.some((l) => /^batch \d\/2: /.test(l)), screen);
    assertShowsAll(r.lines, ran(events));
    assert.ok(r.cursorVisible);

    const { recap, after: tail } = recapAndAfter(r.lines);
    assert.ok(recap.length > 0, screen);
    assert.equal(tail[0], 'interrupted: running tasks finished, no new task was started', screen);
    assert.ok(
      tail.every((l) => SUMMARY.test(l)),
      screen,
    );
    assert.ok(
      tail.some((l) => l.startsWith('not reached: ')),
      screen,
    );
    assert.match(tail.at(-1) ?? '', /^changed: /, screen);
  });
});
