import { Argument, type Command } from 'commander';
import { complete, completionScript, formatCompletion } from '../completion.js';
import { ExitCode } from '../../errors.js';
import type { Cli } from '../cli.js';

/**
 * `drover completion bash|zsh|fish` prints the shell's script; the hidden `drover __complete --
 * WORDS...` answers it on each Tab (src/cli/completion.ts). Added last, so that every command
 * is known.
 */
export function addCompletionCommands(root: Command, cli: Cli): void {
  root
    .command('completion')
    .description('print a shell completion script: commands, options, inventory files, host and group names')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .action((shell: 'bash' | 'zsh' | 'fish') => {
      cli.io.stdout.write(completionScript(shell));
      cli.setExit(ExitCode.ok);
    });
  root
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .action(async (words: string[]) => {
      cli.io.stdout.write(formatCompletion(await complete(root, words, cli.io.env)));
      cli.setExit(ExitCode.ok);
    });
}
