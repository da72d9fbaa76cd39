/**
 * The report writers fed by the real runner (runPlaybook with scripted transports), checked
 * against the schemas and against the runner's own verdict.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schemaValidator } from '../../src/config/schema.js';
import { combineReporters } from '../../src/report/combine.js';
import { createRecapCollector } from '../../src/report/collector.js';
import { exitCodeFor } from '../../src/report/conclusion.js';
import { createEventsReporter, type DroverEvent } from '../../src/report/events.js';
import { buildJsonRecap } from '../../src/report/json-recap.js';
import { renderJunit } from '../../src/report/junit.js';
import { makeInventory, runWith } from '../runner/helpers.js';
import { childrenNamed, parseXml } from './mini-xml.js';

const book = `
- name: consul servers
  hosts: servers
  tasks:
    - name: write config
      shell: { cmd: write-config }
    - name: check version
      probe: { what: version }
    - name: pull image
      shell: { cmd: pull }
`;

test('a real run: recap, events and JUnit agree with the runner and validate', async () => {
  const inventory = makeInventory({ groups: { servers: ['s1', 's2', 's3'] } });
  const collector = createRecapCollector();
  let ndjson = '';
  const events = createEventsReporter(
    { write: (s: string) => (ndjson += s) },
    {
      command: 'drover deploy -i prod.yaml',
      droverVersion: '0.1.0',
    },
  );
  const run = await runWith(book, inventory, {
    reporter: combineReporters(collector, events),
    unreachable: ['s3'],
    script: (t) => {
      if (t.host === 's2') t.onExec(/pull/, { code: 1, stderr: 'manifest unknown' });
    },
  });
  events.finish({ status: run.status, ...(run.abortReason ? { reason: run.abortReason } : {}) });

  const recap = buildJsonRecap(collector.collected(), { status: run.status });
  const validRecap = schemaValidator('recap.schema.json');
  assert.ok(validRecap(recap), JSON.stringify(validRecap.errors));
  assert.equal(recap.exit_code, exitCodeFor(run.status));
  assert.deepEqual(recap.changed_hosts, run.changedHosts);
  assert.deepEqual(recap.failed_hosts, run.failedHosts);
  assert.deepEqual(recap.unreachable_hosts, run.unreachableHosts);
  assert.deepEqual(recap.hosts, run.recap);
  assert.deepEqual(
    Object.fromEntries(Object.entries(recap.tasks[2]?.hosts ?? {}).map(([h, r]) => [h, r.status])),
    { s1: 'changed', s2: 'failed' },
  );

  const validEvent = schemaValidator('events.schema.json');
  const lines = ndjson
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as DroverEvent);
  for (const e of lines)
    assert.ok(validEvent(e), `${JSON.stringify(e)} ${JSON.stringify(validEvent.errors)}`);
  const end = lines.at(-1);
  assert.ok(end?.event === 'run_end');
  assert.equal(end.exit_code, exitCodeFor(run.status));
  assert.deepEqual(end.recap, run.recap);
  assert.equal(lines.filter((e) => e.event === 'task_end').length, run.outcomes.length);

  const junit = parseXml(renderJunit(collector.collected()));
  const s2 = childrenNamed(junit, 'testsuite').find((s) => s.attrs['name'] === 's2');
  const failure = s2 && childrenNamed(s2, 'testcase').flatMap((c) => childrenNamed(c, 'failure'))[0];
  assert.equal(failure?.attrs['type'], 'exit 1');
  assert.match(failure?.text ?? '', /manifest unknown/);
});
