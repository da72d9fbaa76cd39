import { exists } from '../remote/fs.js';
import { checkedStep, execStep, mapStep } from '../remote/step.js';
import { TaskFailedError } from '../errors.js';
import { exec, render, secretsOf, type Arg, type Cmd } from '../shell/cmd.js';
import { redactText, Secret } from '../shell/secret.js';
import type { ExecOptions, ExecResult } from '../ssh/transport.js';
import type { Change, LocalContext, PlannedModule } from './module.js';
import { secondsSchema } from './schema-parts.js';

export type CommandArgs = {
  /** Program and arguments, run without a shell: nothing in them is interpreted. */
  argv?: Arg[];
  /** A shell command line, run by `sh -c`. */
  cmd?: Arg;
  /** Absolute path; when it exists the command is skipped (it already did its work). */
  creates?: string;
  /** Seconds before the command is abandoned. */
  timeout?: number;
  /** The command only reads: it also runs in check mode and never counts as a change. */
  read_only?: boolean;
};

const isArg = (v: unknown): v is Arg => typeof v === 'string' || v instanceof Secret;

/**
 * Runs an arbitrary command (Ansible's command/shell). It cannot know whether it would change
 * anything, so it reports a change and is skipped in check mode, unless marked read_only.
 * Registers rc, stdout, stderr; a non-zero exit fails the task.
 */
export const commandModule: PlannedModule<CommandArgs, WantedCommand, { creates: ExecResult | undefined }> = {
  kind: 'planned',
  name: 'command',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      // Items have no `type`: after templating an item may be a Secret object.
      argv: { type: 'array', minItems: 1, description: 'Program and arguments, no shell.' },
      cmd: { description: 'Shell command line, run by sh -c.' },
      creates: { type: 'string', pattern: '^/', description: 'Skip when this path exists on the host.' },
      timeout: secondsSchema('Seconds before the command is abandoned.'),
      read_only: { type: 'boolean', description: 'Only reads: runs in check mode too, never "changed".' },
    },
  },
  async desired(args: CommandArgs, ctx: LocalContext): Promise<WantedCommand> {
    return { args, cmd: buildCmd(args, ctx.host) };
  },
  facts: ({ args }) => ({ creates: args.creates ? execStep('read', exists(args.creates)) : undefined }),
  plan({ args, cmd }: WantedCommand, facts, ctx): Change {
    const shown = render(cmd, { redact: true });
    if (args.creates && facts.creates?.code === 0) {
      return {
        changed: false,
        summary: `skipped, ${args.creates} exists`,
        data: { cmd: shown, skipped: true },
      };
    }
    const options = args.timeout !== undefined ? { timeoutSeconds: args.timeout } : {};
    return commandRunChange(cmd, options, {
      readOnly: args.read_only === true,
      check: ctx.check,
      title: shown,
    });
  },
};

/**
 * Running `cmd` as a task (command, consul_cli): one step that registers cmd, rc, stdout and
 * stderr (secrets redacted) and fails on a non-zero exit. Whether it reads or writes is the
 * task's word: a read also runs in check mode and is never a change; a write is reported as a
 * change and skipped in check mode. `title` is what the summary calls it.
 */
export function commandRunChange(
  cmd: Cmd,
  options: ExecOptions,
  o: { readOnly: boolean; check: boolean; title: string },
): Change {
  const shown = render(cmd, { redact: true });
  const step = mapStep(checkedStep(o.readOnly ? 'read' : 'write', cmd, options), (result, site) => {
    const secrets = [...secretsOf(cmd), ...site.secrets()];
    return {
      cmd: shown,
      rc: result.code,
      stdout: redactText(chompNewline(result.stdout), secrets),
      stderr: redactText(chompNewline(result.stderr), secrets),
    };
  });
  if (o.readOnly) return { changed: false, summary: `run ${o.title}`, data: { cmd: shown }, steps: [step] };
  return {
    changed: true,
    summary: o.check ? `would run ${o.title} (not run in check mode)` : `run ${o.title}`,
    data: { cmd: shown },
    steps: [step],
  };
}

/** The command line the task runs, built once from its args. */
interface WantedCommand {
  args: CommandArgs;
  cmd: Cmd;
}

function buildCmd(args: CommandArgs, host: string): Cmd {
  if ((args.argv === undefined) === (args.cmd === undefined)) {
    throw new TaskFailedError(`${host}: command needs exactly one of "argv" or "cmd"`);
  }
  if (args.argv !== undefined) {
    if (!args.argv.every(isArg))
      throw new TaskFailedError(`${host}: command "argv" must be a list of strings`);
    return exec(...args.argv);
  }
  if (!isArg(args.cmd)) throw new TaskFailedError(`${host}: command "cmd" must be a string`);
  return exec('sh', '-c', args.cmd);
}

/** Like Ansible: one trailing newline is the end of the output, not part of it. */
const chompNewline = (s: string): string => s.replace(/\r?\n$/, '');
