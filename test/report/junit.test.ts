import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRecapCollector } from '../../src/report/collector.js';
import { renderJunit } from '../../src/report/junit.js';
import { consulDeploy, playOut, steppingClock } from './fixtures.js';
import { childrenNamed, parseXml, type XmlElement } from './mini-xml.js';

function deployReport(): XmlElement {
  const c = createRecapCollector({ now: steppingClock() });
  consulDeploy(c);
  c.runEnd({});
  return parseXml(renderJunit(c.collected()));
}

const suite = (root: XmlElement, host: string): XmlElement => {
  const s = childrenNamed(root, 'testsuite').find((x) => x.attrs['name'] === host);
  assert.ok(s, `no testsuite for ${host}`);
  return s;
};

test('one testsuite per host, one testcase per task with classname = play and name = task', () => {
  const root = deployReport();
  assert.equal(root.name, 'testsuites');
  assert.deepEqual(
    childrenNamed(root, 'testsuite').map((s) => s.attrs['name']),
    ['s1', 's2', 's3'],
  );
  const s1 = suite(root, 's1');
  assert.deepEqual(
    childrenNamed(s1, 'testcase').map((c) => [c.attrs['classname'], c.attrs['name']]),
    [
      ['consul servers', 'write config'],
      ['consul servers', 'pull image'],
      ['consul servers', 'optional probe'],
      ['consul servers', 'enable acl'],
      ['consul servers', 'restart consul (handler)'],
    ],
  );
  assert.equal(childrenNamed(s1, 'testcase')[0]?.attrs['time'], '0.120');
});

test('a failed task is a <failure> with the message, the exit code and the stderr tail', () => {
  const s2 = suite(deployReport(), 's2');
  const pull = childrenNamed(s2, 'testcase').find((c) => c.attrs['name'] === 'pull image');
  const failure = pull && childrenNamed(pull, 'failure')[0];
  assert.ok(failure);
  assert.equal(failure.attrs['message'], 's2: command failed (exit 125): docker pull hashicorp/consul:1.99');
  assert.equal(failure.attrs['type'], 'exit 125');
  // The stderr tail comes back intact, including characters XML must escape.
  assert.match(
    failure.text,
    /docker pull hashicorp\/consul:1\.99\nError response from daemon: manifest unknown <&>$/,
  );
  assert.deepEqual([s2.attrs['tests'], s2.attrs['failures'], s2.attrs['errors']], ['2', '1', '0']);
});

test('skipped tasks are <skipped/>, unreachable hosts are <error>, ignored failures pass', () => {
  const root = deployReport();
  const s1 = childrenNamed(suite(root, 's1'), 'testcase');
  const byName = (n: string) => s1.find((c) => c.attrs['name'] === n) as XmlElement;
  assert.equal(childrenNamed(byName('enable acl'), 'skipped').length, 1);
  const probe = byName('optional probe');
  assert.deepEqual(
    probe.children.map((c) => c.name),
    ['system-out'],
  );
  assert.match(childrenNamed(probe, 'system-out')[0]?.text ?? '', /^failed \(ignored\): probe said no/);
  const s3 = suite(root, 's3');
  const err = childrenNamed(childrenNamed(s3, 'testcase')[0] as XmlElement, 'error')[0];
  assert.equal(err?.attrs['type'], 'unreachable');
  assert.match(err?.attrs['message'] ?? '', /ECONNREFUSED/);
});

test('totals add up across hosts', () => {
  const root = deployReport();
  assert.deepEqual(
    ['tests', 'failures', 'errors', 'skipped'].map((k) => root.attrs[k]),
    ['8', '1', '1', '1'],
  );
  const s1 = suite(root, 's1');
  assert.deepEqual(
    ['tests', 'failures', 'errors', 'skipped', 'time'].map((k) => s1.attrs[k]),
    ['5', '0', '0', '1', '0.600'],
  );
  assert.match(s1.attrs['timestamp'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  assert.ok(Number(root.attrs['time']) > 0);
});

test('names and messages with markup, quotes, colour codes and control characters stay well-formed', () => {
  const c = createRecapCollector({ now: steppingClock() });
  const nasty = `say "hi" & <b>'bye'</b>\u0000\u001b[31mred\u001b[0m`;
  playOut(
    c,
    `play <&> "x"`,
    ['h&1'],
    [{ task: nasty, results: { 'h&1': { status: 'failed', message: nasty } } }],
  );
  const root = parseXml(renderJunit(c.collected()));
  const s = childrenNamed(root, 'testsuite')[0] as XmlElement;
  assert.equal(s.attrs['name'], 'h&1');
  const tc = childrenNamed(s, 'testcase')[0] as XmlElement;
  assert.equal(tc.attrs['classname'], 'play <&> "x"');
  assert.equal(tc.attrs['name'], `say "hi" & <b>'bye'</b>red`);
  assert.equal(childrenNamed(tc, 'failure')[0]?.text, `say "hi" & <b>'bye'</b>red`);
});

test('a host that ran nothing still has an empty suite, and secrets are scrubbed', () => {
  const key = 'pUGdg4qqTm0rTXzLkL0Ul0c8pGyBdgk+/qK8/XKqXPk=';
  const c = createRecapCollector({ now: steppingClock() });
  playOut(c, 'p', ['a', 'b'], [{ task: 't', results: { a: { status: 'changed', message: `key ${key}` } } }]);
  const xml = renderJunit(c.collected(), { secrets: [key] });
  assert.ok(!xml.includes(key));
  const root = parseXml(xml);
  const b = childrenNamed(root, 'testsuite').find((s) => s.attrs['name'] === 'b');
  assert.equal(b?.attrs['tests'], '0');
  assert.equal(b?.children.length, 0);
});
