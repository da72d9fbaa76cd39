/**
 * examples/reuse/site.yaml (a role, a loop, an include, an import, a block), which the lab runs
 * for real: here through the CLI over fake hosts whose files are state (test/modules/fake-files.ts),
 * with the lab's inventory. It passes the checks before connecting, does what it says on each
 * host, and a second run changes nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths.js';
import type { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { Hosts } from '../cli/argv/harness.js';
import { FakeFiles } from '../modules/fake-files.js';

const DIR = '/srv/drover-example';
const FILES = ['greeting.txt', 'state/group.txt', 'state/marker', 'state/greeting-changed'];

function fakeHost(t: RecordingTransport): FakeFiles {
  const files = new FakeFiles(t);
  for (const d of [DIR, `${DIR}/logs`, `${DIR}/state`]) files.serveDir(d, { mode: '0755' });
  for (const f of FILES) files.serve(`${DIR}/${f}`, { mode: '0644' });
  t.onExec(`test -e ${DIR}/state/marker`, () => ({ code: files.files.has(`${DIR}/state/marker`) ? 0 : 1 }));
  t.onExec(`test -d ${DIR}/logs`, () => ({ code: files.dirs.has(`${DIR}/logs`) ? 0 : 1 }));
  t.onExec(`ls ${DIR}/state`, () => ({ stdout: 'group.txt\n' }));
  t.onExec(/\/dev\/tcp/, { code: 0 });
  return files;
}

test('examples/reuse/site.yaml runs on the lab inventory: role, loop, include per group, import, block', async () => {
  const state = new Map<string, FakeFiles>();
  const hosts = new Hosts((t) => {
    state.set(t.host, fakeHost(t));
    // The deploy lock and the audit log: commands of their own, answered as done.
    t.onExec(/.*/, { code: 0 });
  });
  const args = [
    'run',
    join(PROJECT_ROOT, 'examples/reuse/site.yaml'),
    '-i',
    join(PROJECT_ROOT, 'inventories/lab.yaml'),
  ];
  const first = await hosts.drover(args, { CI: 'true' });
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
  for (const [host, files] of state) {
    const kind = ['h1', 'h2', 'h3'].includes(host) ? 'server' : 'client';
    assert.equal(files.files.get(`${DIR}/state/group.txt`)?.content, `${kind} ${host}\n`, host);
    assert.equal(
      files.files.get(`${DIR}/greeting.txt`)?.content,
      `hello from ${host}\nnode ${host} in ${kind}s\n`,
      'the role template, with the role entry var over the role default',
    );
    assert.equal(files.files.get(`${DIR}/state/marker`)?.content, 'made by the rescue\n');
    assert.ok(files.files.has(`${DIR}/state/greeting-changed`), 'the role handler ran');
    assert.ok(files.dirs.has(`${DIR}/logs`) && files.dirs.has(`${DIR}/state`), 'the loop made both folders');
  }
  assert.match(first.stdout, /failed: \[h1\] look for the marker - .* \.\.\.rescued/);
  assert.match(first.stdout, /included: tasks\/server\.yaml/);
  assert.match(first.stdout, /included: tasks\/client\.yaml/);
  assert.match(first.stdout, /h5 +: ok=\d+ +changed=\d+ +unreachable=0 +failed=0 +skipped=0 +ignored=1/);

  const second = await hosts.drover(args, { CI: 'true' });
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /\nchanged: no host\n/);
  assert.doesNotMatch(second.stdout, /rescued|HANDLER/);
});
