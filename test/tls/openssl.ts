import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The real `openssl` CLI, over files in a fresh folder: an outside judge of what drover makes. */
export class OpensslDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'drover-tls-'));

  write(name: string, text: string): string {
    const file = join(this.dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  }

  /** stdout of a command that must succeed. */
  run(...args: string[]): string {
    return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** stdout and stderr together, and the exit code, for commands expected to fail. */
  attempt(...args: string[]): { code: number | null; output: string } {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    return { code: r.status, output: `${r.stdout}${r.stderr}` };
  }
}
