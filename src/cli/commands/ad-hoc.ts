import type { Command } from 'commander';
import { runAdHoc, type AdHocResult } from '../../app/ad-hoc.js';
import { readLogs } from '../../app/container-logs.js';
import { Session } from '../../app/session.js';
import { ExitCode, UsageError } from '../../errors.js';
import { outputOption, withCommon, withConnection, type Cli } from '../cli.js';
import { sessionOptions, type CommonOptions } from '../options.js';

/** `drover exec` and `drover logs`: what an operator does by hand on many hosts at once. */
export function addAdHocCommands(root: Command, cli: Cli): void {
  withCommon(
    root
      .command('exec')
      .description(
        'run one command on every host of PATTERN at once; its output per host, its exit code in the recap',
      )
      .argument('<pattern>', 'hosts, as --limit takes them: a group, names, a:b, a:!b, globs')
      .argument('<command...>', 'the command and its words, after --'),
  )
    .option(
      '--container',
      "run it in the Consul agent's container (docker exec); consul ... gets the ACL token",
    )
    .option('--changes', 'it changes the hosts: take the deploy lock, and write an audit line on each host')
    .option('--timeout <seconds>', 'seconds before a host’s command is abandoned', '300')
    .addOption(outputOption())
    .action(
      async (
        pattern: string,
        argv: string[],
        o: CommonOptions & { container?: boolean; changes?: boolean; timeout: string },
      ) => {
        const timeout = Number(o.timeout);
        if (!(timeout > 0 && timeout <= 86400)) throw new UsageError('--timeout takes seconds, 1 to 86400');
        const options = sessionOptions(o, cli.io, cli.argv);
        const json = o.output === 'json';
        const out = options.output;
        const results = await Session.with(options, (session) =>
          runAdHoc(session, {
            pattern,
            argv,
            container: o.container === true,
            changes: o.changes === true,
            timeoutSeconds: timeout,
            forks: options.forks ?? 10,
            onResult: (r) => {
              if (!json)
                printResult(
                  r,
                  (t) => cli.io.stdout.write(t),
                  (t) => cli.io.stderr.write(t),
                );
            },
          }),
        );
        if (json) {
          out.result.write(
            `${JSON.stringify({ hosts: Object.fromEntries(results.map(({ host, ...r }) => [host, r])), exit: exitOf(results) })}\n`,
          );
        } else {
          const width = Math.max(...results.map((r) => r.host.length));
          const lines = results.map(
            (r) =>
              `${r.host.padEnd(width)}  ${'rc' in r ? `exit ${r.rc ?? 'none (signal)'}` : `${r.unreachable ? 'unreachable' : 'failed'}: ${r.error.split('\n', 1)[0]}`}`,
          );
          cli.io.stdout.write(`\nEXEC RECAP\n${lines.join('\n')}\n`);
        }
        cli.setExit(exitOf(results));
      },
    );

  withConnection(
    root
      .command('logs')
      .description("the Consul agents' logs of many hosts, merged in time order, each line with its host")
      .argument(
        '[pattern]',
        'hosts, as --limit takes them (default: every Consul server and client)',
        'servers:clients',
      ),
  )
    .option('-f, --follow', 'keep following new lines until Ctrl-C')
    .option('--since <when>', "only lines since then: a duration (10m, 2h) or a time (docker's --since)")
    .option('-n, --lines <n>', 'the last N lines of each host')
    .option('--grep <regex>', 'only lines matching this JavaScript regular expression')
    .action(
      async (
        pattern: string,
        o: CommonOptions & { follow?: boolean; since?: string; lines?: string; grep?: string },
      ) => {
        let grep: RegExp | undefined;
        try {
          grep = o.grep !== undefined ? new RegExp(o.grep) : undefined;
        } catch (err) {
          throw new UsageError(`--grep: ${(err as Error).message}`);
        }
        if (o.lines !== undefined && !/^\d+$/.test(o.lines)) throw new UsageError('--lines takes a count');
        const options = sessionOptions(o, cli.io, cli.argv);
        const width = { n: 0 };
        const failed = await Session.with(options, async (session) => {
          await session.load({ consul: false });
          width.n = Math.max(0, ...session.hosts().map((h) => h.length));
          return readLogs(session, {
            pattern,
            ...(o.since !== undefined && { since: o.since }),
            ...(o.lines !== undefined && { lines: Number(o.lines) }),
            ...(grep && { grep }),
            follow: o.follow === true,
            signal: cli.io.signal,
            onLine: (l) => cli.io.stdout.write(`${l.host.padEnd(width.n)} | ${l.text}\n`),
            onProblem: (host, why) => cli.io.stderr.write(`warning: ${host}: ${why}\n`),
          });
        });
        // Ctrl-C is how following ends: a clean stop, not an interruption of work.
        cli.setExit(failed.length > 0 ? ExitCode.taskFailed : ExitCode.ok);
      },
    );
}

/** A host's output as it finishes: every line prefixed with the host, stderr on stderr. */
function printResult(r: AdHocResult, stdout: (t: string) => void, stderr: (t: string) => void): void {
  const prefix = (text: string) =>
    text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `${r.host} | ${l}\n`)
      .join('');
  if (!('rc' in r)) {
    stderr(prefix(`${r.unreachable ? 'unreachable' : 'failed'}: ${r.error}`));
    return;
  }
  if (r.stdout !== '') stdout(prefix(r.stdout));
  if (r.stderr !== '') stderr(prefix(r.stderr));
}

/** 4 when a host could not be reached, else 2 when a command failed or exited non-zero, else 0. */
function exitOf(results: readonly AdHocResult[]): number {
  if (results.some((r) => 'error' in r && r.unreachable)) return ExitCode.unreachable;
  if (results.some((r) => !('rc' in r) || r.rc !== 0)) return ExitCode.taskFailed;
  return ExitCode.ok;
}
