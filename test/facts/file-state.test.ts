import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { normalizeMode } from '../../src/remote/fs.js';
import { fileState, pathState, sameOwner } from '../../src/facts/file-state.js';
import { runLocal } from '../remote/run-local.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drover-facts '));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fileState fact', () => {
  it('parses recorded output exactly, keeping trailing whitespace', () => {
    const fact = fileState('/opt/consul/config/consul.json');
    assert.deepEqual(
      fact.parse({ code: 0, stdout: 'present 640 100 UNKNOWN 1000 consul\n{\n  "a": 1\n}\n', stderr: '' }),
      {
        exists: true,
        content: '{\n  "a": 1\n}\n',
        mode: '640',
        uid: '100',
        owner: 'UNKNOWN',
        gid: '1000',
        group: 'consul',
      },
    );
    assert.deepEqual(fact.parse({ code: 0, stdout: 'absent\n', stderr: '' }), { exists: false });
    assert.throws(() => fact.parse({ code: 0, stdout: 'notfile\n', stderr: '' }), /not a regular file/);
    assert.throws(
      () => fact.parse({ code: 1, stdout: '', stderr: 'cat: consul.json: Permission denied' }),
      /Permission denied/,
    );
    assert.throws(() => fact.parse({ code: 0, stdout: 'garbage\n', stderr: '' }), /unexpected stat output/);
  });

  it('reads a real file through the local shell', async () => {
    const p = join(dir, 'x.json');
    await writeFile(p, 'line1\nline2');
    await chmod(p, 0o604);
    const fact = fileState(p);
    const state = fact.parse(await runLocal(fact.command));
    assert.ok(state.exists);
    assert.equal(state.content, 'line1\nline2');
    assert.equal(state.mode, '604');
    assert.equal(state.owner, 'root');
  });

  it('reads an empty file as empty content', async () => {
    const p = join(dir, 'empty');
    await writeFile(p, '');
    const fact = fileState(p);
    const state = fact.parse(await runLocal(fact.command));
    assert.ok(state.exists);
    assert.equal(state.content, '');
  });
});

describe('pathState fact', () => {
  it('reports type and attributes of a real directory, and absence', async () => {
    const fact = pathState(dir);
    const state = fact.parse(await runLocal(fact.command));
    assert.ok(state.exists);
    assert.equal(state.type, 'directory');
    assert.equal(state.mode, '700');
    const missing = pathState(join(dir, 'nope'));
    assert.deepEqual(missing.parse(await runLocal(missing.command)), { exists: false });
  });
});

describe('mode and owner comparison', () => {
  it('treats 0640, 640 and 00640 as one mode', () => {
    assert.equal(normalizeMode('0640'), '640');
    assert.equal(normalizeMode('00640'), '640');
    assert.equal(normalizeMode('640'), '640');
    assert.equal(normalizeMode('1777'), '1777');
    assert.equal(normalizeMode('0000'), '0');
  });
  it('matches owners by name or number', () => {
    assert.ok(sameOwner('consul', '100', 'consul'));
    assert.ok(sameOwner('100', '100', 'UNKNOWN'));
    assert.ok(!sameOwner('root', '100', 'consul'));
  });
});
