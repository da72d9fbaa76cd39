/**
 * The transport logged in as a user other than root, against a real sshd on 127.0.0.102: sudo
 * for become, and the kill of a command that outlived its timeout (OpenSSH honours that signal
 * only for such logins). The server is this machine, so its process list is ours to read. It
 * needs an account with a login shell; PAM lets sshd log into one whose password is locked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { TaskFailedError } from '../../src/errors.js';
import { exec } from '../../src/shell/cmd.js';
import { secret } from '../../src/shell/secret.js';
import { connect } from '../../src/ssh/node-ssh-transport.js';
import type { ConnectionSpec, Transport } from '../../src/ssh/transport.js';
import { startSshd, type TestSshd } from './sshd.js';

const run = promisify(execFile);

/** This file's loopback address. */
const ADDRESS = '127.0.0.102';

/** A non-root account with a login shell, or undefined when this machine has none. */
function loginAccount(): string | undefined {
  const shells = new Set(readFileSync('/etc/shells', 'utf8').split('\n'));
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((f) => Number(f[2]) >= 1000 && Number(f[2]) < 65534 && shells.has(f[6] ?? ''))?.[0];
}

const user = loginAccount();

/** Command lines of this machine's processes. */
async function processArgs(): Promise<string[]> {
  return (await run('ps', ['-eo', 'args='])).stdout.split('\n');
}

/** Polls the process list until `pattern` is gone; false when it is still there after `ms`. */
async function goneWithin(pattern: string, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (!(await processArgs()).some((a) => a.includes(pattern))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('a non-root login', { skip: user ? false : 'no non-root account with a login shell here' }, () => {
  let sshd: TestSshd;
  const open: Transport[] = [];

  const login = async (over: Partial<ConnectionSpec> = {}): Promise<Transport> => {
    const t = await connect({
      host: 's3',
      address: ADDRESS,
      port: sshd.port,
      user: user ?? '',
      privateKeyPath: sshd.clientKey,
      knownHostsPath: join(sshd.dir, 'known_hosts'),
      acceptNewHostKeys: false,
      connectTimeoutSeconds: 5,
      become: false,
      ...over,
    });
    open.push(t);
    return t;
  };

  before(async () => {
    sshd = await startSshd({ address: ADDRESS, pam: true });
    await writeFile(join(sshd.dir, 'known_hosts'), `[${ADDRESS}]:${sshd.port} ${sshd.hostPublicKey}\n`);
  });

  after(async () => {
    await Promise.all(open.map((t) => t.close()));
    await sshd?.stop();
  });

  it('runs commands as that user', { timeout: 30_000 }, async () => {
    const t = await login();
    assert.deepEqual(await t.exec(exec('id', '-un')), { code: 0, stdout: `${user}\n`, stderr: '' });
  });

  it('kills a command on a channel that outlived its timeout', { timeout: 30_000 }, async () => {
    const t = await login();
    // The session is busy, so the command gets a channel of its own.
    const busy = t.exec(exec('sleep', '1'));
    const marker = `sleep 17.${process.pid}`;
    await assert.rejects(t.exec(exec('sh', '-c', marker), { timeoutSeconds: 0.5 }), (err: unknown) => {
      assert.ok(err instanceof TaskFailedError, String(err));
      assert.equal(err.message, `s3: command timed out after 0.5s: sh -c '${marker}'`);
      return true;
    });
    assert.ok(await goneWithin(marker, 5000), `${marker} still runs on the server`);
    await busy;
  });

  it('with become and no password, shows sudo refusing on a channel', { timeout: 30_000 }, async () => {
    const t = await login({ become: true });
    const r = await t.exec(exec('id', '-u'));
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^sudo: .*password/m);
  });

  it(
    'with a become password, gives it to sudo on stdin, never in argv or output',
    { timeout: 30_000 },
    async () => {
      const password = `pw-${process.pid}-not-in-argv`;
      const t = await login({ become: true, becomePassword: secret(password) });
      const running = t.exec(exec('id', '-u'));
      const seen: string[] = [];
      let settled = false;
      void running.finally(() => (settled = true));
      while (!settled) {
        seen.push(...(await processArgs()).filter((a) => a.includes('sudo')));
        await new Promise((r) => setTimeout(r, 50));
      }
      const r = await running;
      assert.notEqual(r.code, 0, 'the account has no sudo rights and no usable password');
      assert.ok(
        seen.some((a) => a.includes(`sudo -k -S -p  sh -c id -u`)),
        seen.join('\n'),
      );
      assert.ok(!seen.some((a) => a.includes(password)), 'the password was in a process argv');
      assert.ok(!`${r.stdout}${r.stderr}`.includes(password));
    },
  );
});
