import type { Command } from 'commander';
import { PLAYBOOKS, playbookAt } from '../../app/playbooks.js';
import { Session, type PlaybookRun } from '../../app/session.js';
import { UsageError } from '../../errors.js';
import { confirm } from '../confirm.js';
import { withRun, type Cli } from '../cli.js';
import { list, sessionOptions, type CommonOptions } from '../options.js';

export interface RunFlags extends CommonOptions {
  check?: boolean;
  diff?: boolean;
  tags?: string;
  skipTags?: string;
  events?: string;
  junit?: string;
  yes?: boolean;
  verbose?: boolean;
}

/** What a command adds to the flags: its playbook and anything it decides itself. */
export type CommandRun = Pick<PlaybookRun, 'playbook' | 'extraVars' | 'summarize' | 'view'> & {
  diff?: boolean;
};

/** Runs a playbook in a session: planned with --check, applied otherwise; returns the exit code. */
export async function runPlaybookFlags(
  cli: Cli,
  o: RunFlags,
  run: CommandRun,
  session?: Session,
): Promise<number> {
  const full: PlaybookRun = {
    ...run,
    diff: run.diff ?? o.diff === true,
    tags: list(o.tags),
    skipTags: list(o.skipTags),
    json: o.output === 'json',
    ...(o.events ? { eventsFile: o.events } : {}),
    ...(o.junit ? { junitFile: o.junit } : {}),
  };
  const go = async (s: Session) => (await (o.check ? s.plan(full) : s.apply(full))).conclusion.exitCode;
  return session ? go(session) : Session.with(sessionOptions(o, cli.io, cli.argv), go);
}

/** deploy, plan, run. */
export function addPlaybookCommands(root: Command, cli: Cli): void {
  withRun(
    root.command('deploy').description('deploy Consul agents and verify the cluster (default playbook)'),
  )
    .option('-p, --playbook <file>', 'playbook to run instead of playbooks/consul-deploy.yaml')
    .option('-C, --check', 'show what would change, touch nothing')
    .option('-D, --diff', 'show the diff of every changed file')
    .option(
      '--force',
      'apply dangerous changes (datacenter, node_name, server, bootstrap_expect, an image older than the running agents); asks first',
    )
    .option('--no-snapshot', 'restart servers without the snapshot taken before')
    .action(async (o: RunFlags & { playbook?: string; force?: boolean; snapshot?: boolean }) => {
      if (o.force && !o.check && !(await confirm('Apply dangerous Consul changes (--force)?', o, cli.io))) {
        throw new UsageError('--force was not confirmed; nothing was done');
      }
      cli.setExit(
        await runPlaybookFlags(cli, o, {
          playbook: o.playbook ? playbookAt(o.playbook) : PLAYBOOKS.deploy,
          extraVars: {
            ...(o.force ? { consul_config_force: true } : {}),
            ...(o.snapshot === false ? { consul_snapshot_before_roll: false } : {}),
          },
        }),
      );
    });

  withRun(root.command('plan').description('every change deploy would make, with diffs; touches nothing'))
    .option('-p, --playbook <file>', 'playbook to plan instead of playbooks/consul-deploy.yaml')
    .action(async (o: RunFlags & { playbook?: string }) =>
      cli.setExit(
        await runPlaybookFlags(
          cli,
          { ...o, check: true },
          {
            playbook: o.playbook ? playbookAt(o.playbook) : PLAYBOOKS.deploy,
            diff: true,
            view: o.verbose ? 'tasks' : 'plan',
          },
        ),
      ),
    );

  withRun(root.command('run').description('run any playbook').argument('<playbook>', 'playbook YAML'))
    .option('-C, --check', 'show what would change, touch nothing')
    .option('-D, --diff', 'show the diff of every changed file')
    .action(async (playbook: string, o: RunFlags) =>
      cli.setExit(await runPlaybookFlags(cli, o, { playbook: playbookAt(playbook) })),
    );
}
