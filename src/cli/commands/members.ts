import type { Command } from 'commander';
import { observeMembers, pruneGhosts } from '../../app/members.js';
import { Session } from '../../app/session.js';
import { formatMembership } from '../../consul/verify/membership.js';
import { ExitCode, TaskFailedError } from '../../errors.js';
import { confirm } from '../confirm.js';
import { outputOption, withCommon, type Cli } from '../cli.js';
import { sessionOptions, type CommonOptions } from '../options.js';

interface MembersFlags extends CommonOptions {
  prune?: boolean;
  yes?: boolean;
}

/**
 * `drover members`: the inventory against the member list a server reports (each node alive,
 * failed, left or missing; ghosts). `--prune` force-leaves the prunable ghosts after
 * confirmation (src/app/members.ts). Fails (exit 2) while anything is off, so CI can gate on it.
 */
export function addMembersCommand(root: Command, cli: Cli): void {
  withCommon(
    root
      .command('members')
      .description("the inventory against the cluster's members: alive/failed/left/missing, ghosts"),
  )
    .option('--prune', 'force-leave -prune the failed and left ghosts (asks first)')
    .option('-y, --yes', 'do not ask')
    .addOption(outputOption())
    .action(async (o: MembersFlags) => {
      const options = sessionOptions(o, cli.io, cli.argv);
      const out = options.output;
      await Session.with(options, async (session) => {
        const inventory = await session.load({ consul: true });
        let seen = await observeMembers(session, inventory);
        const prunable = seen.report.ghosts.filter((g) => g.prunable);
        if (o.prune && prunable.length > 0) {
          out.progress.write(`${formatMembership(seen.report)}\n\n`);
          const names = prunable.map((g) => `${g.name} (${g.address}, ${g.status})`).join(', ');
          if (!(await confirm(`force-leave -prune ${prunable.length} ghost(s): ${names}?`, o, cli.io))) {
            throw new TaskFailedError('not pruned: not confirmed');
          }
          seen = await pruneGhosts(session, inventory, seen, (line) => out.progress.write(`${line}\n`));
        }
        const { report } = seen;
        if (o.output === 'json') out.result.write(`${JSON.stringify(report, null, 2)}\n`);
        else out.result.write(`${formatMembership(report)}\n`);
        if (!report.ok) {
          const hint =
            report.ghosts.some((g) => g.prunable) && !o.prune
              ? ' (drover members --prune removes the prunable ghosts)'
              : '';
          throw new TaskFailedError(
            `membership: ${report.problems.length} problem(s)${hint}:\n  ${report.problems.join('\n  ')}`,
          );
        }
      });
      cli.setExit(ExitCode.ok);
    });
}
