import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throwaway OpenSSH server on a loopback address (127.0.0.1 unless told) for transport tests:
 * its own host key, one authorized_keys for every user, no PAM unless asked. Always call stop(),
 * which kills it by its pid.
 */
export interface TestSshd {
  address: string;
  port: number;
  dir: string;
  /** Client private key authorized for root. */
  clientKey: string;
  /** A key that is not authorized. */
  strangerKey: string;
  /** `ssh-ed25519 AAAA...` of the server's host key. */
  hostPublicKey: string;
  stop(): Promise<void>;
}

export async function freePort(address = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, address, r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface SshdOptions {
  /** A loopback address to listen on. */
  address?: string;
  /**
   * Let PAM decide on accounts: with PAM off, OpenSSH refuses any account whose password is
   * locked, which is how system accounts without a password usually are.
   */
  pam?: boolean;
}

export async function startSshd(o: SshdOptions = {}): Promise<TestSshd> {
  const address = o.address ?? '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), 'drover-sshd-'));
  await mkdir('/run/sshd', { recursive: true });
  const keygen = (file: string) =>
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, file)]);
  await Promise.all([keygen('host_key'), keygen('client_key'), keygen('stranger_key')]);
  // sshd reads authorized_keys as the user logging in, who may not be root.
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_key.pub')), { mode: 0o644 });
  const port = await freePort(address);
  const config = [
    `Port ${port}`,
    `ListenAddress ${address}`,
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    `UsePAM ${o.pam ? 'yes' : 'no'}`,
    'StrictModes no',
    'AllowTcpForwarding yes',
    'MaxSessions 20',
    'LogLevel ERROR',
  ].join('\n');
  await writeFile(join(dir, 'sshd_config'), `${config}\n`);
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  // Bounded wait for the listener: 50 tries, 100 ms apart.
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`sshd exited early: ${log}`);
    }
    if (await accepts(address, port)) break;
    if (i >= 50) {
      await stop();
      throw new Error(`sshd did not listen on ${address}:${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const hostPublicKey = (await readFile(join(dir, 'host_key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
  return {
    address,
    port,
    dir,
    clientKey: join(dir, 'client_key'),
    strangerKey: join(dir, 'stranger_key'),
    hostPublicKey,
    stop,
  };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
