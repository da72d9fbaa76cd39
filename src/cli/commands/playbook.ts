import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { PLAYBOOKS, playbookAt } from '../../app/playbooks.js';
import { Session, type PlaybookRun } from '../../app/session.js';
import { UsageError } from '../../errors.js';
import type { StepAnswer, StepPrompt } from '../../runner/run-playbook.js';
import { confirm } from '../confirm.js';
import { parseExtraVars } from '../extra-vars.js';
import type { CliIo } from '../io.js';
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
  /** -v, -vv, -vvv. */
  verbose?: number;
  quiet?: boolean;
  listTasks?: boolean;
  listHosts?: boolean;
  startAtTask?: string;
  step?: boolean;
  /** -e, in order. */
  extraVars?: string[];
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
  const listing = o.listTasks === true || o.listHosts === true;
  // -e last: above every var, the command's own (an upgrade's --image) included, as in Ansible.
  const given = o.extraVars?.length
    ? parseExtraVars(o.extraVars, { env: cli.io.env, cwd: process.cwd() })
    : {};
  const extraVars = { ...run.extraVars, ...given };
  const full: PlaybookRun = {
    ...run,
    ...(Object.keys(extraVars).length > 0 ? { extraVars } : {}),
    diff: run.diff ?? o.diff === true,
    tags: list(o.tags),
    skipTags: list(o.skipTags),
    json: o.output === 'json',
    ...(o.events ? { eventsFile: o.events } : {}),
    ...(o.junit ? { junitFile: o.junit } : {}),
    ...(listing ? { list: { tasks: o.listTasks === true, hosts: o.listHosts === true } } : {}),
    ...(o.startAtTask !== undefined ? { startAtTask: o.startAtTask } : {}),
    ...(o.quiet ? { quiet: true } : {}),
    ...(o.step && !listing ? { step: terminalStep(cli.io) } : {}),
  };
  const go = async (s: Session) => (await (o.check ? s.plan(full) : s.apply(full))).conclusion.exitCode;
  return session ? go(session) : Session.with(sessionOptions(o, cli.io, cli.argv), go);
}

/**
 * --step's question before each task, as ansible-playbook asks it: `y` runs the task, `c` runs
 * it and every later one without asking again, anything else (`n`, nothing) skips it.
 */
export function stepAnswers(ask: (question: string) => Promise<string>): StepPrompt {
  return async ({ task, handler }) => {
    const answer = (
      await ask(`Perform task: ${handler ? 'HANDLER' : 'TASK'}: ${task} (N)o/(y)es/(c)ontinue: `)
    )
      .trim()
      .toLowerCase();
    const answers: Record<string, StepAnswer> = { y: 'yes', yes: 'yes', c: 'continue', continue: 'continue' };
    return answers[answer] ?? 'no';
  };
}

/**
 * --step on the terminal (checked when the flags are read: without one it is a usage error).
 * Ctrl-C during the question answers no; the run then stops as interrupted.
 */
function terminalStep(io: CliIo): StepPrompt {
  if (!io.stdinIsTty) {
    throw new UsageError(
      '--step asks before each task on the terminal, and stdin is not one; run it from a terminal',
    );
  }
  return stepAnswers(async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(question, { signal: io.signal });
    } catch (err) {
      if ((err as Error).name === 'AbortError') return 'n';
      throw err;
    } finally {
      rl.close();
    }
  });
}

/** The flags of ansible-playbook's that deploy and run take. */
function withReuseFlags(cmd: Command): Command {
  return cmd
    .option('--list-tasks', "list each play's tasks (as --tags selects them) and exit; connects to nothing")
    .option('--list-hosts', "list each play's hosts (as --limit narrows them) and exit; connects to nothing")
    .option(
      '--start-at-task <name>',
      'start at the first task with this name: earlier tasks and plays do not run',
    )
    .option('--step', 'ask before each task: (y)es, (n)o, (c)ontinue without asking (needs a terminal)');
}

/** deploy, plan, run. */
export function addPlaybookCommands(root: Command, cli: Cli): void {
  withReuseFlags(
    withRun(
      root.command('deploy').description('deploy Consul agents and verify the cluster (default playbook)'),
    ),
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
      const listing = o.listTasks === true || o.listHosts === true;
      if (
        o.force &&
        !o.check &&
        !listing &&
        !(await confirm('Apply dangerous Consul changes (--force)?', o, cli.io))
      ) {
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
            view: (o.verbose ?? 0) > 0 ? 'tasks' : 'plan',
          },
        ),
      ),
    );

  withReuseFlags(
    withRun(root.command('run').description('run any playbook').argument('<playbook>', 'playbook YAML')),
  )
    .option('-C, --check', 'show what would change, touch nothing')
    .option('-D, --diff', 'show the diff of every changed file')
    .action(async (playbook: string, o: RunFlags) =>
      cli.setExit(await runPlaybookFlags(cli, o, { playbook: playbookAt(playbook) })),
    );
}
