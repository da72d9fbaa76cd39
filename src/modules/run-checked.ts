import { CommandFailedError } from '../errors.js';
import { render, secretsOf, type Cmd } from '../shell/cmd.js';
import { redactText } from '../shell/secret.js';
import type { ExecOptions, ExecResult } from '../ssh/transport.js';
import type { ModuleContext } from './module.js';

/**
 * Runs a command that must succeed. A non-zero exit becomes CommandFailedError with the command
 * as people may see it and output scrubbed of every secret the task knows about.
 */
export async function runChecked(ctx: ModuleContext, cmd: Cmd, options?: ExecOptions): Promise<ExecResult> {
  const result = await ctx.transport.exec(cmd, options);
  if (result.code === 0) return result;
  const secrets = [...secretsOf(cmd), ...ctx.secrets()];
  throw new CommandFailedError(
    ctx.transport.host,
    render(cmd, { redact: true }),
    result.code,
    redactText(result.stdout, secrets),
    redactText(result.stderr, secrets),
  );
}
