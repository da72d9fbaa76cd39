/** Runs the real `drover` command line, as a user or a CI job would, for the e2e tests. */
import { join } from 'node:path';
import { LAB_DIR, run, type RunResult } from '../lab/lab.js';

export const ROOT = join(LAB_DIR, '..', '..');
export const LAB_INVENTORY = join(ROOT, 'inventories', 'lab.yaml');

export function drover(args: readonly string[], timeoutSeconds = 240): Promise<RunResult> {
  return run(process.execPath, [join(ROOT, 'bin', 'drover.js'), ...args], timeoutSeconds);
}

/** The PLAY RECAP lines as {host: {ok, changed, ...}}. */
export function parseRecap(output: string): Record<string, Record<string, number>> {
  const recap: Record<string, Record<string, number>> = {};
  for (const m of output.matchAll(/^(\S+)\s+:\s+(.*)$/gm)) {
    const counts = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((c) => [c[1]!, Number(c[2])]));
    if ('changed' in counts) recap[m[1]!] = counts;
  }
  return recap;
}
