/**
 * Bad input is refused before the first connection: every case of cases.ts runs the
 * real command line (`drover deploy -i FILE`) against hosts whose addresses are listening
 * sockets on 127.0.0.x, and must exit 3 with its located message while no socket saw a
 * connection. A control case (a good inventory) shows that the same sockets do see drover
 * connect when the input is fine, so "no connection" is a real observation.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CASES, cluster, valuePosition, type Case, type CaseContext } from './cases.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const HOSTS = ['s1', 's2', 's3', 'c1'];

/** One listening socket per host, on its own 127.0.0.x address; counts what connects. */
class StandIns {
  readonly #servers = new Map<string, { server: Server; address: string; port: number }>();
  connections = 0;

  async start(): Promise<void> {
    for (const [i, host] of HOSTS.entries()) {
      const address = `127.0.0.${71 + i}`;
      const server = createServer((socket) => {
        this.connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, address, () => resolve());
      });
      const port = (server.address() as { port: number }).port;
      this.#servers.set(host, { server, address, port });
    }
  }

  at(host: string): string {
    const s = this.#servers.get(host);
    if (!s) throw new Error(`no stand-in for ${host}`);
    return `address: ${s.address}, ssh_port: ${s.port}`;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#servers.values()].map((s) => new Promise((r) => s.server.close(r))));
  }
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `drover deploy -i FILE` from the source, with a clean environment and a home of its own. */
function deploy(
  inventory: string,
  home: string,
  env: Readonly<Record<string, string>> = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'deploy', '-i', inventory, '--connect-timeout', '2'],
      {
        cwd: ROOT,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Bounded: a deploy that got past the check would wait for hosts that never answer.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('bad input: exit 3, every problem located, no connection', { concurrency: 3 }, () => {
  const standIns = new StandIns();
  const scratch = mkdtempSync(join(tmpdir(), 'drover-bad-input-'));
  before(() => standIns.start());
  after(async () => {
    await standIns.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Writes the case's files and runs deploy on it; returns the run and the inventory's text. */
  async function run(c: Case, index: number): Promise<Result & { text: string }> {
    const dir = mkdtempSync(join(scratch, `case-${index}-`));
    const outside = mkdtempSync(join(tmpdir(), 'drover-outside-'));
    try {
      const ctx: CaseContext = { at: (h) => standIns.at(h), dir, outside, project: ROOT };
      const text = c.inventory(ctx);
      const file = join(dir, 'inventory.yaml');
      writeFileSync(file, text);
      for (const [name, [content, mode]] of Object.entries(c.files ?? {})) {
        writeFileSync(join(dir, name), content);
        chmodSync(join(dir, name), mode);
      }
      for (const [name, content] of Object.entries(c.outsideFiles ?? {}))
        writeFileSync(join(outside, name), content);
      return { ...(await deploy(file, dir, c.env)), text };
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  }

  for (const [index, c] of CASES.entries()) {
    it(c.name, async () => {
      const before = standIns.connections;
      const r = await run(c, index);
      const out = `${r.stdout}${r.stderr}`;
      assert.equal(r.code, 3, out.slice(0, 4000));
      for (const re of c.expect) assert.match(r.stderr, re, r.stderr.slice(0, 4000));
      if (c.at) {
        const where = `inventory.yaml:${valuePosition(r.text, c.at.key)} ${c.at.path}: `;
        assert.ok(r.stderr.includes(where), `expected "${where}" in:\n${r.stderr}`);
      }
      for (const secret of c.absent ?? []) assert.ok(!out.includes(secret), 'a secret was printed');
      assert.doesNotMatch(out, /internal error|at .*\.ts:\d+/, 'no stack trace');
      // Cases run three at a time, and a good run in between would count too: none does.
      assert.equal(standIns.connections, before, 'no host was connected to');
    });
  }
});

describe('the stand-in hosts see a good run connect', () => {
  const standIns = new StandIns();
  const dir = mkdtempSync(join(tmpdir(), 'drover-good-input-'));
  before(() => standIns.start());
  after(async () => {
    await standIns.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a valid inventory passes the check and drover connects (the sockets are no SSH servers: exit 4)', async () => {
    const file = join(dir, 'inventory.yaml');
    writeFileSync(file, cluster({ at: (h) => standIns.at(h), dir, outside: dir, project: ROOT }));
    const r = await deploy(file, dir);
    assert.ok(standIns.connections > 0, `${r.stdout}${r.stderr}`);
    assert.notEqual(r.code, 3, r.stderr);
  });

  it('so does a cluster of servers only, with no clients group', async () => {
    const before = standIns.connections;
    const file = join(dir, 'servers-only.yaml');
    writeFileSync(
      file,
      `all:\n  children:\n    servers:\n      hosts:\n${['s1', 's2', 's3'].map((h) => `        ${h}: { ${standIns.at(h)} }`).join('\n')}\n`,
    );
    const r = await deploy(file, dir);
    assert.ok(standIns.connections > before, `${r.stdout}${r.stderr}`);
    assert.notEqual(r.code, 3, r.stderr);
    assert.notEqual(r.code, 64, r.stderr);
  });
});
