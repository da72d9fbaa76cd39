import type { Command } from 'commander';
import { readAuditLogs } from '../../app/audit-log.js';
import { Session } from '../../app/session.js';
import { formatAuditEntry } from '../../audit/audit.js';
import { ExitCode, UsageError } from '../../errors.js';
import { withCommon, type Cli } from '../cli.js';
import { sessionOptions, type CommonOptions } from '../options.js';

/** `drover audit`: the latest audit lines of every host (or --limit), prefixed by the host name; exit 4 if one was not read. */
export function addAuditCommand(root: Command, cli: Cli): void {
  withCommon(root.command('audit').description("the latest lines of every host's audit log"))
    .option('-n, --lines <n>', 'lines per host', '20')
    .action(async (o: CommonOptions & { lines?: string }) => {
      const lines = Number(o.lines ?? '20');
      if (!Number.isInteger(lines) || lines < 1 || lines > 10000)
        throw new UsageError('--lines must be a whole number from 1 to 10000');
      const options = sessionOptions(o, cli.io, cli.argv);
      const logs = await Session.with(options, (session) => readAuditLogs(session, lines));
      const width = Math.max(...logs.map((l) => l.host.length));
      const write = (host: string, text: string) =>
        options.output.result.write(`${host.padEnd(width)}  ${text}\n`);
      for (const l of logs) {
        if ('error' in l) write(l.host, `(not read: ${l.error})`);
        else if (l.log.entries.length === 0) write(l.host, '(no audit entries)');
        else for (const e of l.log.entries) write(l.host, formatAuditEntry(e));
      }
      cli.setExit(logs.every((l) => !('error' in l)) ? ExitCode.ok : ExitCode.unreachable);
    });
}
