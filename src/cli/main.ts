#!/usr/bin/env node
/**
 * drover's command line. The only code that prints errors and sets process.exitCode; everything
 * below it throws typed errors (src/errors.ts) that carry their exit code.
 */
import { Command, CommanderError, Option } from 'commander';
import { DroverError, ExitCode, InterruptedError, UsageError } from '../errors.js';
import { DROVER_VERSION } from '../paths.js';
import { auditCommand } from './commands/audit.js';
import { addDay2Commands } from './commands/day2.js';
import { inventoryCommand } from './commands/inventory.js';
import { lockReleaseCommand, lockStatusCommand } from './commands/lock.js';
import { addRollingCommands } from './commands/rolling.js';
import { runPlaybookCommand, type PlaybookCommandOptions } from './commands/run-playbook.js';
import { verifyCommand } from './commands/verify.js';
import { deepVerifyCommand } from './commands/verify-deep.js';
import type { CommonOptions } from './context.js';
import { confirm } from './confirm.js';
import { createOutput } from './output.js';

const interrupt = new AbortController();

function withCommon(cmd: Command): Command {
  return cmd
    .option('-i, --inventory <file>', 'inventory YAML (env DROVER_INVENTORY)')
    .option('-l, --limit <pattern>', 'run only on these hosts (names, groups, a:b, a:!b, a:&b, globs)')
    .option('-f, --forks <n>', 'hosts worked on at once (env DROVER_FORKS, default 10)')
    .option('--ssh-key <file>', 'private key for hosts without ssh_key (env DROVER_SSH_KEY)')
    .option('--accept-new-host-keys', 'trust and record unknown host keys (changed keys are always refused)')
    .option('--connect-timeout <seconds>', 'SSH connect timeout', '10');
}

function withRun(cmd: Command): Command {
  return withCommon(cmd)
    .option('-t, --tags <tags>', 'only tasks with these tags (comma-separated)')
    .option('--skip-tags <tags>', 'skip tasks with these tags')
    .addOption(new Option('-o, --output <format>', 'result format').choices(['text', 'json']).default('text'))
    .option('--events <file>', 'write NDJSON events (one per task start/finish per host) as they happen')
    .option('--junit <file>', 'write a JUnit XML report: a testsuite per host, a testcase per task')
    .option('--lock-wait <seconds>', 'wait this long for a deploy lock held by another run (default: exit 6)')
    .option('-y, --yes', 'answer yes to confirmations (needed without a terminal)')
    .option('-v, --verbose', 'list every task on every host (plan: instead of its short block)');
}

type RunOpts = PlaybookCommandOptions & { output: 'text' | 'json' };

async function playbookAction(o: RunOpts): Promise<number> {
  const result = await runPlaybookCommand(o, createOutput(o.output === 'json'), interrupt.signal);
  return result.exitCode;
}

function program(setExit: (code: number) => void): Command {
  const root = new Command('drover')
    .description('Agentless orchestration over SSH; deploys and runs Consul clusters in Docker')
    .version(DROVER_VERSION)
    .showHelpAfterError()
    .exitOverride();

  withRun(
    root.command('deploy').description('deploy Consul agents and verify the cluster (default playbook)'),
  )
    .option('-p, --playbook <file>', 'playbook to run instead of playbooks/consul-deploy.yaml')
    .option('-C, --check', 'show what would change, touch nothing')
    .option('-D, --diff', 'show the diff of every changed file')
    .option(
      '--force',
      'apply dangerous Consul config changes (datacenter, node_name, server, bootstrap_expect); asks first',
    )
    .action(async (o: RunOpts & { force?: boolean; yes?: boolean }) => {
      if (o.force && !o.check && !(await confirm('Apply dangerous Consul config changes (--force)?', o))) {
        throw new UsageError('--force was not confirmed; nothing was done');
      }
      setExit(
        await playbookAction(
          o.force ? { ...o, extraVars: { ...o.extraVars, consul_config_force: true } } : o,
        ),
      );
    });

  withRun(root.command('plan').description('every change deploy would make, with diffs; touches nothing'))
    .option('-p, --playbook <file>', 'playbook to plan instead of playbooks/consul-deploy.yaml')
    .action(async (o: RunOpts) =>
      setExit(await playbookAction({ ...o, check: true, diff: true, plan: true })),
    );

  withRun(root.command('run').description('run any playbook').argument('<playbook>', 'playbook YAML'))
    .option('-C, --check', 'show what would change, touch nothing')
    .option('-D, --diff', 'show the diff of every changed file')
    .action(async (playbook: string, o: RunOpts) => setExit(await playbookAction({ ...o, playbook })));

  // restart, upgrade: quorum-safe rolls (src/cli/commands/rolling.ts).
  addRollingCommands(root, { withRun, action: playbookAction, setExit });

  // keygen, rotate-gossip-key, members, reset-node, preflight (src/cli/commands/day2.ts).
  addDay2Commands(root, { withCommon, withRun, action: playbookAction, setExit, signal: interrupt.signal });

  withCommon(
    root.command('verify').description('check the cluster: one leader, servers in raft, every node alive'),
  )
    .addOption(new Option('-o, --output <format>', 'result format').choices(['text', 'json']).default('text'))
    .option(
      '--deep',
      'also: HTTP API on every node, UI on servers, DNS on 8600, gossip encryption, one version',
    )
    .action(async (o: CommonOptions & { output: string; deep?: boolean }) => {
      await verifyCommand(o, createOutput(o.output === 'json'), o.output === 'json');
      if (o.deep) await deepVerifyCommand(o, createOutput(o.output === 'json'), o.output === 'json');
      setExit(ExitCode.ok);
    });

  root
    .command('inventory')
    .description('print the resolved inventory (secrets redacted)')
    .option('-i, --inventory <file>', 'inventory YAML (env DROVER_INVENTORY)')
    .option('--list', "hosts, groups and every host's vars as JSON (default)")
    .option('--graph', 'the group tree')
    .action(async (o: CommonOptions & { graph?: boolean }) => {
      await inventoryCommand(o, createOutput(false));
      setExit(ExitCode.ok);
    });
  const lock = root.command('lock').description('the cluster-wide deploy lock');
  withCommon(lock.command('status').description('who holds the deploy lock, or that it is free')).action(
    async (o: CommonOptions) => {
      await lockStatusCommand(o, createOutput(false));
      setExit(ExitCode.ok);
    },
  );
  withCommon(lock.command('release').description('release a lock left by a run that is gone (asks first)'))
    .option('-y, --yes', 'do not ask')
    .action(async (o: CommonOptions & { yes?: boolean }) => {
      await lockReleaseCommand(o, createOutput(false));
      setExit(ExitCode.ok);
    });

  withCommon(root.command('audit').description("the latest lines of every host's audit log"))
    .option('-n, --lines <n>', 'lines per host', '20')
    .action(async (o: CommonOptions & { lines?: string }) => {
      setExit((await auditCommand(o, createOutput(false))) ? ExitCode.ok : ExitCode.unreachable);
    });
  return root;
}

async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await program((c) => (code = c)).parseAsync(argv);
    return code;
  } catch (err) {
    return report(err);
  }
}

/** First Ctrl-C: no new task starts, running ones finish, the recap prints. Second: stop now. */
function onSignal(): void {
  if (interrupt.signal.aborted) {
    process.stderr.write('\ninterrupted again: stopping now\n');
    process.exit(ExitCode.interrupted);
  }
  process.stderr.write('\ninterrupted: finishing running tasks (Ctrl-C again to stop at once)\n');
  interrupt.abort(new InterruptedError('interrupted'));
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are not errors; commander already printed them.
    return err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
      ? ExitCode.ok
      : ExitCode.usage;
  }
  if (err instanceof DroverError) {
    process.stderr.write(`error: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(
    `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return ExitCode.internal;
}

// No top-level await: the bundle is CommonJS (scripts/bundle.mjs).
void main(process.argv).then((code) => {
  process.exitCode = code;
});
