/** Consul versions from `consul version`, image labels and tags, and their order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareConsulVersions,
  parseConsulVersion,
  versionFromCli,
  versionFromImageRef,
} from '../../src/consul/agent/consul-version.js';

const v = (text: string) => {
  const parsed = parseConsulVersion(text);
  assert.ok(parsed, text);
  return parsed;
};

test('reads releases, pre-releases and Enterprise builds; nothing else', () => {
  assert.deepEqual(v('1.20.1'), { major: 1, minor: 20, patch: 1, text: '1.20.1' });
  assert.deepEqual(v('v1.21.0-rc1'), {
    major: 1,
    minor: 21,
    patch: 0,
    prerelease: 'rc1',
    text: '1.21.0-rc1',
  });
  assert.equal(v('1.20.1+ent').prerelease, undefined);
  assert.equal(v('1.20.1-ent').prerelease, undefined);
  for (const bad of ['latest', '1.20', '', '1.20.1.2', 'v1'])
    assert.equal(parseConsulVersion(bad), undefined, bad);
});

test('takes the version from the first line of `consul version`', () => {
  const out =
    'Consul v1.20.2\nRevision 33e5727a\nBuild Date 2024-09-16T19:29:21Z\nProtocol 2 spoken by default\n';
  assert.equal(versionFromCli(out)?.text, '1.20.2');
  assert.equal(versionFromCli('consul: command not found'), undefined);
});

test('takes a release from an image tag, never from a registry port, a floating tag or a digest', () => {
  assert.equal(versionFromImageRef('hashicorp/consul:1.20.1')?.text, '1.20.1');
  assert.equal(versionFromImageRef('10.213.0.1:5000/consul:1.20.2')?.text, '1.20.2');
  assert.equal(versionFromImageRef('hashicorp/consul-enterprise:1.20.1-ent')?.text, '1.20.1-ent');
  assert.equal(versionFromImageRef('10.213.0.1:5000/consul'), undefined);
  assert.equal(versionFromImageRef('hashicorp/consul:latest'), undefined);
  assert.equal(versionFromImageRef('hashicorp/consul:1.20'), undefined);
  assert.equal(versionFromImageRef('hashicorp/consul:1.20.1@sha256:abc'), undefined);
});

test('orders versions: by number, a pre-release before its release', () => {
  const order = ['1.19.9', '1.20.0-beta2', '1.20.0-rc1', '1.20.0', '1.20.1', '1.20.10', '2.0.0'];
  for (let i = 0; i + 1 < order.length; i++) {
    assert.ok(compareConsulVersions(v(order[i]!), v(order[i + 1]!)) < 0, `${order[i]} < ${order[i + 1]}`);
    assert.ok(compareConsulVersions(v(order[i + 1]!), v(order[i]!)) > 0);
  }
  assert.equal(compareConsulVersions(v('1.20.1'), v('1.20.1+ent')), 0);
});
