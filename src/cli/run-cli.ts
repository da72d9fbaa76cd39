import { Command, CommanderError } from 'commander';
import { DROVER_VERSION } from '../paths.js';
import { exitCodeOf } from '../report/conclusion.js';
import { DroverError, ExitCode } from '../errors.js';
import type { Cli } from './cli.js';
import { addAdHocCommands } from './commands/ad-hoc.js';
import { addAuditCommand } from './commands/audit.js';
import { addCompletionCommands } from './commands/completion.js';
import { addDay2Commands } from './commands/day2.js';
import { addInventoryCommand } from './commands/inventory.js';
import { addLockCommands } from './commands/lock.js';
import { addPlaybookCommands } from './commands/playbook.js';
import { addRollingCommands } from './commands/rolling.js';
import { addSnapshotCommands } from './commands/snapshot.js';
import { addValidateCommand } from './commands/validate.js';
import { addVerifyCommand } from './commands/verify.js';
import type { CliIo } from './io.js';

function program(cli: Cli): Command {
  const root = new Command('drover')
    .description('Agentless orchestration over SSH; deploys and runs Consul clusters in Docker')
    .version(DROVER_VERSION)
    .configureOutput({
      writeOut: (text) => cli.io.stdout.write(text),
      writeErr: (text) => cli.io.stderr.write(text),
    })
    .showHelpAfterError()
    .exitOverride();
  addPlaybookCommands(root, cli);
  addRollingCommands(root, cli);
  // keygen, rotate-gossip-key, members, reset-node, preflight.
  addDay2Commands(root, cli);
  addSnapshotCommands(root, cli);
  addValidateCommand(root, cli);
  addVerifyCommand(root, cli);
  addInventoryCommand(root, cli);
  addLockCommands(root, cli);
  addAuditCommand(root, cli);
  addAdHocCommands(root, cli);
  addCompletionCommands(root, cli);
  return root;
}

/**
 * drover's command line, in-process: parses `argv` (process.argv's shape), runs the command and
 * returns its exit code. The only code that prints errors; everything below it throws the typed
 * errors of src/errors.ts, and the exit code of each is decided in src/report/conclusion.ts.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = ExitCode.ok;
  try {
    await program({ io, argv, setExit: (c) => (code = c) }).parseAsync([...argv]);
    return code;
  } catch (err) {
    return report(err, io);
  }
}

function report(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // Help and version are not errors; commander already printed them.
    return err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
      ? ExitCode.ok
      : ExitCode.usage;
  }
  if (err instanceof DroverError) io.stderr.write(`error: ${err.message}\n`);
  else
    io.stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return exitCodeOf(err);
}
