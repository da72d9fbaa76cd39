import { hostClock, hostProbe } from '../remote/host-probe.js';
import { judgeHostProbe, parseHostProbe, type PreflightCheck } from '../consul/agent/host-preflight.js';
import { GateError, TaskFailedError } from '../errors.js';
import { execStep } from '../remote/step.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';
import { absolutePathSchema, secondsSchema } from './schema-parts.js';

export interface ConsulHostPreflightArgs {
  bind_addr: string;
  image: string;
  data_dir: string;
  container?: string;
  /** client_addr as in the agent config: space-separated addresses. */
  client_addr?: string;
  ports?: number[];
  min_free_mb?: number;
  max_clock_skew?: number;
  /** Look the image up locally, then in its registry; default true. */
  check_image?: boolean;
}

/** Some host is not fit to run the agent; nothing was touched. Exit 5. */
export class HostPreflightError extends GateError {}

export const CONSUL_PORTS = [8300, 8301, 8302, 8500, 8600] as const;

/**
 * consul_host_preflight: before deploy touches a host, checks that it can run the agent: docker
 * present and its daemon answering, the image present or found in its registry, bind_addr on one
 * of the host's interfaces (a Docker host has docker0 too, so Consul's default refuses to start),
 * Consul's ports free or held by our own running container, the data dir on persistent storage
 * with free space, and the host clock within a few seconds of this machine's. Two read-only SSH
 * calls per host (the probe, then the clock alone); every failed check is listed.
 */
export const consulHostPreflightModule: ConversationModule<ConsulHostPreflightArgs> = {
  kind: 'conversation',
  name: 'consul_host_preflight',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['bind_addr', 'image', 'data_dir'],
    properties: {
      bind_addr: { type: 'string', minLength: 1, description: "The agent's bind_addr." },
      image: { type: 'string', minLength: 1, description: 'The image the agent will run.' },
      data_dir: absolutePathSchema,
      container: { type: 'string', minLength: 1, description: 'Container name; default consul.' },
      client_addr: { type: 'string', description: 'client_addr (space-separated); default "127.0.0.1".' },
      ports: {
        type: 'array',
        items: { type: 'integer', minimum: 1, maximum: 65535 },
        description: 'Ports that must be free; default 8300 8301 8302 8500 8600.',
      },
      min_free_mb: {
        type: 'number',
        minimum: 0,
        description: 'Least free MiB for the data dir; default 1024.',
      },
      max_clock_skew: secondsSchema('Seconds; default 2.'),
      check_image: { type: 'boolean', description: 'Look the image up; default true.' },
    },
  },
  async run(args: ConsulHostPreflightArgs, ctx: ConversationContext): Promise<Outcome> {
    const cmd = hostProbe({
      container: args.container ?? 'consul',
      image: args.image,
      dataDir: args.data_dir,
      checkImage: args.check_image !== false,
    });
    const result = await ctx.steps.run(execStep('read', cmd, { timeoutSeconds: 90 }));
    const before = ctx.clock.now();
    const clock = await ctx.steps.run(execStep('read', hostClock(), { timeoutSeconds: 30 }));
    const after = ctx.clock.now();
    if (result.code !== 0) {
      throw new TaskFailedError(
        `${ctx.steps.host}: the host probe failed (exit ${result.code}): ${result.stderr.trim().slice(-300)}`,
      );
    }
    const checks = judgeHostProbe(
      parseHostProbe(`${result.stdout}\n${clock.code === 0 ? clock.stdout : ''}`),
      {
        bindAddr: args.bind_addr,
        clientAddrs: (args.client_addr ?? '127.0.0.1').split(/\s+/).filter(Boolean),
        ports: args.ports ?? CONSUL_PORTS,
        minFreeMb: args.min_free_mb ?? 1024,
        maxClockSkewSeconds: args.max_clock_skew ?? 2,
        controlTimeMs: before,
        controlEndMs: after,
      },
    );
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      throw new HostPreflightError(
        `${ctx.steps.host}: host pre-flight failed (nothing was touched):\n${failed.map((c) => `  - ${c.name}: ${c.detail}`).join('\n')}`,
      );
    }
    const warnings = checks.filter((c) => c.warning);
    return {
      changed: false,
      summary: `host pre-flight OK: ${line(checks)}${warnings.length ? `; warnings: ${warnings.map((w) => w.detail).join('; ')}` : ''}`,
      data: { checks },
    };
  },
};

const line = (checks: readonly PreflightCheck[]): string =>
  checks.map((c) => `${c.name} ${c.detail}`).join('; ');
