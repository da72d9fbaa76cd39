import { spawn } from 'node:child_process';
import { render, type Cmd } from '../../src/shell/cmd.js';
import type { ExecResult } from '../../src/ssh/transport.js';

/**
 * Runs a built command with the local POSIX shell exactly as a transport would send it, so the
 * scripts in src/remote are tested for real, not just as strings.
 */
export function runLocal(cmd: Cmd, stdin?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', render(cmd, { redact: false })], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A script that never reads stdin closes it early; that is not a test failure.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
}
