import {
  compareConsulVersions,
  parseConsulVersion,
  versionFromCli,
  versionFromImageRef,
  type ConsulVersion,
} from '../consul/agent/consul-version.js';
import { GateError } from '../errors.js';
import { execStep } from '../remote/step.js';
import { exec } from '../shell/cmd.js';
import type { ConversationContext, ConversationModule, Outcome } from './module.js';

export interface ConsulImageVersionArgs {
  /** The image the agent is to run. */
  image: string;
  /** The agent's container; default consul. */
  container?: string;
  /** Go on with an image older than the running agent (`--force`). */
  allow_downgrade?: boolean;
}

/** The image would take a running agent back to an older Consul. Exit 5; nothing was touched. */
export class DowngradeRefusedError extends GateError {}

/**
 * Everything the check reads, in one read-only call: the running container's state, the Consul
 * version its agent reports (`consul version` inside it needs no token), and the image's
 * `version` label when the image is on the host. Arguments are positional, never spliced.
 */
const PROBE = [
  'c=$1 img=$2',
  't=; command -v timeout >/dev/null 2>&1 && t="timeout 20"',
  `if [ "$($t docker inspect -f '{{.State.Status}}' "$c" 2>/dev/null)" = running ]; then`,
  '  echo "running:$($t docker exec "$c" consul version 2>/dev/null | head -n 1)"',
  'fi',
  `echo "label:$($t docker image inspect -f '{{index .Config.Labels "version"}}' "$img" 2>/dev/null)"`,
].join('\n');

/**
 * consul_image_version: refuses an image older than the Consul the running agent reports, before
 * anything is written. A deploy whose inventory still names the image an upgrade replaced
 * would otherwise roll the cluster back in place, which Consul does not support: it promises
 * only that a release reads what the one before it wrote, and an older server may panic on a
 * newer raft log or snapshot (docs/research/consul-snapshots-upgrades-maintenance.md §4). The
 * image's version is its `version` label when it is on the host, else the release its tag
 * names; an image whose version cannot be told (a floating tag not pulled yet, a digest) is
 * let through and said so. Read-only, so `plan` shows the refusal as `deploy` would.
 */
export const consulImageVersionModule: ConversationModule<ConsulImageVersionArgs> = {
  kind: 'conversation',
  name: 'consul_image_version',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['image'],
    properties: {
      image: { type: 'string', minLength: 1, description: 'The image the agent is to run.' },
      container: { type: 'string', minLength: 1, description: 'Container name; default consul.' },
      allow_downgrade: {
        type: 'boolean',
        description: 'Go on with an image older than the running agent (--force).',
      },
    },
  },
  async run(args: ConsulImageVersionArgs, ctx: ConversationContext): Promise<Outcome> {
    const cmd = exec('sh', '-c', PROBE, 'sh', args.container ?? 'consul', args.image);
    const r = await ctx.steps.run(execStep('read', cmd, { timeoutSeconds: 60 }));
    const line = (prefix: string) =>
      r.stdout
        .split('\n')
        .find((l) => l.startsWith(prefix))
        ?.slice(prefix.length);
    const runningLine = line('running:');
    if (runningLine === undefined) return { changed: false, summary: 'no running agent' };
    const running = versionFromCli(runningLine);
    const target = parseConsulVersion(line('label:') ?? '') ?? versionFromImageRef(args.image);
    const data = { running: running?.text ?? null, image: target?.text ?? null };
    if (!running || !target) {
      const unknown = !running
        ? 'the running agent did not say its version'
        : `${args.image} names no version`;
      return { changed: false, summary: `cannot compare versions: ${unknown}`, data };
    }
    const order = compareConsulVersions(target, running);
    if (order >= 0) return { changed: false, summary: describe(running, target, order), data };
    const refusal =
      `${ctx.steps.host}: ${args.image} is Consul ${target.text}, older than the ${running.text} this agent runs. ` +
      'Consul does not support going back in place (an older server may not read what a newer one wrote); ' +
      'to keep the running version, set consul_image to the image that runs it; to go back, restore a snapshot taken before the upgrade into agents on the old image';
    if (!args.allow_downgrade)
      throw new DowngradeRefusedError(`${refusal}. Nothing was touched; --force goes back in place anyway`);
    return { changed: false, summary: `forced: ${refusal}`, data };
  },
};

const describe = (running: ConsulVersion, target: ConsulVersion, order: number): string =>
  order === 0 ? `Consul ${running.text}, as running` : `Consul ${running.text} -> ${target.text}`;
