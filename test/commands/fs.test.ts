import assert from 'node:assert/strict';
import {
  mkdtemp,
  mkdir as mkdirLocal,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
  chmod,
  chown,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as fs from '../../src/commands/fs.js';
import { render } from '../../src/shell/cmd.js';
import { runLocal } from './run-local.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "drover fs '"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const modeOf = async (p: string) => ((await stat(p)).mode & 0o7777).toString(8);

describe('fs command builders (argv)', () => {
  it('mkdir -p, then chmod and chown explicitly', () => {
    assert.equal(
      render(fs.mkdir('/opt/consul/data', { mode: '0750', owner: 'consul', group: 'consul' }), {
        redact: true,
      }),
      'mkdir -p -- /opt/consul/data && chmod 0750 -- /opt/consul/data && chown consul:consul -- /opt/consul/data',
    );
    assert.equal(render(fs.mkdir('/opt/x'), { redact: true }), 'mkdir -p -- /opt/x');
    assert.equal(render(fs.setAttributes('/x', { group: 'adm' })!, { redact: true }), 'chown :adm -- /x');
    assert.equal(
      render(fs.setAttributes('/x', { mode: '600', owner: '100' })!, { redact: true }),
      'chmod 600 -- /x && chown 100 -- /x',
    );
    assert.equal(fs.setAttributes('/x', {}), undefined);
  });

  it('passes paths as positional arguments, never inside the script', () => {
    const c = fs.writeFileAtomic("/etc/it's here/consul.json", { mode: '0640' });
    assert.ok(c.kind === 'exec');
    assert.deepEqual(c.argv.slice(0, 2), ['sh', '-c']);
    assert.deepEqual(c.argv.slice(3), ['sh', "/etc/it's here/consul.json", '0640', '', '']);
    assert.ok(!String(c.argv[2]).includes('consul.json'));
  });
});

describe('fs scripts, run by the local sh', () => {
  it('stat says absent without failing, and present with attributes', async () => {
    const absent = await runLocal(fs.stat(join(dir, 'nope')));
    assert.equal(absent.code, 0);
    assert.equal(absent.stdout, 'absent\n');
    const present = await runLocal(fs.stat(dir));
    assert.equal(present.code, 0);
    assert.match(present.stdout, /^present 700 0 root 0 root directory\n$/);
  });

  it('readFile returns the exact bytes after a header line', async () => {
    const p = join(dir, 'a file.json');
    await writeFile(p, '{"a": 1}\n\n  trailing  ', { mode: 0o640 });
    await chmod(p, 0o640);
    const r = await runLocal(fs.readFile(p));
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'present 640 0 root 0 root\n{"a": 1}\n\n  trailing  ');
    const absent = await runLocal(fs.readFile(join(dir, 'missing')));
    assert.deepEqual([absent.code, absent.stdout], [0, 'absent\n']);
    const notFile = await runLocal(fs.readFile(dir));
    assert.deepEqual([notFile.code, notFile.stdout], [0, 'notfile\n']);
  });

  it('writes atomically from stdin with the asked mode, keeping a backup', async () => {
    const p = join(dir, "con'sul.json");
    const first = await runLocal(fs.writeFileAtomic(p, { mode: '0640' }), 'one\n');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(await readFile(p, 'utf8'), 'one\n');
    assert.equal(await modeOf(p), '640');
    await assert.rejects(stat(`${p}.bak`), /ENOENT/, 'no backup of a file that did not exist');

    const second = await runLocal(fs.writeFileAtomic(p, {}), 'two\n');
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await readFile(p, 'utf8'), 'two\n');
    assert.equal(await readFile(`${p}.bak`, 'utf8'), 'one\n');
    assert.equal(await modeOf(p), '640', 'a rewrite without mode keeps the old mode');
    const leftovers = (await readdir(dir)).filter((f) => f.startsWith('.drover-tmp'));
    assert.deepEqual(leftovers, []);
  });

  it('sets and keeps ownership', async () => {
    const p = join(dir, 'owned.txt');
    assert.equal((await runLocal(fs.writeFileAtomic(p, { owner: 'nobody', group: '65534' }), 'x')).code, 0);
    assert.equal((await stat(p)).uid, 65534);
    assert.equal((await stat(p)).gid, 65534);
    assert.equal((await runLocal(fs.writeFileAtomic(p, { mode: '0600' }), 'y')).code, 0);
    assert.equal((await stat(p)).uid, 65534, 'owner kept when not given');
    assert.equal(await modeOf(p), '600');
  });

  it('a new file without mode gets the umask default, not mktemp 0600', async () => {
    const p = join(dir, 'plain.txt');
    const r = await runLocal(fs.writeFileAtomic(p), 'z');
    assert.equal(r.code, 0, r.stderr);
    const umask = process.umask();
    assert.equal(await modeOf(p), (0o666 & ~umask).toString(8));
  });

  it('fails without touching anything when the directory is missing', async () => {
    const r = await runLocal(fs.writeFileAtomic(join(dir, 'no-such-dir', 'f')), 'data');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /mktemp/);
  });

  it('mkdir fixes the mode of an existing directory', async () => {
    const d = join(dir, 'cfg dir');
    await mkdirLocal(d, { mode: 0o755 });
    await chown(d, 0, 0);
    const r = await runLocal(fs.mkdir(join(d, 'sub'), { mode: '0750', owner: 'nobody' }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await modeOf(join(d, 'sub')), '750');
    assert.equal((await stat(join(d, 'sub'))).uid, 65534);
    const again = await runLocal(fs.mkdir(d, { mode: '0700' }));
    assert.equal(again.code, 0);
    assert.equal(await modeOf(d), '700');
  });

  it('exists is a plain test -e', async () => {
    assert.equal((await runLocal(fs.exists(dir))).code, 0);
    assert.equal((await runLocal(fs.exists(join(dir, 'nope')))).code, 1);
  });
});
