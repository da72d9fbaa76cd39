import { Option, type Command } from 'commander';
import type { CliIo } from './io.js';

/** What every command's definition gets: where it runs, its argv, and how it sets the exit code. */
export interface Cli {
  readonly io: CliIo;
  readonly argv: readonly string[];
  setExit(code: number): void;
}

export const outputOption = (): Option =>
  new Option('-o, --output <format>', 'result format').choices(['text', 'json']).default('text');

/**
 * `-i FILE`, repeatable: `-i base.yaml -i prod.yaml` merges them in order (see loadInventory);
 * read with inventoryPaths (or inventoryPath, for a command that takes one inventory).
 */
export const inventoryOption = (): Option =>
  new Option(
    '-i, --inventory <file>',
    'inventory YAML or script; repeat to merge several, later ones winning (env DROVER_INVENTORY)',
  ).argParser((file: string, earlier: string[] | undefined) => [...(earlier ?? []), file]);

/** The options of every command that talks to hosts. */
export function withCommon(cmd: Command): Command {
  return withConnection(
    cmd.option('-f, --forks <n>', 'hosts worked on at once (env DROVER_FORKS, default 10)'),
  );
}

/** withCommon but --forks, for a command that reads every host at once (`logs`, whose -f is --follow). */
export function withConnection(cmd: Command): Command {
  return cmd
    .addOption(inventoryOption())
    .option('-l, --limit <pattern>', 'run only on these hosts (names, groups, a:b, a:!b, a:&b, globs)')
    .option('--ssh-key <file>', 'private key for hosts without ssh_key (env DROVER_SSH_KEY)')
    .option('--accept-new-host-keys', 'trust and record unknown host keys (changed keys are always refused)')
    .option('--connect-timeout <seconds>', 'SSH connect timeout', '10');
}

/** The options of every command that runs a playbook. */
export function withRun(cmd: Command): Command {
  return withCommon(cmd)
    .option(
      '-e, --extra-vars <vars>',
      'vars above all others: key=value, a JSON/YAML mapping, or @FILE; repeatable, later ones winning',
      (value: string, earlier: string[] | undefined) => [...(earlier ?? []), value],
    )
    .option('-t, --tags <tags>', 'only tasks with these tags (comma-separated)')
    .option('--skip-tags <tags>', 'skip tasks with these tags')
    .addOption(outputOption())
    .option('--events <file>', 'write NDJSON events (one per task start/finish per host) as they happen')
    .option('--junit <file>', 'write a JUnit XML report: a testsuite per host, a testcase per task')
    .option('--lock-wait <seconds>', 'wait this long for a deploy lock held by another run (default: exit 6)')
    .option('-y, --yes', 'answer yes to confirmations (needed without a terminal)')
    .option(
      '-v, --verbose',
      'more: -v each command’s output (plan: every task instead of its short block), -vv each command and HTTP request, -vvv the SSH connections',
      (_value: string, count: number) => count + 1,
      0,
    )
    .option('-q, --quiet', 'only the recap (and why a host failed)');
}
