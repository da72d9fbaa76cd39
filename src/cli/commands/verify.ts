import type { Command } from 'commander';
import { Session } from '../../app/session.js';
import { deepVerifyCluster, verifyCluster } from '../../app/verify.js';
import { formatDeepReport } from '../../consul/verify/deep-verify.js';
import { formatDeploymentReport } from '../../consul/verify/verify-deployment-format.js';
import { ExitCode, TaskFailedError } from '../../errors.js';
import { outputOption, withCommon, type Cli } from '../cli.js';
import { sessionOptions, type CommonOptions } from '../options.js';

/** `drover verify [--deep]`: the cluster checks (src/app/verify.ts), as text or JSON; exit 2 on a problem. */
export function addVerifyCommand(root: Command, cli: Cli): void {
  withCommon(
    root.command('verify').description('check the cluster: one leader, servers in raft, every node alive'),
  )
    .addOption(outputOption())
    .option(
      '--deep',
      'also: HTTP API on every node, UI on servers, DNS on 8600, gossip encryption, one version',
    )
    .action(async (o: CommonOptions & { deep?: boolean }) => {
      const json = o.output === 'json';
      const options = sessionOptions(o, cli.io, cli.argv);
      const write = (text: string) => options.output.result.write(`${text}\n`);
      await Session.with(options, async (session) => {
        const report = await verifyCluster(session);
        write(json ? JSON.stringify(report, null, 2) : formatDeploymentReport(report));
        if (!report.ok)
          throw new TaskFailedError(`cluster verification failed: ${report.problems.length} problem(s)`);
        if (!o.deep) return;
        const deep = await deepVerifyCluster(session);
        write(json ? JSON.stringify(deep, null, 2) : formatDeepReport(deep));
        if (!deep.ok)
          throw new TaskFailedError(`deep verification failed: ${deep.problems.length} problem(s)`);
      });
      cli.setExit(ExitCode.ok);
    });
}
