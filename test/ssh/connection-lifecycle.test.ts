/**
 * How the transport uses its one connection, against a real sshd on 127.0.0.101: commands in
 * the shell session, channels beside it, timeouts on either, TCP through forwarded channels, and
 * a close that leaves nothing running in the process.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect as connect_, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { TaskFailedError } from '../../src/errors.js';
import { exec } from '../../src/shell/cmd.js';
import { connect } from '../../src/ssh/node-ssh-transport.js';
import type { ConnectionSpec, Transport } from '../../src/ssh/transport.js';
import { freePort, startSshd, type TestSshd } from './sshd.js';

const run = promisify(execFile);

/** This file's loopback address: its sshd and the TCP servers the forwarding tests talk to. */
const ADDRESS = '127.0.0.101';

let sshd: TestSshd;
let transport: Transport;
let echo: Server;
let echoPort: number;
const echoSockets = new Set<Socket>();

const spec = (): ConnectionSpec => ({
  host: 's2',
  address: ADDRESS,
  port: sshd.port,
  user: 'root',
  privateKeyPath: sshd.clientKey,
  knownHostsPath: join(sshd.dir, 'known_hosts'),
  acceptNewHostKeys: false,
  connectTimeoutSeconds: 5,
  become: false,
});

/** The pid of the shell a command runs in: the session's for every session command. */
const shellPid = async (t: Transport): Promise<string> =>
  (await t.exec(exec('sh', '-c', 'echo $$', 'sh'))).stdout.trim();

before(async () => {
  sshd = await startSshd({ address: ADDRESS });
  await writeFile(join(sshd.dir, 'known_hosts'), `[${ADDRESS}]:${sshd.port} ${sshd.hostPublicKey}\n`);
  // Answers what it is sent, upper-cased.
  echo = createServer((s) => {
    echoSockets.add(s);
    s.on('close', () => echoSockets.delete(s));
    s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
  });
  await new Promise<void>((r) => echo.listen(0, ADDRESS, r));
  echoPort = (echo.address() as { port: number }).port;
  transport = await connect(spec());
});

after(async () => {
  await transport?.close();
  for (const s of echoSockets) s.destroy();
  await new Promise<void>((r) => echo?.close(() => r()));
  await sshd?.stop();
});

describe('the shell session and channels', () => {
  it('runs command after command in the one session shell', { timeout: 30_000 }, async () => {
    const pids = [await shellPid(transport), await shellPid(transport), await shellPid(transport)];
    assert.match(pids[0] ?? '', /^\d+$/);
    assert.deepEqual(pids, [pids[0], pids[0], pids[0]]);
  });

  it('gives a command its own channel while the session is busy', { timeout: 30_000 }, async () => {
    const session = await shellPid(transport);
    const busy = transport.exec(exec('sh', '-c', 'sleep 1; echo $$', 'sh'));
    const beside = await shellPid(transport);
    assert.notEqual(beside, session);
    assert.equal((await busy).stdout.trim(), session);
  });

  it(
    'bounds a command on a channel by its timeout; the connection stays usable',
    { timeout: 30_000 },
    async () => {
      const busy = transport.exec(exec('sleep', '2'));
      await assert.rejects(transport.exec(exec('sleep', '20'), { timeoutSeconds: 0.5 }), (err: unknown) => {
        assert.ok(err instanceof TaskFailedError, String(err));
        assert.equal(err.message, 's2: command timed out after 0.5s: sleep 20');
        return true;
      });
      assert.equal((await busy).code, 0);
      assert.equal((await transport.exec(exec('echo', 'after'))).stdout, 'after\n');
    },
  );

  it(
    'ends a session whose command timed out; the next command gets a new one',
    { timeout: 30_000 },
    async () => {
      const before = await shellPid(transport);
      await assert.rejects(
        transport.exec(exec('sleep', '20'), { timeoutSeconds: 0.5 }),
        /timed out after 0\.5s/,
      );
      const after = await shellPid(transport);
      assert.match(after, /^\d+$/);
      assert.notEqual(after, before);
      assert.equal(await shellPid(transport), after);
    },
  );
});

describe('forwarded channels', () => {
  it('exchanges bytes with a TCP listener as seen from the server', { timeout: 30_000 }, async () => {
    const answer = await transport.tcpExchange?.({
      host: ADDRESS,
      port: echoPort,
      send: Buffer.from('hello\n'),
      complete: (b) => b.toString().endsWith('\n'),
    });
    assert.equal(answer?.toString(), 'HELLO\n');
  });

  it(
    'fails the task when the answer is too large or does not complete in time',
    { timeout: 30_000 },
    async () => {
      await assert.rejects(
        transport.tcpExchange?.({
          host: ADDRESS,
          port: echoPort,
          send: Buffer.from('0123456789\n'),
          complete: () => false,
          maxBytes: 4,
        }) ?? Promise.resolve(),
        (err: unknown) => {
          assert.ok(err instanceof TaskFailedError, String(err));
          assert.equal(err.message, `s2: tcp ${ADDRESS}:${echoPort}: answer larger than 4 bytes`);
          return true;
        },
      );
      await assert.rejects(
        transport.tcpExchange?.({
          host: ADDRESS,
          port: echoPort,
          send: Buffer.from('x\n'),
          complete: () => false,
          timeoutSeconds: 0.5,
        }) ?? Promise.resolve(),
        (err: unknown) => {
          assert.ok(err instanceof TaskFailedError, String(err));
          assert.equal(err.message, `s2: tcp ${ADDRESS}:${echoPort}: no complete answer within 0.5s`);
          return true;
        },
      );
    },
  );

  it('names the target when nothing listens there', { timeout: 30_000 }, async () => {
    const closed = await freePort(ADDRESS);
    await assert.rejects(
      transport.tcpExchange?.({
        host: ADDRESS,
        port: closed,
        send: Buffer.from('x'),
        complete: () => true,
      }) ?? Promise.resolve(),
      (err: unknown) => {
        assert.ok(err instanceof TaskFailedError, String(err));
        assert.match(err.message, new RegExp(`^s2: tcp 127\\.0\\.0\\.101:${closed}: `));
        return true;
      },
    );
  });
});

/**
 * A TCP proxy to the test's sshd that can freeze: it then stops passing bytes either way and
 * never closes, as a paused VM does (its kernel still holds the connection open).
 */
async function freezableProxy(): Promise<{ port: number; freeze(): void; close(): void }> {
  const pairs: Socket[][] = [];
  const server = createServer((client) => {
    const upstream = connect_(sshd.port, ADDRESS);
    pairs.push([client, upstream]);
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) s.on('error', () => undefined);
  });
  const port = await freePort(ADDRESS);
  await new Promise<void>((r) => server.listen(port, ADDRESS, r));
  return {
    port,
    freeze() {
      for (const [a, b] of pairs) {
        a!.unpipe();
        b!.unpipe();
        a!.pause();
        b!.pause();
      }
    },
    close() {
      for (const p of pairs) for (const s of p) s.destroy();
      server.close();
    },
  };
}

describe('closing', () => {
  it(
    'leaves nothing open: a process that connected and closed exits by itself',
    { timeout: 60_000 },
    async () => {
      const probe = join(import.meta.dirname, 'close-probe.ts');
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', probe, JSON.stringify(spec()), String(echoPort)],
        { timeout: 45_000 },
      );
      assert.equal(stdout, 'one\ntwo\nPING\n');
    },
  );

  it(
    'exits by itself after closing a connection whose peer froze (it never closes its side)',
    { timeout: 60_000 },
    async () => {
      const proxy = await freezableProxy();
      const knownHostsPath = join(sshd.dir, 'known_hosts.proxy');
      await writeFile(knownHostsPath, `[${ADDRESS}]:${proxy.port} ${sshd.hostPublicKey}\n`);
      try {
        const probe = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(import.meta.dirname, 'frozen-close-probe.ts'),
            JSON.stringify({ ...spec(), port: proxy.port, knownHostsPath }),
          ],
          { stdio: ['pipe', 'pipe', 'inherit'] },
        );
        let out = '';
        probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise<number | null>((r) => probe.on('exit', (code) => r(code)));
        for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));
        assert.match(out, /ready/);
        proxy.freeze();
        probe.stdin.write('go\n');
        const closedAt = Date.now();
        const code = await Promise.race([
          exited,
          new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000)),
        ]);
        if (code === 'hung') probe.kill('SIGKILL');
        assert.notEqual(code, 'hung', 'the process stayed alive on the frozen connection');
        assert.equal(code, 0);
        assert.match(out, /closed/);
        assert.ok(Date.now() - closedAt < 5000, `exited ${Date.now() - closedAt} ms after closing`);
      } finally {
        proxy.close();
      }
    },
  );
});
