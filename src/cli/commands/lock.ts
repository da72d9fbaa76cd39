import type { Command } from 'commander';
import { ofDatacenter } from '../../app/deploy-lock.js';
import { deployLockSites } from '../../app/lock-sites.js';
import { Session } from '../../app/session.js';
import { ExitCode } from '../../errors.js';
import { forceReleaseLock, lockStatus, type LockState } from '../../lock/lock.js';
import { confirm } from '../confirm.js';
import { withCommon, type Cli } from '../cli.js';
import { sessionOptions, type CommonOptions } from '../options.js';

/** `drover lock status|release`: the deploy lock of each datacenter. */
export function addLockCommands(root: Command, cli: Cli): void {
  const lock = root.command('lock').description('the cluster-wide deploy lock');
  withCommon(lock.command('status').description('who holds the deploy lock, or that it is free')).action(
    async (o: CommonOptions) => {
      await lockStatusCommand(o, cli);
      cli.setExit(ExitCode.ok);
    },
  );
  withCommon(lock.command('release').description('release a lock left by a run that is gone (asks first)'))
    .option('-y, --yes', 'do not ask')
    .action(async (o: CommonOptions & { yes?: boolean }) => {
      await lockReleaseCommand(o, cli);
      cli.setExit(ExitCode.ok);
    });
}

/** Who holds each lock, since when, for which command; or that it is free. Read in parallel. */
async function lockStatusCommand(o: CommonOptions, cli: Cli): Promise<void> {
  const options = sessionOptions(o, cli.io, cli.argv);
  await Session.with(options, async (session) => {
    const sites = await deployLockSites(session);
    const states = await Promise.all(
      sites.map(async ({ site, dir }) =>
        lockStatus(await session.connections.get(site.host), dir ? { dir } : {}),
      ),
    );
    sites.forEach(({ site }, i) => {
      const state = states[i] as LockState;
      const on = `deploy lock${ofDatacenter(site)} on ${site.host}`;
      options.output.result.write(
        state.held ? `${on} (${state.dir}): ${state.description}\n` : `${on}: free\n`,
      );
    });
  });
}

/** Removes a lock left by a run that is gone, after confirmation; each datacenter's in turn. */
async function lockReleaseCommand(o: CommonOptions & { yes?: boolean }, cli: Cli): Promise<void> {
  const options = sessionOptions(o, cli.io, cli.argv);
  const write = (line: string) => options.output.result.write(`${line}\n`);
  await Session.with(options, async (session) => {
    for (const { site, dir } of await deployLockSites(session)) {
      const transport = await session.connections.get(site.host);
      const state = await lockStatus(transport, dir ? { dir } : {});
      const on = `deploy lock${ofDatacenter(site)} on ${site.host}`;
      if (!state.held) {
        write(`${on}: already free`);
        continue;
      }
      if (!(await confirm(`Release the ${on}, ${state.description}?`, o, cli.io))) {
        write(`${site.datacenter !== undefined ? `${on}: ` : ''}left as it is`);
        continue;
      }
      await forceReleaseLock(transport, dir ? { dir } : {});
      write(`${on} released (was ${state.description})`);
    }
  });
}
