import type { Command } from 'commander';
import { roll, type RollOptions } from '../../app/rolls.js';
import { withRun, type Cli } from '../cli.js';
import { runPlaybookFlags, type RunFlags } from './playbook.js';

/** `drover restart` and `drover upgrade`: the quorum-safe roll (src/app/rolls.ts). */
export function addRollingCommands(root: Command, cli: Cli): void {
  const rollFlags = (cmd: Command): Command =>
    withRun(cmd)
      .option('--serial <n|n%>', 'clients restarted at once: a count or a percentage (default 25%)')
      .option(
        '--force',
        'go on when the pre-flight finds the cluster unhealthy (it still says why); upgrade: also to an older image',
      )
      .option('-C, --check', 'print the order and the gates the roll would apply; restart nothing');

  rollFlags(
    root
      .command('restart')
      .description(
        'restart the Consul agents without losing quorum: servers one at a time, leader last, gated',
      ),
  ).action(async (o: RunFlags & RollOptions) =>
    cli.setExit(await runPlaybookFlags(cli, o, roll('restart', o))),
  );

  rollFlags(
    root
      .command('upgrade')
      .description(
        'move the Consul agents to a new image, pulled everywhere first, then rolled like restart',
      ),
  )
    .requiredOption('--image <ref>', 'the new image, e.g. hashicorp/consul:1.20.2')
    .action(async (o: RunFlags & RollOptions) =>
      cli.setExit(await runPlaybookFlags(cli, o, roll('upgrade', o))),
    );
}
