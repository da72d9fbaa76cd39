/** block / rescue / always at run time (runner/batch.ts), as Ansible's playbooks_blocks describes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GateError } from '../../src/errors.js';
import type { ConversationModule } from '../../src/modules/module.js';
import { exitCodeFor } from '../../src/report/conclusion.js';
import { formatOutcome } from '../../src/runner/plain-reporter.js';
import { makeInventory, runWith, testModules } from './helpers.js';
import type { RecordingTransport } from '../../src/ssh/recording-transport.js';

const three = makeInventory({ groups: { servers: ['s1', 's2', 's3'] } });
/** `sh -c fail` fails on the hosts named in the command (`fail-s2`), or on every host for plain `fail`. */
const failing = (t: RecordingTransport) =>
  t.onExec(/^sh -c fail/, (cmd) => ({ code: cmd === 'sh -c fail' || cmd.includes(t.host) ? 1 : 0 }));

const BLOCK = `
- hosts: servers
  tasks:
    - name: guarded
      block:
        - name: risky
          shell: { cmd: fail-s2 }
        - name: after risky
          probe: { what: next }
      rescue:
        - name: repair
          shell: { cmd: "repair {{ ansible_failed_task.name }} rc={{ ansible_failed_result.rc }}" }
      always:
        - name: cleanup
          probe: { what: cleanup }
    - name: later
      probe: { what: later }
`;

test('rescue runs on the host that failed, clearing the failure; always runs everywhere; the run succeeds', async () => {
  const r = await runWith(BLOCK, three, { script: failing });
  assert.deepEqual(r.reporter.lines, [
    'changed s1 risky',
    'failed s2 risky',
    'changed s3 risky',
    'ok s1 after risky',
    'ok s3 after risky',
    'changed s2 repair',
    'ok s1 cleanup',
    'ok s2 cleanup',
    'ok s3 cleanup',
    'ok s1 later',
    'ok s2 later',
    'ok s3 later',
  ]);
  assert.deepEqual(r.transports.get('s2')?.commands, [
    'sh -c fail-s2',
    "sh -c 'repair risky rc=1'",
    'probe cleanup',
    'probe later',
  ]);
  const rescued = r.outcomes[1];
  assert.equal(rescued?.rescued, true);
  assert.equal(rescued?.ignoredError, true);
  assert.match(formatOutcome(rescued as NonNullable<typeof rescued>), / \.\.\.rescued$/);
  // Ansible's recap has `rescued`; here it counts as ignored, and the host has not failed.
  assert.deepEqual(r.recap['s2'], { ok: 3, changed: 1, failed: 0, skipped: 0, unreachable: 0, ignored: 1 });
  assert.equal(r.status, 'ok');
  assert.equal(exitCodeFor(r.status), 0);
});

test('a failing rescue fails the host (after always); without a rescue, always runs and the host stays failed', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - block:
        - name: risky
          shell: { cmd: fail-s2-s3 }
      rescue:
        - name: repair
          shell: { cmd: fail-s3 }
      always:
        - name: cleanup
          probe: { what: cleanup }
    - block:
        - name: second
          shell: { cmd: fail-s1 }
      always:
        - name: second cleanup
          probe: { what: again }
    - name: later
      probe: { what: later }
`,
    three,
    { script: failing },
  );
  assert.deepEqual(r.reporter.lines, [
    'changed s1 risky',
    'failed s2 risky',
    'failed s3 risky',
    'changed s2 repair',
    'failed s3 repair',
    'ok s1 cleanup',
    'ok s2 cleanup',
    'ok s3 cleanup',
    'failed s1 second',
    'changed s2 second',
    'ok s1 second cleanup',
    'ok s2 second cleanup',
    'ok s2 later',
  ]);
  assert.deepEqual(r.failedHosts, ['s1', 's3']);
  assert.equal(r.status, 'failed');
  assert.equal(r.outcomes.find((o) => o.host === 's3' && o.task === 'repair')?.rescued, undefined);
});

test('a lone host failing in a block still runs its always before the run stops', async () => {
  const one = makeInventory({ groups: { servers: ['s1'] } });
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - block:
        - name: risky
          shell: { cmd: fail }
      always:
        - name: cleanup
          probe: { what: cleanup }
    - name: never
      probe: { what: never }
`,
    one,
    { script: failing },
  );
  assert.deepEqual(r.reporter.lines, ['failed s1 risky', 'ok s1 cleanup']);
  assert.deepEqual(r.reporter.notes, ['play "servers": every host in the batch failed; stopping the run']);
});

test('nested blocks: an inner always runs before the outer rescue; a block when and tags reach every task', async () => {
  const r = await runWith(
    `
- hosts: servers
  tasks:
    - block:
        - block:
            - name: inner
              shell: { cmd: fail-s1 }
          always:
            - name: inner always
              probe: { what: inner-always }
      rescue:
        - name: outer rescue
          probe: { what: rescue }
    - block:
        - name: only s3
          probe: { what: s3 }
        - name: tagged
          probe: { what: tagged }
          tags: [x]
      when: inventory_hostname == 's3'
      tags: [blk]
`,
    three,
    { script: failing, tags: ['blk'] },
  );
  // --tags blk: the first block's tasks have no tag; the second's all have the block's.
  assert.deepEqual(r.reporter.lines, [
    'skipped s1 only s3',
    'skipped s2 only s3',
    'ok s3 only s3',
    'skipped s1 tagged',
    'skipped s2 tagged',
    'ok s3 tagged',
  ]);
  const all = await runWith(
    `
- hosts: servers
  tasks:
    - block:
        - block:
            - name: inner
              shell: { cmd: fail-s1 }
          always:
            - name: inner always
              probe: { what: inner-always }
      rescue:
        - name: outer rescue
          probe: { what: rescue }
`,
    three,
    { script: failing },
  );
  assert.deepEqual(all.reporter.lines, [
    'failed s1 inner',
    'changed s2 inner',
    'changed s3 inner',
    'ok s1 inner always',
    'ok s2 inner always',
    'ok s3 inner always',
    'ok s1 outer rescue',
  ]);
  assert.equal(all.outcomes[0]?.rescued, true, 'the outer block rescues it');
  assert.equal(all.status, 'ok');
});

test('a failure a rescue handles does not count for max_fail_percentage; a safety gate is never rescued', async () => {
  const r = await runWith(
    `
- hosts: servers
  max_fail_percentage: 0
  tasks:
    - block:
        - name: risky
          shell: { cmd: fail-s1 }
      rescue:
        - name: repair
          probe: { what: repair }
    - name: later
      probe: { what: later }
`,
    three,
    { script: failing },
  );
  assert.equal(r.status, 'ok');
  assert.equal(r.reporter.lines.filter((l) => l.endsWith(' later')).length, 3);

  const gate: ConversationModule<Record<string, never>> = {
    kind: 'conversation',
    name: 'gate',
    argsSchema: { type: 'object' },
    async run() {
      throw new GateError('no quorum');
    },
  };
  const modules = { ...testModules, gate };
  const { parsePlaybookText } = await import('../../src/playbook/load-playbook.js');
  const gated = await runWith(
    parsePlaybookText(
      `
- hosts: servers
  tasks:
    - block:
        - name: quorum
          gate: {}
      rescue:
        - name: repair
          probe: { what: repair }
      always:
        - name: cleanup
          probe: { what: cleanup }
`,
      'site.yaml',
      modules,
    ),
    three,
    { modules },
  );
  assert.equal(gated.status, 'aborted');
  assert.deepEqual(gated.reporter.lines, ['failed s1 quorum', 'failed s2 quorum', 'failed s3 quorum']);
  assert.equal(gated.outcomes[0]?.rescued, undefined);
});

test('ignore_errors inside a block: the failure is ignored, not rescued', async () => {
  const r = await runWith(
    `
- hosts: s1
  tasks:
    - block:
        - name: risky
          shell: { cmd: fail }
          ignore_errors: true
        - name: next
          probe: { what: next }
      rescue:
        - name: repair
          probe: { what: repair }
`,
    three,
    { script: failing },
  );
  assert.deepEqual(r.reporter.lines, ['failed s1 risky', 'ok s1 next']);
  assert.equal(r.outcomes[0]?.rescued, undefined);
});
