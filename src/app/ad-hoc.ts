import { agentContainerName } from '../consul/agent/container-name.js';
import { UnreachableError, UsageError } from '../errors.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Inventory } from '../inventory/types.js';
import { consulCliOptions } from '../modules/consul-cli.js';
import { callOptions, cli } from '../remote/consul.js';
import { execIn } from '../remote/docker.js';
import { execStep, type StepRunner } from '../remote/step.js';
import { exec, render, type Cmd } from '../shell/cmd.js';
import { redactText } from '../shell/secret.js';
import type { ExecOptions } from '../ssh/transport.js';
import { Semaphore } from '../util/limit.js';
import { scrubHostOutput, secretsToScrub } from './output-secrets.js';
import type { Session } from './session.js';

/** One host's answer to an ad-hoc command. */
export type AdHocResult =
  | { host: string; rc: number | null; stdout: string; stderr: string }
  /** The command did not run to its end: the host could not be reached, or it timed out. */
  | { host: string; error: string; unreachable: boolean };

export interface AdHocOptions {
  /** Inventory host pattern (as --limit takes), narrowed by the session's --limit. */
  pattern: string;
  /** The command's words, run as they are (no shell: `sh -c '...'` for pipes). */
  argv: readonly string[];
  /** In the Consul agent's container (`docker exec`); `consul ...` gets the ACL token on stdin. */
  container: boolean;
  /** The operator says it changes the hosts: under the deploy lock, with an audit line per host. */
  changes: boolean;
  timeoutSeconds: number;
  forks: number;
  /** Called with each host's result as soon as it has one. */
  onResult: (r: AdHocResult) => void;
}

/**
 * `drover exec`: one command on every host of a pattern at once (at most `forks`), over the
 * session's strict SSH, each host's output kept whole and scrubbed of every secret drover
 * knows of (output-secrets.ts). Read-only by default (the executor then refuses nothing but says it reads);
 * `changes` takes the deploy lock and gives every host it ran on an audit line naming the command.
 */
export async function runAdHoc(session: Session, o: AdHocOptions): Promise<AdHocResult[]> {
  if (o.argv.length === 0) throw new UsageError('exec: give the command after --, e.g. -- uptime');
  const inventory = await session.load({ consul: o.container });
  const hosts = targets(inventory, o.pattern, session.hosts());
  const secrets = await secretsToScrub(inventory);
  const slots = new Semaphore(o.forks);
  const runOn = async (host: string, steps: (host: string) => Promise<StepRunner>): Promise<AdHocResult> => {
    const { cmd, options } = commandFor(inventory, host, o);
    try {
      const r = await (await steps(host)).run(execStep(o.changes ? 'write' : 'read', cmd, options));
      return {
        host,
        rc: r.code,
        stdout: scrubHostOutput(r.stdout, secrets),
        stderr: scrubHostOutput(r.stderr, secrets),
      };
    } catch (err) {
      const message = redactText(err instanceof Error ? err.message : String(err), secrets);
      return { host, error: message, unreachable: err instanceof UnreachableError };
    }
  };
  const all = (steps: Parameters<typeof runOn>[1], after?: (r: AdHocResult) => void) =>
    Promise.all(
      hosts.map((h) =>
        slots.run(async () => {
          const r = await runOn(h, steps);
          after?.(r);
          o.onResult(r);
          return r;
        }),
      ),
    );
  if (!o.changes) return all((h) => session.reader(h));
  return session.mutate((m) =>
    all(
      (h) => m.steps(h),
      (r) => {
        if ('rc' in r) m.changed(r.host, `exec: ${shownCommand(o)}`);
      },
    ),
  );
}

/** The command as the audit line and messages show it (no secret can be in it: it came from argv). */
export const shownCommand = (o: Pick<AdHocOptions, 'argv' | 'container'>): string =>
  `${o.container ? '(in the agent container) ' : ''}${render(exec(...o.argv), { redact: true })}`;

function targets(inventory: Inventory, pattern: string, limited: readonly string[]): string[] {
  const chosen = selectHosts(inventory, pattern);
  const hosts = [...chosen].filter((h) => limited.includes(h));
  if (hosts.length === 0)
    throw new UsageError(
      `exec: "${pattern}" matches no host${limited.length < inventory.hosts.size ? ' within --limit' : ''}`,
    );
  return hosts;
}

function commandFor(inventory: Inventory, host: string, o: AdHocOptions): { cmd: Cmd; options: ExecOptions } {
  const timeout = { timeoutSeconds: o.timeoutSeconds };
  if (!o.container) return { cmd: exec(...o.argv), options: timeout };
  const vars = inventory.hosts.get(host)?.vars;
  if (o.argv[0] === 'consul') {
    const call = cli(o.argv.slice(1), consulCliOptions(vars));
    return { cmd: call.cmd, options: callOptions(call, timeout) };
  }
  return { cmd: execIn(agentContainerName(vars), o.argv), options: timeout };
}
