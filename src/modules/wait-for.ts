import { tcpCheck } from '../remote/net.js';
import { execStep, httpStep } from '../remote/step.js';
import { InterruptedError, TaskFailedError } from '../errors.js';
import { exec } from '../shell/cmd.js';
import { redactText } from '../shell/secret.js';
import { poll } from '../util/poll.js';
import type { ConversationContext, ConversationModule, ModuleData, Outcome } from './module.js';
import { secondsSchema } from './schema-parts.js';

export type WaitForArgs = {
  port: number;
  /** Address as seen from the target host; default 127.0.0.1. */
  host?: string;
  /** Wait for an HTTP answer on this path instead of an open port. */
  http_path?: string;
  /** HTTP status that counts as ready; default 200. */
  status?: number;
  /** Seconds to keep trying. */
  timeout: number;
  /** Seconds to wait before the first try. */
  delay?: number;
  /** Seconds between tries; default 1. */
  interval?: number;
  /**
   * A read-only command (argv) whose last lines a timeout shows, e.g. the service's logs: what a
   * person runs next when it does not come up.
   */
  diagnose?: string[];
};

/** Lines of `diagnose` output a timeout shows. */
const DIAGNOSE_LINES = 15;

/** Longest single probe, so one hung connection cannot eat the whole budget. */
const PROBE_TIMEOUT_SECONDS = 5;

/**
 * Waits until a port accepts connections (checked on the host) or an HTTP endpoint answers with
 * the wanted status (through the SSH connection). It only reads, so it also runs in check mode.
 * The loop is bounded in time and in count.
 */
export const waitForModule: ConversationModule<WaitForArgs> = {
  kind: 'conversation',
  name: 'wait_for',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['port', 'timeout'],
    properties: {
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      host: {
        type: 'string',
        minLength: 1,
        description: 'Address as seen from the target; default 127.0.0.1.',
      },
      http_path: {
        type: 'string',
        pattern: '^/',
        description: 'Wait for HTTP on this path, not just the port.',
      },
      status: {
        type: 'integer',
        minimum: 100,
        maximum: 599,
        description: 'HTTP status that means ready; default 200.',
      },
      timeout: secondsSchema('Seconds to keep trying.', 3600),
      delay: { type: 'number', minimum: 0, maximum: 3600, description: 'Seconds before the first try.' },
      interval: secondsSchema('Seconds between tries; default 1.', 600),
      diagnose: {
        type: 'array',
        minItems: 1,
        items: { type: 'string' },
        description: 'Read-only command whose last lines a timeout shows (e.g. the logs).',
      },
    },
  },
  async run(args: WaitForArgs, ctx: ConversationContext): Promise<Outcome> {
    const host = args.host ?? '127.0.0.1';
    const target = args.http_path
      ? `http://${host}:${args.port}${args.http_path} to answer ${args.status ?? 200}`
      : `port ${host}:${args.port} to accept connections`;
    return {
      changed: false,
      summary: `wait for ${target}`,
      data: await waitUntilReady(args, host, target, ctx),
    };
  },
};

async function waitUntilReady(
  args: WaitForArgs,
  host: string,
  target: string,
  ctx: ConversationContext,
): Promise<ModuleData> {
  const outcome = await poll(
    (secondsLeft) => probe(args, host, Math.min(PROBE_TIMEOUT_SECONDS, secondsLeft), ctx),
    (answer) => (answer === 'ready' ? 'done' : 'again'),
    {
      timeoutSeconds: args.timeout,
      intervalSeconds: args.interval ?? 1,
      delaySeconds: args.delay ?? 0,
      clock: ctx.clock,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      interrupted: (cause) => new InterruptedError(`${ctx.steps.host}: wait_for interrupted`, { cause }),
    },
  );
  if (outcome.verdict === 'done') {
    return { elapsed_seconds: outcome.elapsedSeconds, attempts: outcome.attempts };
  }
  throw new TaskFailedError(
    `${ctx.steps.host}: timed out after ${args.timeout}s waiting for ${target} (last: ${outcome.last})` +
      (args.diagnose ? await diagnosis(args.diagnose, ctx) : ''),
  );
}

/** The last lines `argv` prints (stdout and stderr: docker logs writes both), redacted. */
async function diagnosis(argv: string[], ctx: ConversationContext): Promise<string> {
  const shown = argv.join(' ');
  try {
    const r = await ctx.steps.run(
      execStep('read', exec(...argv), { timeoutSeconds: PROBE_TIMEOUT_SECONDS * 2 }),
    );
    const lines = redactText(`${r.stdout}${r.stderr}`, ctx.secrets())
      .trimEnd()
      .split('\n')
      .slice(-DIAGNOSE_LINES);
    return `\nlast lines of \`${shown}\`:\n${lines.map((l) => `  ${l}`).join('\n')}`;
  } catch (err) {
    return `\n(\`${shown}\` failed: ${err instanceof Error ? err.message : String(err)})`;
  }
}

/** One try: 'ready', or why not. Connection errors are expected while a service starts. */
async function probe(
  args: WaitForArgs,
  host: string,
  timeoutSeconds: number,
  ctx: ConversationContext,
): Promise<string> {
  try {
    if (args.http_path) {
      const res = await ctx.steps.run(
        httpStep({ host, port: args.port, path: args.http_path, timeoutSeconds }),
      );
      return res.status === (args.status ?? 200) ? 'ready' : `HTTP ${res.status}`;
    }
    const res = await ctx.steps.run(execStep('read', tcpCheck(host, args.port), { timeoutSeconds }));
    return res.code === 0 ? 'ready' : 'connection refused';
  } catch (err) {
    return err instanceof Error ? (err.message.split('\n')[0] ?? 'error') : String(err);
  }
}
