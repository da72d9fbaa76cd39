import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unifiedDiff } from '../../src/runner/diff.js';

test('a new file is all additions against /dev/null', () => {
  assert.equal(
    unifiedDiff({ path: '/etc/a', before: null, after: 'x\ny\n' }),
    '--- /dev/null\n+++ b/etc/a\n@@ -0,0 +1,2 @@\n+x\n+y\n',
  );
});

test('a change in the middle shows three lines of context, like diff -u', () => {
  const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n') + '\n';
  const after = before.replace('5\n', 'five\n');
  assert.equal(
    unifiedDiff({ path: 'etc/x.json', before, after }),
    [
      '--- a/etc/x.json',
      '+++ b/etc/x.json',
      '@@ -2,7 +2,7 @@',
      ' 2',
      ' 3',
      ' 4',
      '-5',
      '+five',
      ' 6',
      ' 7',
      ' 8',
      '',
    ].join('\n'),
  );
});

test('distant changes make separate hunks; near ones merge', () => {
  const lines = Array.from({ length: 20 }, (_, i) => `l${i + 1}`);
  const before = lines.join('\n');
  const after = lines.map((l) => (l === 'l2' ? 'L2' : l === 'l18' ? 'L18' : l)).join('\n');
  const d = unifiedDiff({ path: '/f', before, after });
  assert.deepEqual(
    d.split('\n').filter((l) => l.startsWith('@@')),
    ['@@ -1,5 +1,5 @@', '@@ -15,6 +15,6 @@'],
  );
  const near = lines.map((l) => (l === 'l5' ? 'L5' : l === 'l9' ? 'L9' : l)).join('\n');
  assert.deepEqual(
    unifiedDiff({ path: '/f', before, after: near })
      .split('\n')
      .filter((l) => l.startsWith('@@')),
    ['@@ -2,11 +2,11 @@'],
  );
});

test('removals come before additions, and equal texts give no diff', () => {
  const d = unifiedDiff({ path: '/f', before: 'a\nb\nc\n', after: 'a\nB\nC\nc\n' });
  assert.equal(d, '--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n c\n');
  assert.equal(unifiedDiff({ path: '/f', before: 'same\n', after: 'same\n' }), '');
  assert.equal(
    unifiedDiff({ path: '/f', before: 'a\nb\n', after: '' }),
    '--- a/f\n+++ b/f\n@@ -1,2 +0,0 @@\n-a\n-b\n',
  );
});
