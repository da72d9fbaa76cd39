import { agentContainerName } from '../consul/agent/container-name.js';
import { aclTokenOption, DEFAULT_HTTPS_PORT } from '../consul/api/endpoint.js';
import { portVar } from '../consul/gates/gate-agents.js';
import { TaskFailedError } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import { callOptions, cli, type ConsulCall, type ConsulExecOptions } from '../remote/consul.js';
import { isSecret } from '../shell/secret.js';
import { commandRunChange } from './command.js';
import type { Change, LocalContext, PlannedModule } from './module.js';
import { secondsSchema } from './schema-parts.js';

export interface ConsulCliArgs {
  /** The consul subcommand and its words, e.g. `[reload]` or `[operator, raft, list-peers]`. */
  argv: (string | number)[];
  /** The agent's container; default `consul_container_name`, else `consul`. */
  container?: string;
  /** Seconds before the command is abandoned. */
  timeout?: number;
  /** The subcommand only reads: it also runs in check mode and never counts as a change. */
  read_only?: boolean;
}

/**
 * How the CLI in a host's agent container reaches that agent, from the host's vars: with the
 * session's ACL token (on stdin, see remote/consul.ts) and, when the agent serves no plain HTTP
 * (`consul_tls_enable` with `consul_tls_http: off`), over HTTPS on `consul_tls_https_port`. It
 * reads the agent's own settings, not the CA drover's own calls check against: the CLI trusts the
 * CA file beside the agent's config, so this holds outside playbooks too (`members --prune`).
 */
export function consulCliOptions(
  vars: Vars | undefined,
  container?: string,
): ConsulExecOptions & { container: string } {
  const httpsOnly = vars?.['consul_tls_enable'] === true && vars['consul_tls_http'] === 'off';
  return {
    container: container ?? agentContainerName(vars),
    ...aclTokenOption(vars),
    ...(httpsOnly && { httpsPort: portVar(vars['consul_tls_https_port'], DEFAULT_HTTPS_PORT) }),
  };
}

/** What the task runs, built once from its args and the host's vars. */
interface WantedCli {
  args: ConsulCliArgs;
  call: ConsulCall;
  /** `consul reload in consul`: the summary's words; the whole command is in the registered `cmd`. */
  title: string;
}

/**
 * consul_cli: a consul subcommand in the agent's container (`consul reload`, `consul members`),
 * carrying the session's ACL token when the cluster has ACLs and speaking HTTPS when the agent
 * serves no plain HTTP. Like `command`, it cannot know whether it would change anything: it
 * reports a change and is skipped in check mode (a write step), unless `read_only` says it only
 * reads. Registers cmd, rc, stdout and stderr; a non-zero exit fails the task.
 */
export const consulCliModule: PlannedModule<ConsulCliArgs, WantedCli, Record<string, never>> = {
  kind: 'planned',
  name: 'consul_cli',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['argv'],
    properties: {
      argv: {
        type: 'array',
        minItems: 1,
        // A number: a template of one var (`{{consul_http_port}}`) keeps the var's type.
        items: { type: ['string', 'number'] },
        description: 'The consul subcommand and its words, e.g. [reload].',
      },
      container: { type: 'string', minLength: 1, description: "The agent's container." },
      timeout: secondsSchema('Seconds before the command is abandoned.'),
      read_only: { type: 'boolean', description: 'Only reads: runs in check mode too, never "changed".' },
    },
  },
  async desired(args: ConsulCliArgs, ctx: LocalContext): Promise<WantedCli> {
    const words = args.argv.map((word, i) => {
      // A secret word would sit in the host's process list (docker's argv): refuse it.
      if (isSecret(word)) {
        throw new TaskFailedError(
          `${ctx.host}: consul_cli argv[${i}] is a secret, which would be on the host's command line`,
        );
      }
      return String(word);
    });
    if (words[0] === 'consul') {
      throw new TaskFailedError(
        `${ctx.host}: consul_cli argv is what follows "consul": write [${words.slice(1).join(', ')}]`,
      );
    }
    const options = consulCliOptions(ctx.vars, args.container);
    return {
      args,
      call: cli(words, options),
      title: `consul ${words.join(' ')} in ${options.container}`,
    };
  },
  facts: () => ({}),
  plan({ args, call, title }: WantedCli, _facts, ctx): Change {
    const options = callOptions(call, args.timeout !== undefined ? { timeoutSeconds: args.timeout } : {});
    return commandRunChange(call.cmd, options, {
      readOnly: args.read_only === true,
      check: ctx.check,
      title,
    });
  },
};
