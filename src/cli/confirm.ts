import { createInterface } from 'node:readline/promises';
import { UsageError } from '../errors.js';
import type { CliIo } from './io.js';

/**
 * Asks before a destructive step. `--yes` answers for CI; without a terminal and without
 * `--yes` it refuses at once instead of hanging on a prompt nobody can answer.
 */
export async function confirm(question: string, o: { yes?: boolean }, io: CliIo): Promise<boolean> {
  if (o.yes) return true;
  if (!io.stdinIsTty) {
    throw new UsageError(`${question} needs confirmation: no terminal to ask on, so run it again with --yes`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
