import type { Command } from 'commander';
import { checkRunBeforeConnecting } from '../../app/checked-run.js';
import { PLAYBOOKS, playbookAt } from '../../app/playbooks.js';
import { ExitCode } from '../../errors.js';
import { inventoryOption, outputOption, type Cli } from '../cli.js';
import { createOutput } from '../io.js';
import { inventoryPaths, type CommonOptions } from '../options.js';

/**
 * `drover validate -i INVENTORY [-p PLAYBOOK]...`: what every run checks before its first
 * connection (src/app/checked-run.ts), and nothing else: the inventory, the playbooks, the
 * templates and every host's rendered config. Connects to nothing, writes nothing (a management
 * token it would make stays in memory), so a pipeline can run it on every pull request. Bad
 * input exits 3 with every problem located, as the run would.
 */
export function addValidateCommand(root: Command, cli: Cli): void {
  root
    .command('validate')
    .description(
      "check inventory, playbooks, templates and every host's rendered config; connects to nothing",
    )
    .addOption(inventoryOption())
    .option('-l, --limit <pattern>', 'check only these hosts')
    .option(
      '-p, --playbook <file>',
      'a playbook to check (repeatable; default playbooks/consul-deploy.yaml)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .addOption(outputOption())
    .action(async (o: CommonOptions & { playbook?: string[] }) => {
      const out = createOutput(cli.io, o.output === 'json');
      const inventoryFiles = inventoryPaths(o, cli.io);
      const inventoryFile = inventoryFiles.join(' + ');
      const playbooks = (o.playbook ?? []).map(playbookAt);
      const checked = playbooks.length > 0 ? playbooks : [PLAYBOOKS.deploy];
      const results = [];
      for (const playbook of checked) {
        const run = await checkRunBeforeConnecting({
          inventoryFiles,
          playbook,
          limit: o.limit,
          check: true,
          warn: out.warn,
          signal: cli.io.signal,
        });
        results.push({
          playbook: playbook.file,
          plays: run.playbook.plays.length,
          hosts: run.acl.inventory.hosts.size,
        });
      }
      if (o.output === 'json') {
        out.result.write(
          `${JSON.stringify({ valid: true, inventory: inventoryFile, playbooks: results })}\n`,
        );
      } else {
        for (const r of results)
          out.result.write(
            `valid: ${inventoryFile} (${r.hosts} hosts) with ${r.playbook} (${r.plays} plays): every host's values and rendered configs checked\n`,
          );
      }
      cli.setExit(ExitCode.ok);
    });
}
