import { dirname, basename, join, resolve } from 'node:path';
import { selectHosts } from '../../inventory/patterns.js';
import { builtinModules } from '../../modules/registry.js';
import { loadPlaybook } from '../../playbook/load-playbook.js';
import { PLAYBOOKS_DIR, PROJECT_ROOT } from '../../paths.js';
import { createReporter } from '../../runner/create-reporter.js';
import { runPlaybook, type RunResult } from '../../runner/run-playbook.js';
import { Connections } from '../connections.js';
import { connectionDefaults, forks, loadCheckedInventory, type CommonOptions } from '../context.js';
import type { Output } from '../output.js';

export interface PlaybookCommandOptions extends CommonOptions {
  playbook?: string;
  check?: boolean;
  diff?: boolean;
  tags?: string;
  skipTags?: string;
}

export const DEFAULT_PLAYBOOK = join(PLAYBOOKS_DIR, 'consul-deploy.yaml');

/**
 * Relative `src:` paths in a playbook resolve against the project around it: the parent of a
 * `playbooks/` folder (where templates/ and schemas/ sit), else the playbook's own folder.
 */
export function playbookBaseDir(playbookFile: string): string {
  const dir = dirname(resolve(playbookFile));
  if (dir === PLAYBOOKS_DIR) return PROJECT_ROOT;
  return basename(dir) === 'playbooks' ? dirname(dir) : dir;
}

const list = (s: string | undefined): string[] =>
  s ? s.split(',').map((t) => t.trim()).filter(Boolean) : [];

/**
 * deploy, plan and run: validate everything first (inventory, playbook, limit), then run the
 * playbook over one SSH connection per host, then print the recap. Returns the run's result.
 */
export async function runPlaybookCommand(
  o: PlaybookCommandOptions,
  out: Output,
  signal: AbortSignal,
): Promise<RunResult> {
  const playbookFile = o.playbook ?? DEFAULT_PLAYBOOK;
  const consul = resolve(playbookFile).startsWith(PLAYBOOKS_DIR) && basename(playbookFile).startsWith('consul-');
  const inventory = await loadCheckedInventory(o, { consul, warn: out.warn });
  const modules = builtinModules();
  const playbook = await loadPlaybook(playbookFile, modules);
  const connections = new Connections(inventory, connectionDefaults(o));
  const reporter = createReporter({ tty: out.progressIsTty, ci: out.ci, stream: out.progress });
  try {
    const result = await runPlaybook({
      playbook,
      inventory,
      selectHosts,
      ...(o.limit ? { limit: o.limit } : {}),
      modules,
      connect: (host) => connections.get(host),
      forks: forks(o),
      check: o.check === true,
      diff: o.diff === true,
      tags: list(o.tags),
      skipTags: list(o.skipTags),
      baseDir: playbookBaseDir(playbookFile),
      reporter,
      signal,
    });
    // The reporter has printed the PLAY RECAP; say in one line what the run changed.
    if (result.abortReason) out.progress.write(`aborted: ${result.abortReason}\n`);
    const verb = o.check ? 'would change' : 'changed';
    out.progress.write(
      `${verb}: ${result.changedHosts.length > 0 ? result.changedHosts.join(', ') : 'no host'}\n`,
    );
    return result;
  } finally {
    await connections.closeAll();
  }
}
