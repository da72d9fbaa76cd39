import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { TaskFailedError, UnreachableError } from '../../src/errors.js';
import { exec, pipe } from '../../src/shell/cmd.js';
import { secret } from '../../src/shell/secret.js';
import { becomeCommand } from '../../src/ssh/become.js';
import { connect } from '../../src/ssh/node-ssh-transport.js';
import type { ConnectionSpec, Transport } from '../../src/ssh/transport.js';
import { freePort, startSshd, type TestSshd } from './sshd.js';

const run = promisify(execFile);

/** This file's loopback address: its sshd, its HTTP server and its closed ports. */
const ADDRESS = '127.0.0.100';

let sshd: TestSshd;
let transport: Transport;
let http: HttpServer;
let httpPort: number;

const spec = (over: Partial<ConnectionSpec> = {}): ConnectionSpec => ({
  host: 's1',
  address: '127.0.0.100',
  port: sshd.port,
  user: 'root',
  privateKeyPath: sshd.clientKey,
  knownHostsPath: join(sshd.dir, 'known_hosts'),
  acceptNewHostKeys: false,
  connectTimeoutSeconds: 5,
  become: false,
  ...over,
});

/** Asserts an UnreachableError for host s1 whose message matches. */
async function unreachable(attempt: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(attempt, (err: unknown) => {
    assert.ok(err instanceof UnreachableError, String(err));
    assert.equal(err.host, 's1');
    assert.match(err.message, message);
    return true;
  });
}

before(async () => {
  sshd = await startSshd({ address: ADDRESS });
  http = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/v1/status/leader') {
        res.setHeader('X-Consul-Index', '42');
        res.end('"10.213.0.11:8300"');
      } else if (req.url === '/v1/operator/autopilot/health') {
        res.statusCode = 429;
        // No content-length: Node sends it chunked, which the client must decode.
        res.write('{"Healthy":');
        res.end('false}');
      } else if (req.url === '/echo') {
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({
            method: req.method,
            body,
            host: req.headers.host,
            connection: req.headers.connection,
          }),
        );
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.100', r));
  httpPort = (http.address() as { port: number }).port;
});

after(async () => {
  await transport?.close();
  await new Promise<void>((r) => http.close(() => r()));
  await sshd?.stop();
});

describe('node-ssh transport against a real sshd', () => {
  it('accept-new records an unknown host key, then exec works', async () => {
    transport = await connect(spec({ acceptNewHostKeys: true }));
    const recorded = await readFile(join(sshd.dir, 'known_hosts'), 'utf8');
    assert.equal(recorded, `[127.0.0.100]:${sshd.port} ${sshd.hostPublicKey}\n`);
    const r = await transport.exec(exec('id', '-u'));
    assert.deepEqual(r, { code: 0, stdout: '0\n', stderr: '' });
  });

  it('returns non-zero exits with both streams, untrimmed, without throwing', async () => {
    const r = await transport.exec(exec('sh', '-c', 'echo "  out  "; echo err >&2; exit 3'));
    assert.deepEqual(r, { code: 3, stdout: '  out  \n', stderr: 'err\n' });
  });

  it('feeds stdin (string and Buffer) and keeps bytes exact', async () => {
    const text = 'line one\n  "quoted" $HOME `x`\n\nno newline at end';
    assert.equal((await transport.exec(exec('cat'), { stdin: text })).stdout, text);
    const bytes = Buffer.from([0x68, 0x69, 0x0a, 0xe2, 0x9c, 0x93]);
    assert.equal(
      (await transport.exec(pipe(exec('cat'), exec('wc', '-c')), { stdin: bytes })).stdout.trim(),
      '6',
    );
  });

  it('quotes arguments so the remote shell sees them as one word each', async () => {
    const r = await transport.exec(exec('printf', '%s|', "it's", 'a b', '$HOME', '*'));
    assert.equal(r.stdout, "it's|a b|$HOME|*|");
  });

  it('scrubs secrets from remote output', async () => {
    const r = await transport.exec(
      exec('sh', '-c', 'echo "token=$1" >&2; echo "$1"', 'sh', secret('0b7e2d4c-consul-token')),
    );
    assert.equal(r.stdout, '<redacted>\n');
    assert.equal(r.stderr, 'token=<redacted>\n');
  });

  it('bounds a command by its timeout and keeps the connection usable', async () => {
    const started = Date.now();
    await assert.rejects(transport.exec(exec('sleep', '5'), { timeoutSeconds: 0.5 }), (err: unknown) => {
      assert.ok(err instanceof TaskFailedError);
      assert.match(err.message, /^s1: command timed out after 0\.5s: sleep 5$/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
    assert.equal((await transport.exec(exec('echo', 'still here'))).stdout, 'still here\n');
  });

  it('runs many commands at once over the one connection', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => transport.exec(exec('sh', '-c', `sleep 0.1; echo ${i}`))),
    );
    assert.deepEqual(
      results.map((r) => r.stdout.trim()),
      Array.from({ length: 30 }, (_, i) => String(i)),
    );
  });

  it('speaks HTTP through the SSH connection', async () => {
    const leader = await transport.http({ host: '127.0.0.100', port: httpPort, path: '/v1/status/leader' });
    assert.equal(leader.status, 200);
    assert.equal(leader.body, '"10.213.0.11:8300"');
    assert.equal(leader.headers['x-consul-index'], '42');

    const health = await transport.http({
      host: '127.0.0.100',
      port: httpPort,
      path: '/v1/operator/autopilot/health',
    });
    assert.equal(health.status, 429);
    assert.equal(health.body, '{"Healthy":false}');

    const put = await transport.http({
      method: 'PUT',
      host: '127.0.0.100',
      port: httpPort,
      path: '/echo',
      body: '{"a":1}',
    });
    assert.deepEqual(JSON.parse(put.body), {
      method: 'PUT',
      body: '{"a":1}',
      host: `127.0.0.100:${httpPort}`,
      connection: 'close',
    });
  });

  it('reports an HTTP connection failure as a task failure, not unreachable', async () => {
    const closed = await freePort(ADDRESS);
    await assert.rejects(transport.http({ host: '127.0.0.100', port: closed, path: '/' }), (err: unknown) => {
      assert.ok(err instanceof TaskFailedError, String(err));
      assert.match(err.message, new RegExp(`GET http://127\\.0\\.0\\.100:${closed}/`));
      return true;
    });
  });

  it('connects with a hashed known_hosts entry and strict checking', async () => {
    const file = join(sshd.dir, 'known_hosts_hashed');
    await copyFile(join(sshd.dir, 'known_hosts'), file);
    await run('ssh-keygen', ['-q', '-H', '-f', file]);
    assert.match(await readFile(file, 'utf8'), /^\|1\|/);
    const t = await connect(spec({ knownHostsPath: file }));
    assert.equal((await t.exec(exec('true'))).code, 0);
    await t.close();
  });

  it('rejects an unknown host key without accept-new, naming the file and host', async () => {
    const file = join(sshd.dir, 'empty_known_hosts');
    await unreachable(
      connect(spec({ knownHostsPath: file })),
      new RegExp(
        `host key for \\[127\\.0\\.0\\.100\\]:${sshd.port} is not in known_hosts file ${file.replace(/[.]/g, '\\.')}`,
      ),
    );
    await assert.rejects(readFile(file), /ENOENT/, 'nothing recorded');
  });

  it('rejects a changed host key even with accept-new, and leaves the file alone', async () => {
    const file = join(sshd.dir, 'changed_known_hosts');
    const other = (await readFile(`${sshd.strangerKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
    const content = `# lab\n[127.0.0.100]:${sshd.port} ${other}\n`;
    await writeFile(file, content);
    await unreachable(
      connect(spec({ knownHostsPath: file, acceptNewHostKeys: true })),
      new RegExp(
        `HOST KEY CHANGED for \\[127\\.0\\.0\\.100\\]:${sshd.port}: known_hosts file .*changed_known_hosts line 2`,
      ),
    );
    assert.equal(await readFile(file, 'utf8'), content);
  });

  it('reports a refused port as unreachable', async () => {
    const closed = await freePort(ADDRESS);
    await unreachable(
      connect(spec({ port: closed, acceptNewHostKeys: true })),
      new RegExp(`connection refused by 127\\.0\\.0\\.100:${closed}`),
    );
  });

  it('reports a key the server does not accept as an authentication failure', async () => {
    await unreachable(
      connect(spec({ privateKeyPath: sshd.strangerKey })),
      /authentication failed for user root at 127\.0\.0\.100:\d+ \(tried key .*stranger_key\)/,
    );
  });

  it('gives up on a server that never speaks SSH within the connect timeout', async () => {
    const sockets: Socket[] = [];
    const silent: TcpServer = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.100', r));
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    try {
      await unreachable(
        connect(spec({ port, connectTimeoutSeconds: 1, acceptNewHostKeys: true })),
        /no SSH handshake within 1s from 127\.0\.0\.100/,
      );
      assert.ok(Date.now() - started < 4000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('is unreachable after close', async () => {
    const t = await connect(spec());
    await t.close();
    await unreachable(t.exec(exec('true')), /connection lost/);
  });
});

describe('become', () => {
  it('leaves root alone and wraps others in sudo -n sh -c', () => {
    assert.deepEqual(becomeCommand('id -u', { become: true, user: 'root' }), { command: 'id -u' });
    assert.deepEqual(becomeCommand('id -u', { become: false, user: 'deploy' }), { command: 'id -u' });
    assert.deepEqual(becomeCommand(`echo 'a b' | tee /x`, { become: true, user: 'deploy' }), {
      command: `sudo -n sh -c 'echo '\\''a b'\\'' | tee /x'`,
    });
  });

  it('with a password, feeds it to sudo on stdin and never in argv', () => {
    const w = becomeCommand('id -u', { become: true, user: 'deploy', becomePassword: secret('hunter2-pw') });
    assert.equal(w.command, `sudo -k -S -p '' sh -c 'id -u'`);
    assert.equal(w.stdinPrefix, 'hunter2-pw\n');
  });
});
