import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '../../../src/cli/run-cli.js';
import { UnreachableError } from '../../../src/errors.js';
import { RecordingTransport } from '../../../src/ssh/recording-transport.js';

/** A stream that keeps what was written to it. */
class Buffered extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The CLI in-process (changesets' style): argv in, output and exit code out, every host a
 * RecordingTransport that `script` answers. `unreachable` hosts refuse to connect.
 */
export class Hosts {
  readonly transports = new Map<string, RecordingTransport>();
  constructor(
    private readonly script: (t: RecordingTransport) => void = () => undefined,
    private readonly unreachable: readonly string[] = [],
  ) {}

  transport(host: string): RecordingTransport {
    let t = this.transports.get(host);
    if (!t) {
      t = new RecordingTransport(host);
      this.script(t);
      this.transports.set(host, t);
    }
    return t;
  }

  async drover(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
    const stdout = new Buffered();
    const stderr = new Buffered();
    const code = await runCli(['node', 'drover', ...args], {
      stdout,
      stderr,
      env,
      stdinIsTty: false,
      signal: new AbortController().signal,
      open: async (host) => {
        if (this.unreachable.includes(host.name)) throw new UnreachableError(host.name, 'connection refused');
        return this.transport(host.name);
      },
    });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }
}

/** A scratch folder with files, removed by `remove`. */
export function scratch(files: Record<string, string>): {
  dir: string;
  path: (name: string) => string;
  remove: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'drover-argv-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return {
    dir,
    path: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Three servers and a client on addresses nothing listens on: the transports are recorded. Gossip
 * encryption and TLS are off outright, so no read of the hosts decides them (tls-default.ts has
 * its own tests).
 */
export const CLUSTER = [
  'all:',
  '  vars: { consul_gossip_encryption: false, consul_tls_enable: false }',
  '  children:',
  '    servers:',
  '      hosts:',
  '        s1: { address: 10.9.0.1 }',
  '        s2: { address: 10.9.0.2 }',
  '        s3: { address: 10.9.0.3 }',
  '    clients:',
  '      hosts:',
  '        c1: { address: 10.9.0.4 }',
  '',
].join('\n');
