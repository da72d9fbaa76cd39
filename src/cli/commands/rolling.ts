import type { Command } from 'commander';
import { rollbackTarget } from '../../app/rollback.js';
import { roll, type RollOptions } from '../../app/rolls.js';
import { Session } from '../../app/session.js';
import { TaskFailedError } from '../../errors.js';
import { confirm } from '../confirm.js';
import { createOutput } from '../io.js';
import { sessionOptions } from '../options.js';
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
      .option('-C, --check', 'print the order and the gates the roll would apply; restart nothing')
      .option('--no-snapshot', 'roll without the snapshot taken before the servers restart');

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

  rollFlags(
    root
      .command('rollback')
      .description(
        'move the Consul agents back to the image the last upgrade replaced (as their containers say), rolled like upgrade',
      ),
  ).action(async (o: RunFlags & RollOptions) => {
    const out = createOutput(cli.io, o.output === 'json');
    const code = await Session.with(sessionOptions(o, cli.io, cli.argv), async (session) => {
      const { from, to } = await rollbackTarget(session);
      const question = `roll every Consul agent back from ${from} to ${to} (a snapshot first, then the gated roll)?`;
      if (!o.check && !(await confirm(question, o, cli.io)))
        throw new TaskFailedError('not rolled back: not confirmed');
      out.warn(`rolling back from ${from} to ${to}`);
      const back = roll('upgrade', { ...o, image: to });
      return runPlaybookFlags(
        cli,
        o,
        { ...back, extraVars: { ...back.extraVars, drover_rollback: true } },
        session,
      );
    });
    cli.setExit(code);
  });
}
