/**
 * The lab as seen from tests: its hosts, a shell on each over real SSH, and fault injection.
 * The lab itself is brought up by test/run-tests.ts (or `npm run lab:up`); this module only reads
 * its state and drives the shell scripts beside it.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAB_DIR = dirname(fileURLToPath(import.meta.url));
export const STATE_DIR = join(LAB_DIR, 'state');
export const SSH_CONFIG = join(STATE_DIR, 'ssh', 'config');
export const SSH_KEY = join(STATE_DIR, 'ssh', 'id_ed25519');
export const KNOWN_HOSTS = join(STATE_DIR, 'ssh', 'known_hosts');
export const REGISTRY = '10.213.0.1:5000';
export const CONSUL_IMAGE = `${REGISTRY}/consul:1.20.1`;
export const CONSUL_IMAGE_NEXT = `${REGISTRY}/consul:1.20.2`;

export interface LabHost {
  name: string;
  address: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The lab's hosts; fails with a clear message when no lab is up. */
export function labHosts(): LabHost[] {
  const file = join(STATE_DIR, 'hosts.json');
  if (!existsSync(file)) {
    throw new Error(
      `no lab is up (${file} is missing): run the tests with \`npm test\` or start one with \`npm run lab:up\``,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as LabHost[];
}

export function labHost(name: string): LabHost {
  const host = labHosts().find((h) => h.name === name);
  if (!host) throw new Error(`no lab host ${name}`);
  return host;
}

/** Runs a program and collects its output; never rejects, so tests can assert on failures. */
export function run(
  file: string,
  args: readonly string[],
  timeoutSeconds = 60,
  /** Added to this process's environment. */
  env: Record<string, string> = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: timeoutSeconds * 1000,
        maxBuffer: 32 * 1024 * 1024,
        killSignal: 'SIGKILL',
        env: { ...process.env, ...env },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** A command on a lab host over real SSH (OpenSSH client, strict host key checking). */
export function ssh(host: string, command: string, timeoutSeconds = 60): Promise<RunResult> {
  return run('ssh', ['-F', SSH_CONFIG, '-o', 'ConnectTimeout=3', host, command], timeoutSeconds);
}

/** Like ssh(), but fails the calling test with the command's output when it exits non-zero. */
export async function sshOk(host: string, command: string, timeoutSeconds = 60): Promise<string> {
  const r = await ssh(host, command, timeoutSeconds);
  if (r.code !== 0) throw new Error(`${host}: \`${command}\` exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A command inside a host's namespaces without SSH (for checks while SSH itself is faulted). */
export function labExec(host: string, argv: readonly string[], timeoutSeconds = 60): Promise<RunResult> {
  return run(join(LAB_DIR, 'lab-exec.sh'), [host, ...argv], timeoutSeconds);
}

export type FaultAction =
  | 'partition'
  | 'heal'
  | 'cut'
  | 'uncut'
  | 'link-down'
  | 'link-up'
  | 'sshd-kill'
  | 'sshd-start'
  | 'dockerd-kill'
  | 'dockerd-start'
  | 'freeze'
  | 'thaw'
  | 'crash'
  | 'boot';

/** Injects (or undoes) a fault; throws when the fault script fails. */
export async function fault(action: FaultAction, host: string, other?: string): Promise<void> {
  const r = await run(join(LAB_DIR, 'fault.sh'), other ? [action, host, other] : [action, host], 60);
  if (r.code !== 0)
    throw new Error(`fault ${action} ${host}${other ? ` ${other}` : ''} failed: ${r.stderr}${r.stdout}`);
}

/** Polls `check` until it returns true, at most `seconds`; every wait in the lab tests is bounded. */
export async function waitFor(what: string, seconds: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (let attempt = 0; ; attempt++) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, Math.min(200 + attempt * 100, 1000)));
  }
}

export async function labUp(hosts: number): Promise<void> {
  const r = await run('bash', [join(LAB_DIR, 'lab-up.sh'), '--hosts', String(hosts)], 600);
  if (r.code !== 0) throw new Error(`lab-up failed:\n${r.stdout}${r.stderr}`);
}

export async function labDown(): Promise<RunResult> {
  return run('bash', [join(LAB_DIR, 'lab-down.sh')], 300);
}

/**
 * `count` consecutive lab hosts for a test's own cluster, starting at LAB_FIRST_HOST (default 1).
 * Tests run one after another in `npm test`, so they share h1..; while developing, a second
 * person can point their tests at hosts further up (LAB_FIRST_HOST=8) on a larger lab.
 */
export function pickHosts(count: number): LabHost[] {
  const first = Number(process.env['LAB_FIRST_HOST'] ?? '1');
  const hosts = labHosts().slice(first - 1, first - 1 + count);
  if (hosts.length < count) {
    throw new Error(`this test needs ${count} lab hosts from h${first}; the lab has ${labHosts().length}`);
  }
  return hosts;
}
