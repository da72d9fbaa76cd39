import type { Cmd } from '../../src/shell/cmd.js';
import type { ExecOptions, ExecResult, HttpResponse, Transport } from '../../src/ssh/transport.js';
import { runLocal } from '../remote/run-local.js';

/** A Transport that runs commands with the local shell, so the lock and audit scripts run for real. */
export class LocalTransport implements Transport {
  constructor(readonly host = 'local') {}
  exec(cmd: Cmd, options: ExecOptions = {}): Promise<ExecResult> {
    return runLocal(cmd, options.stdin === undefined ? undefined : String(options.stdin));
  }
  http(): Promise<HttpResponse> {
    throw new Error('no http on the local transport');
  }
  async close(): Promise<void> {}
}
