/**
 * The lines after the PLAY RECAP (src/app/run-summary.ts, and the roll's in src/app/rolls.ts), from
 * results of the real runner: interrupted, restarted, failed, unreachable (with why), not
 * reached, changed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notReachedByRoll, roll, summarizeRoll } from '../../src/app/rolls.js';
import { canRestart, notStarted, summaryLines } from '../../src/app/run-summary.js';
import type { ConversationModule } from '../../src/modules/module.js';
import { parsePlaybookText } from '../../src/playbook/load-playbook.js';
import { makeInventory, playbook, runWith, testModules } from '../runner/helpers.js';

const inv = makeInventory({ groups: { servers: ['s1', 's2', 's3'], clients: ['c1', 'c2'] } });

/** A module that types Ctrl-C (aborts `controller`) while it runs on `host`. */
function ctrlCOn(host: string, controller: AbortController): ConversationModule<Record<string, never>> {
  return {
    kind: 'conversation',
    name: 'ctrl_c',
    argsSchema: { type: 'object' },
    async run(_a, ctx) {
      if (ctx.host.name === host) controller.abort();
      return { changed: true, summary: 'changed something' };
    },
  };
}

/** A roll as the Consul playbooks are: a pre-flight on all, servers one by one, then clients. */
const ROLL = `
- name: pre-flight
  hosts: servers:clients
  tasks:
    - name: cluster is healthy
      probe: { what: health }
- name: servers
  hosts: servers
  serial: 1
  tasks:
    - name: work
      ctrl_c: {}
    - name: restart consul
      shell: { cmd: docker restart consul }
- name: clients
  hosts: clients
  tasks:
    - name: restart consul
      shell: { cmd: docker restart consul }
`;

async function interruptedRoll(at: string) {
  const controller = new AbortController();
  const modules = { ...testModules, ctrl_c: ctrlCOn(at, controller) };
  return runWith(parsePlaybookText(ROLL, 'roll.yaml', modules), inv, { modules, signal: controller.signal });
}

describe('the summary after the recap', () => {
  it('of an interrupted run: interrupted, who was restarted, what changed, who was never started', async () => {
    const r = await interruptedRoll('s2');
    assert.equal(r.status, 'interrupted');
    assert.deepEqual(summaryLines(r, { check: false, restarts: true }), [
      'interrupted: running tasks finished, no new task was started',
      'restarted: s1',
      'changed: s1, s2',
    ]);
  });

  it('not reached: the hosts no task ran on, not those a later play never got to', async () => {
    const controller = new AbortController();
    const modules = { ...testModules, ctrl_c: ctrlCOn('s2', controller) };
    const book = parsePlaybookText(
      `
- name: roll
  hosts: servers
  serial: 1
  tasks:
    - name: work
      ctrl_c: {}
- name: after
  hosts: servers:clients
  tasks:
    - name: look
      probe: { what: x }
`,
      'site.yaml',
      modules,
    );
    const r = await runWith(book, inv, { modules, signal: controller.signal });
    // The runner's own list is the rest of the run: s3's batch, then every host of the last play.
    assert.deepEqual(r.notReachedHosts, ['s3', 's1', 's2', 'c1', 'c2']);
    assert.deepEqual(notStarted(r), ['s3', 'c1', 'c2']);
    assert.deepEqual(summaryLines(r, { check: false, restarts: false }), [
      'interrupted: running tasks finished, no new task was started',
      'not reached: s3, c1, c2',
      'changed: s1, s2',
    ]);
  });

  it('of any run with unreachable hosts: each by name, with why', async () => {
    const r = await runWith(
      `
- hosts: servers
  tasks:
    - name: look
      probe: { what: x }
`,
      inv,
      { unreachable: ['s2', 's3'] },
    );
    assert.equal(r.status, 'unreachable');
    assert.deepEqual(summaryLines(r, { check: true, restarts: false }), [
      'unreachable: s2 (connection refused), s3 (connection refused)',
      'would change: no host',
    ]);
  });

  it('names failed hosts, and says "restarted" only for playbooks that restart, when there is news', async () => {
    const book = `
- hosts: servers
  tasks:
    - name: restart consul
      shell: { cmd: docker restart consul }
      when: inventory_hostname != 's2'
`;
    const r = await runWith(book, inv, {
      script: (t) => t.host === 's3' && t.onExec(/.*/, { code: 1, stderr: 'no such container' }),
    });
    assert.ok(canRestart(playbook(book)));
    assert.ok(!canRestart(playbook('- hosts: all\n  tasks:\n    - probe: { what: x }\n')));
    assert.deepEqual(summaryLines(r, { check: false, restarts: true }), [
      'restarted: s1',
      'failed: s3',
      'changed: s1',
    ]);
    const quiet = await runWith(book.replace("!= 's2'", "== 'none'"), inv);
    assert.deepEqual(summaryLines(quiet, { check: false, restarts: true }), ['changed: no host']);
  });
});

describe("the roll's summary (drover restart, upgrade)", () => {
  it('interrupted: not reached means not restarted, though the pre-flight read every host', async () => {
    const r = await interruptedRoll('s2');
    assert.deepEqual(notReachedByRoll(r), ['s2', 's3', 'c1', 'c2']);
    assert.deepEqual(summarizeRoll(r, false), [
      'interrupted: running tasks finished, no new task was started',
      'restarted: s1',
      'not reached: s2, s3, c1, c2',
      'changed: s1, s2',
    ]);
  });

  it('in check mode: the order, then the gates under it', async () => {
    const r = await runWith(ROLL.replace('ctrl_c: {}', 'probe: { what: x }'), inv, { check: true });
    const lines = summarizeRoll(r, true);
    assert.equal(lines[0], 'would restart, in this order: s1, s2, s3, c1, c2');
    assert.match(lines[1] ?? '', /^gates: pre-flight/);
    assert.match(lines[2] ?? '', /^the servers are ordered leader-last again/);
    assert.equal(lines.at(-1), 'would change: s1, s2, s3, c1, c2');
  });

  it('after an upgrade that went through: the exact consul_image line the inventory needs', async () => {
    const upgrade = roll('upgrade', { image: 'registry.example:5000/consul:1.20.2' });
    const done = await runWith(ROLL.replace('ctrl_c: {}', 'probe: { what: x }'), inv);
    assert.deepEqual(upgrade.summarize(done, false).slice(-2), [
      'keep this image in the inventory (all: vars:), or the next deploy is refused as a downgrade:',
      '  consul_image: "registry.example:5000/consul:1.20.2"',
    ]);
    // Not in check mode, not after a roll that stopped, and never for a restart.
    const checked = await runWith(ROLL.replace('ctrl_c: {}', 'probe: { what: x }'), inv, { check: true });
    assert.doesNotMatch(upgrade.summarize(checked, true).join('\n'), /consul_image/);
    assert.doesNotMatch(upgrade.summarize(await interruptedRoll('s2'), false).join('\n'), /consul_image/);
    assert.doesNotMatch(roll('restart', {}).summarize(done, false).join('\n'), /consul_image/);
  });
});
