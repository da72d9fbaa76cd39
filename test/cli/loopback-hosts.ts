/**
 * Several SSH "hosts" on loopback for tests of the command line: one OpenSSH server on
 * 127.0.0.1 (test/ssh/sshd.ts), reached as 127.0.0.2, .3, ... through small TCP relays, so an
 * inventory can name several hosts, as test/cli/terminal-view.test.ts does. Every host is this
 * machine: tests give each one paths of its own under a temp dir, and the inventory points the
 * deploy lock and the audit log there too, so nothing is written outside it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../ssh/sshd.js';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface LoopbackHosts {
  readonly sshd: TestSshd;
  /** A temp dir for the tests' files, removed by stop(). */
  readonly root: string;
  readonly knownHosts: string;
  /** The address of reachable host `i` (0-based): 127.0.0.(i+2). */
  address(i: number): string;
  /**
   * An inventory in `dir`: `hosts` reachable ones (h1..hN), then `unreachable` more at
   * addresses where nothing listens (connection refused), all in group `web`; `hostVars`
   * per host as YAML flow text (`{ level: debug }`).
   */
  inventory(
    dir: string,
    o: {
      hosts: number;
      unreachable?: number;
      vars?: Record<string, string | number | boolean>;
      hostVars?: Record<string, string>;
    },
  ): string;
  stop(): Promise<void>;
}

/** Starts the sshd and one relay per reachable host; call stop() in `after`. */
export async function startLoopbackHosts(count: number): Promise<LoopbackHosts> {
  const sshd = await startSshd();
  const root = mkdtempSync(join(tmpdir(), 'drover-cli-'));
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const address = (i: number) => `127.0.0.${i + 2}`;
  for (let i = 0; i < count; i++) servers.push(await relay(address(i), sshd.port, sockets));
  const knownHosts = join(root, 'known_hosts');
  writeFileSync(
    knownHosts,
    Array.from({ length: count }, (_, i) => `[${address(i)}]:${sshd.port} ${sshd.hostPublicKey}\n`).join(''),
  );
  return {
    sshd,
    root,
    knownHosts,
    address,
    inventory(dir, o) {
      const hosts = [
        ...Array.from({ length: o.hosts }, (_, i) => ({ name: `h${i + 1}`, address: address(i) })),
        // Past the relays: 127.0.0.(count+2) and up have no listener on the sshd's port.
        ...Array.from({ length: o.unreachable ?? 0 }, (_, i) => ({
          name: `h${o.hosts + i + 1}`,
          address: address(count + i),
        })),
      ];
      const vars = {
        ssh_user: 'root',
        ssh_port: sshd.port,
        ssh_key: sshd.clientKey,
        ssh_known_hosts: knownHosts,
        ssh_connect_timeout: 5,
        drover_lock_dir: join(dir, 'lock'),
        drover_audit_log: join(dir, 'audit.log'),
        ...o.vars,
      };
      const file = join(dir, 'inventory.yaml');
      writeFileSync(
        file,
        [
          'all:',
          '  vars:',
          ...Object.entries(vars).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`),
          '  children:',
          '    web:',
          '      hosts:',
          ...hosts.map((h) => {
            const extra = o.hostVars?.[h.name]?.replace(/^\{\s*|\s*\}$/g, '');
            return `        ${h.name}: { address: ${h.address}${extra ? `, ${extra}` : ''} }`;
          }),
          '',
        ].join('\n'),
      );
      return file;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      await sshd.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Accepts on `host`:port and relays every connection to the sshd on 127.0.0.1:port. */
export async function relay(host: string, port: number, sockets: Set<Socket>): Promise<Server> {
  const server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a pipeline step without CI set: plain lines because stdout is a pipe. */
export function pipeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['CI', 'DROVER_FORKS', 'DROVER_INVENTORY', 'DROVER_SSH_KEY']) delete env[k];
  return env;
}

/**
 * drover from source with piped output. `onOutput` sees everything written so far (stdout and
 * stderr together) each time more comes, and may signal the child. Killed after timeoutSeconds.
 */
export function droverPiped(
  args: readonly string[],
  o: { timeoutSeconds?: number; onOutput?: (all: string, child: { pid: number }) => void } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: pipeEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const seen = () => o.onOutput?.(stdout + stderr, { pid: child.pid as number });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      seen();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      seen();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.timeoutSeconds ?? 90) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
