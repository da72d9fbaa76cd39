import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tcpCheck } from '../../src/remote/net.js';
import { exec, type Arg, type Cmd } from '../../src/shell/cmd.js';
import { runLocal } from './run-local.js';

const argvOf = (c: Cmd): readonly Arg[] => (c.kind === 'exec' ? c.argv : []);

let server: Server;
let openPort: number;
let closedPort: number;
before(async () => {
  server = createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  openPort = (server.address() as { port: number }).port;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
});
after(() => server.close());

describe('tcpCheck (run by the local sh)', () => {
  it('exits 0 for a listening port and non-zero for a closed one', async () => {
    assert.equal((await runLocal(tcpCheck('127.0.0.1', openPort))).code, 0);
    assert.notEqual((await runLocal(tcpCheck('127.0.0.1', closedPort))).code, 0);
  });

  it('falls back to /proc/net/tcp when neither bash nor nc exists', async () => {
    // PATH without bash and nc: only sh, awk and printf from a scratch dir.
    const bin = await mkdtemp(join(tmpdir(), 'drover-bin-'));
    try {
      for (const tool of ['/usr/bin/awk', '/usr/bin/printf', '/bin/sh'])
        await symlink(tool, join(bin, tool.split('/').pop()!));
      const withPath = (port: number) => exec('env', `PATH=${bin}`, ...argvOf(tcpCheck('127.0.0.1', port)));
      assert.equal((await runLocal(withPath(openPort))).code, 0);
      assert.equal((await runLocal(withPath(closedPort))).code, 1);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});
