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
import * as fs from '../../src/remote/fs.js';
import { sha256 } from '../../src/modules/file-write.js';
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
  it('chmod and chown of an existing path, only what is asked', () => {
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

  it('ensureDir creates a missing directory and prints that it was absent', async () => {
    const d = join(dir, 'cfg dir', 'sub');
    const r = await runLocal(fs.ensureDir(d, { mode: '0750', owner: 'nobody', group: '65534' }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'absent\n');
    assert.equal(await modeOf(d), '750');
    assert.equal((await stat(d)).uid, 65534);
    assert.equal((await stat(d)).gid, 65534);
    const again = await runLocal(fs.ensureDir(d, { mode: '750', owner: '65534', group: 'nogroup' }));
    assert.equal(again.stdout, 'present 750 65534 nobody 65534 nogroup directory\n');
  });

  it('ensureDir fixes only what differs and leaves a right directory untouched', async () => {
    const d = join(dir, 'existing');
    await mkdirLocal(d, { mode: 0o755 });
    await chmod(d, 0o755);
    await chown(d, 0, 0);
    const fixed = await runLocal(fs.ensureDir(d, { mode: '0700' }));
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal(fixed.stdout, 'present 755 0 root 0 root directory\n');
    assert.equal(await modeOf(d), '700');
    assert.equal((await stat(d)).uid, 0, 'owner not asked, not changed');
    const ctime = (await stat(d)).ctimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const same = await runLocal(fs.ensureDir(d, { mode: '0700', owner: 'root', group: '0' }));
    assert.equal(same.code, 0, same.stderr);
    assert.equal((await stat(d)).ctimeMs, ctime, 'no chmod or chown of a directory that is right');
  });

  it('ensureDir leaves a file in the way alone and says what it is', async () => {
    const p = join(dir, 'in the way');
    await writeFile(p, 'keep');
    const r = await runLocal(fs.ensureDir(p, { mode: '0700' }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^present \d+ 0 root 0 root regular (empty )?file\n$/);
    assert.equal(await readFile(p, 'utf8'), 'keep');
  });

  it('writeFileIfChanged writes a new file and prints that it was absent', async () => {
    const p = join(dir, "new'conf.json");
    const r = await runLocal(fs.writeFileIfChanged(p, sha256('{"a": 1}\n'), { mode: '0640' }), '{"a": 1}\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'absent\n');
    assert.equal(await readFile(p, 'utf8'), '{"a": 1}\n');
    assert.equal(await modeOf(p), '640');
    await assert.rejects(stat(`${p}.bak`), /ENOENT/, 'no backup of a file that did not exist');
  });

  it('writeFileIfChanged replaces different bytes atomically, keeping a backup and the old bytes', async () => {
    const p = join(dir, 'changed.json');
    await writeFile(p, 'one\n\n  trailing  ');
    await chmod(p, 0o600);
    const r = await runLocal(fs.writeFileIfChanged(p, sha256('two\n'), {}), 'two\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'present 600 0 root 0 root\ndiffers\none\n\n  trailing  ',
      'the exact bytes before',
    );
    assert.equal(await readFile(p, 'utf8'), 'two\n');
    assert.equal(await readFile(`${p}.bak`, 'utf8'), 'one\n\n  trailing  ');
    assert.equal(await modeOf(p), '600', 'a rewrite without mode keeps the old mode');
    const leftovers = (await readdir(dir)).filter((f) => f.startsWith('.drover-tmp'));
    assert.deepEqual(leftovers, []);
  });

  it('writeFileIfChanged does not rewrite identical bytes; it fixes only the mode', async () => {
    const p = join(dir, 'same *.json');
    await writeFile(p, 'same\n');
    await chmod(p, 0o644);
    const inode = (await stat(p)).ino;
    const r = await runLocal(fs.writeFileIfChanged(p, sha256('same\n'), { mode: '0640' }), 'same\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'present 644 0 root 0 root\nsame\n', 'the bytes are not sent back');
    assert.equal((await stat(p)).ino, inode, 'not replaced');
    assert.equal(await modeOf(p), '640');
    await assert.rejects(stat(`${p}.bak`), /ENOENT/, 'no backup when nothing was rewritten');
    const leftovers = (await readdir(dir)).filter((f) => f.startsWith('.drover-tmp'));
    assert.deepEqual(leftovers, []);
  });

  it('writeFileIfChanged leaves a directory in the way alone', async () => {
    const d = join(dir, 'a dir');
    await mkdirLocal(d);
    const r = await runLocal(fs.writeFileIfChanged(d, sha256('x'), {}), 'x');
    assert.deepEqual([r.code, r.stdout], [0, 'notfile\n']);
    assert.ok((await stat(d)).isDirectory());
  });

  it('writeFileIfChanged fails without touching anything when the directory is missing', async () => {
    const r = await runLocal(fs.writeFileIfChanged(join(dir, 'no-such-dir', 'f'), sha256('data')), 'data');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no-such-dir\/\.drover-tmp\.[0-9a-f]{12}: Directory nonexistent/);
  });

  it('writeFileIfChanged gives a new file exactly the wanted mode, with or without execute bits', async () => {
    for (const mode of ['0640', '0600', '0755', '2750']) {
      const p = join(dir, `mode-${mode}`);
      const r = await runLocal(fs.writeFileIfChanged(p, sha256('x'), { mode }), 'x');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await modeOf(p), mode.replace(/^0/, ''), mode);
    }
    const plain = join(dir, 'mode-default');
    assert.equal((await runLocal(fs.writeFileIfChanged(plain, sha256('x')), 'x')).code, 0);
    assert.equal(await modeOf(plain), (0o666 & ~process.umask()).toString(8), 'no mode: the umask default');
  });

  it('writeFileIfChanged keeps the mode and owner of the file it replaces when none are asked', async () => {
    const p = join(dir, 'kept.conf');
    await writeFile(p, 'old');
    await chmod(p, 0o604);
    await chown(p, 65534, 65534);
    const r = await runLocal(fs.writeFileIfChanged(p, sha256('new')), 'new');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await modeOf(p), '604');
    assert.deepEqual([(await stat(p)).uid, (await stat(p)).gid], [65534, 65534]);
  });

  it('writeFileIfChanged never reuses a file that has its temp name', async () => {
    const cmd = fs.writeFileIfChanged(join(dir, 'target'), sha256('mine'));
    assert.ok(cmd.kind === 'exec');
    const tmp = join(dir, `.drover-tmp.${String(cmd.argv[9])}`);
    await writeFile(tmp, 'someone else');
    const r = await runLocal(cmd, 'mine');
    assert.notEqual(r.code, 0);
    assert.equal(await readFile(tmp, 'utf8'), 'someone else', 'left as it was');
    await assert.rejects(stat(join(dir, 'target')), /ENOENT/);
    await rm(tmp);
  });

  it('exists is a plain test -e', async () => {
    assert.equal((await runLocal(fs.exists(dir))).code, 0);
    assert.equal((await runLocal(fs.exists(join(dir, 'nope')))).code, 1);
  });
});
