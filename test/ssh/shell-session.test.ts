/** The shell session's protocol, run for real against a local `sh` started the way sshd starts it. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as fs from '../../src/remote/fs.js';
import { sha256 } from '../../src/modules/file-write.js';
import { exec } from '../../src/shell/cmd.js';
import { secret } from '../../src/shell/secret.js';
import {
  sessionCommand,
  sessionText,
  SessionTimeoutError,
  ShellSession,
} from '../../src/ssh/shell-session.js';

function localSession(command = sessionCommand()): {
  session: ShellSession;
  exited: Promise<number | null>;
} {
  // Its own process group, so that closing kills the loop and what it runs, as sshd's hangup does.
  const child = spawn('sh', ['-c', command], { stdio: 'pipe', detached: true });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const session = new ShellSession({
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    close: () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    },
  });
  return { session, exited };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "drover session '"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('shell session', () => {
  it('runs commands one after another with exact output and exit codes', async () => {
    const { session } = localSession();
    try {
      const a = await session.run(exec('printf', '%s', 'no newline at the end'), undefined, 5000);
      assert.deepEqual(a, { code: 0, stdout: 'no newline at the end', stderr: '' });
      const b = await session.run(
        exec('sh', '-c', 'printf "x\\n\\n"; echo oops >&2; exit 3', 'sh'),
        undefined,
        5000,
      );
      assert.deepEqual(b, { code: 3, stdout: 'x\n\n', stderr: 'oops\n' });
      const c = await session.run(exec('test', '-e', join(dir, 'missing')), undefined, 5000);
      assert.equal(c.code, 1);
    } finally {
      session.close();
    }
  });

  it('goes on after a command with a syntax error or an exit of its own', async () => {
    const { session } = localSession();
    try {
      const broken = await session.run(exec('sh', '-c', 'if then fi )', 'sh'), undefined, 5000);
      assert.notEqual(broken.code, 0);
      assert.match(broken.stderr, /syntax|unexpected/i);
      const exited = await session.run(exec('sh', '-c', 'exit 7', 'sh'), undefined, 5000);
      assert.equal(exited.code, 7);
      const quotes = await session.run(exec('printf', '%s', 'it\'s "quoted" $HOME'), undefined, 5000);
      assert.deepEqual(quotes, { code: 0, stdout: 'it\'s "quoted" $HOME', stderr: '' });
    } finally {
      session.close();
    }
  });

  it('keeps nothing from one command to the next (each runs in a subshell)', async () => {
    const { session } = localSession();
    try {
      await session.run(exec('sh', '-c', 'cd /; X=leaked; export X; set -e; exit 0', 'sh'), undefined, 5000);
      const r = await session.run(
        exec('sh', '-c', 'printf "%s|%s" "${X-unset}" "$(pwd)"', 'sh'),
        undefined,
        5000,
      );
      assert.equal(r.stdout, `unset|${process.cwd()}`);
    } finally {
      session.close();
    }
  });

  it('gives a command its stdin byte for byte and never reads the protocol as stdin', async () => {
    const { session } = localSession();
    try {
      const content = "line 'one'\n\\back\\slash $HOME `x`\n\n  trailing  ";
      // No newline at the end (printf), one at the end (a here-document), one that holds the
      // here-document's end line (printf again), and one larger than a pipe's buffer.
      for (const stdin of [
        content,
        `${content}\n`,
        'a\nDROVER_STDIN_END_7f3a9c\nb\n',
        `${'0123456789abcdef'.repeat(1024)}\n`,
      ]) {
        const r = await session.run(exec('cat'), stdin, 5000);
        assert.equal(r.stdout, stdin);
      }
      const none = await session.run(exec('cat'), undefined, 5000);
      assert.equal(none.stdout, '', 'stdin is /dev/null, not the channel');
    } finally {
      session.close();
    }
  });

  it('runs the file scripts with their traps: a one-step write leaves no temp file', async () => {
    const { session } = localSession();
    try {
      const p = join(dir, 'conf.json');
      const first = await session.run(
        fs.writeFileIfChanged(p, sha256('{"a":1}\n'), { mode: '0640' }),
        '{"a":1}\n',
        5000,
      );
      assert.deepEqual([first.code, first.stdout], [0, 'absent\n']);
      const same = await session.run(
        fs.writeFileIfChanged(p, sha256('{"a":1}\n'), { mode: '0640' }),
        '{"a":1}\n',
        5000,
      );
      assert.match(same.stdout, /^present 640 \d+ \S+ \d+ \S+\nsame\n$/);
      const changed = await session.run(fs.writeFileIfChanged(p, sha256('{"a":2}\n'), {}), '{"a":2}\n', 5000);
      assert.match(changed.stdout, /\ndiffers\n\{"a":1\}\n$/);
      assert.equal(await readFile(p, 'utf8'), '{"a":2}\n');
      assert.equal(((await stat(p)).mode & 0o777).toString(8), '640');
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.startsWith('.drover-tmp')),
        [],
      );
      const made = await session.run(fs.ensureDir(join(dir, 'a', 'b'), { mode: '0750' }), undefined, 5000);
      assert.deepEqual([made.code, made.stdout], [0, 'absent\n']);
      assert.equal(((await stat(join(dir, 'a', 'b'))).mode & 0o777).toString(8), '750');
    } finally {
      session.close();
    }
  });

  it('is ready when it answers; what a login shell printed first is not taken for output', async () => {
    const { session } = localSession(`echo welcome; echo motd >&2; ${sessionCommand()}`);
    try {
      assert.equal(await session.ready(5000), true);
      const r = await session.run(exec('echo', 'hi'), undefined, 5000);
      assert.deepEqual(r, { code: 0, stdout: 'hi\n', stderr: '' });
    } finally {
      session.close();
    }
  });

  it('is not ready when the shell ends at once (sudo -n wanting a password)', async () => {
    const { session } = localSession("echo 'sudo: a password is required' >&2; exit 1");
    assert.equal(await session.ready(5000), false);
    assert.equal(session.alive, false);
  });

  it('a marker in the output cannot end a command early', async () => {
    const { session } = localSession();
    try {
      const fake = `\ndrover-${'f'.repeat(32)}-1 0\n`;
      const r = await session.run(exec('printf', '%s', fake), undefined, 5000);
      assert.equal(r.stdout, fake);
    } finally {
      session.close();
    }
  });

  it('a command that outlives its timeout fails, and the session is closed', async () => {
    const { session, exited } = localSession();
    await assert.rejects(session.run(exec('sleep', '5'), undefined, 200), SessionTimeoutError);
    assert.equal(session.alive, false);
    await exited;
    await assert.rejects(session.run(exec('true'), undefined, 1000));
  });

  it('one command at a time: a second one while the first runs is refused', async () => {
    const { session } = localSession();
    try {
      const first = session.run(exec('sleep', '0.2'), undefined, 5000);
      assert.equal(session.idle, false);
      await assert.rejects(session.run(exec('true'), undefined, 5000), /busy/);
      assert.equal((await first).code, 0);
      assert.equal(session.idle, true);
    } finally {
      session.close();
    }
  });

  it('puts secrets of argv on the wire only inside the command text, and stdin only in builtins', () => {
    const cmd = exec('sh', '-c', 'cat > "$1"', 'sh', '/x', secret('s3cret'));
    assert.equal(
      sessionText(cmd, 'key=s3cret\n'),
      `{\nset -- /x s3cret\ncat > "$1"\n} <<'DROVER_STDIN_END_7f3a9c'\nkey=s3cret\nDROVER_STDIN_END_7f3a9c`,
    );
    assert.equal(
      sessionText(cmd, 'key=s3cret'),
      `printf '%s' key=s3cret | {\nset -- /x s3cret\ncat > "$1"\n}`,
    );
  });
});
