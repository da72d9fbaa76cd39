import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { generateGossipKey } from '../../consul/agent/gossip-key.js';
import { expectedNodesFromInventory } from '../../consul/verify/expected-nodes.js';
import { ConfigError, ExitCode, TaskFailedError, UsageError } from '../../errors.js';
import { loadInventory } from '../../inventory/load.js';
import { PLAYBOOKS_DIR } from '../../paths.js';
import { Secret } from '../../shell/secret.js';
import { confirm } from '../confirm.js';
import { inventoryPath, loadCheckedInventory, type CommonOptions } from '../context.js';
import {
  gossipKeyFile,
  readKeyFile,
  resolveGossipKey,
  rotatingKeyFile,
  writeKeyFile,
} from '../gossip-key-source.js';
import { createOutput, type Output } from '../output.js';
import { membersCommand, type MembersOptions } from './members.js';
import type { PlaybookCommandOptions } from './run-playbook.js';

export const RESET_NODE_PLAYBOOK = join(PLAYBOOKS_DIR, 'consul-reset-node.yaml');
export const ROTATE_KEY_PLAYBOOK = join(PLAYBOOKS_DIR, 'consul-rotate-gossip-key.yaml');
export const PREFLIGHT_PLAYBOOK = join(PLAYBOOKS_DIR, 'consul-preflight.yaml');

type RunOpts = PlaybookCommandOptions & { output: 'text' | 'json' };

export interface Day2Deps {
  withCommon: (cmd: Command) => Command;
  withRun: (cmd: Command) => Command;
  action: (o: RunOpts) => Promise<number>;
  setExit: (code: number) => void;
  signal: AbortSignal;
}

/**
 * The Consul day-2 commands: keygen, rotate-gossip-key, members [--prune], reset-node and
 * preflight. The ones that change hosts are playbooks (playbooks/consul-*.yaml) run by the
 * general engine, under the deploy lock and audit log; flags become extra vars.
 */
export function addDay2Commands(root: Command, deps: Day2Deps): void {
  root
    .command('keygen')
    .description(
      'make a gossip encryption key: print it, or with -i write it beside the inventory (mode 0600)',
    )
    .option(
      '-i, --inventory <file>',
      'write INVENTORY-STEM.gossip.key beside this inventory instead of printing',
    )
    .action(async (o: { inventory?: string }) => {
      deps.setExit(await keygenCommand(o, createOutput(false)));
    });

  deps
    .withRun(
      root
        .command('rotate-gossip-key')
        .description('rotate the gossip key with consul keyring: install, use, remove; no restarts'),
    )
    .action(async (o: RunOpts & { yes?: boolean }) => deps.setExit(await rotateCommand(o, deps)));

  deps
    .withCommon(
      root
        .command('members')
        .description("the inventory against the cluster's members: alive/failed/left/missing, ghosts"),
    )
    .option('--prune', 'force-leave -prune the failed and left ghosts (asks first)')
    .option('-y, --yes', 'do not ask')
    .addOption(outputOption())
    .action(async (o: MembersOptions) => {
      await membersCommand(o, createOutput(o.output === 'json'), deps.signal);
      deps.setExit(ExitCode.ok);
    });

  deps
    .withRun(
      root
        .command('reset-node')
        .description(
          'stop a node, move its data dir aside, force-leave its stale entry, start it, wait until alive',
        )
        .argument('<host>', 'inventory host to reset'),
    )
    .option('--force', 'reset a server even when quorum would not survive it')
    .action(async (host: string, o: RunOpts & { force?: boolean; yes?: boolean }) =>
      deps.setExit(await resetNodeCommand(host, o, deps)),
    );

  deps
    .withRun(
      root
        .command('preflight')
        .description('host pre-flight: docker, image, bind_addr, ports, data dir, disk, clock; read-only'),
    )
    .action(async (o: RunOpts) =>
      deps.setExit(await deps.action({ ...o, playbook: PREFLIGHT_PLAYBOOK, check: true })),
    );
}

const outputOption = (): Option =>
  new Option('-o, --output <format>', 'result format').choices(['text', 'json']).default('text');

/** `drover keygen`: like `consul keygen`; with -i, the key file (never replaced). */
export async function keygenCommand(o: { inventory?: string }, out: Output): Promise<number> {
  const key = new Secret(generateGossipKey());
  if (!o.inventory) {
    // The one place a key is printed: the operator asked for it, like `consul keygen`.
    out.result.write(`${key.reveal()}\n`);
    return ExitCode.ok;
  }
  await loadInventory(o.inventory);
  const file = gossipKeyFile(o.inventory);
  await writeKeyFile(file, key);
  out.result.write(`wrote a new gossip key to ${file} (mode 0600); deploy uses it\n`);
  return ExitCode.ok;
}

/**
 * `drover rotate-gossip-key`: the new key is kept in KEYFILE.rotating first (so a rotation that
 * stops halfway resumes with the same key), then the playbook installs, uses and removes; on
 * success the key file gets the new key. A key from the inventory or DROVER_GOSSIP_KEY cannot be
 * rewritten: the operator is told where the new key is.
 */
async function rotateCommand(o: RunOpts & { yes?: boolean }, deps: Day2Deps): Promise<number> {
  const out = createOutput(o.output === 'json');
  const inventory = await loadCheckedInventory(o, { consul: true, warn: out.warn });
  const current = await resolveGossipKey(inventory, { create: false });
  if (!current.key || current.source === 'new' || current.source === 'cluster') {
    throw new ConfigError([
      {
        file: inventory.file,
        message: `no current gossip key (consul_encrypt, ${'DROVER_GOSSIP_KEY'} or ${gossipKeyFile(inventory.file)}); deploy first`,
      },
    ]);
  }
  const pending = rotatingKeyFile(inventory.file);
  let next = await readKeyFile(pending);
  if (!next) {
    if (
      !(await confirm(`rotate the gossip key of ${inventory.file} (install, use, remove; no restarts)?`, o))
    ) {
      throw new TaskFailedError('not rotated: not confirmed');
    }
    next = new Secret(generateGossipKey());
    await writeKeyFile(pending, next);
  } else out.warn(`resuming the rotation to the key in ${pending}`);
  if (next.reveal() === current.key.reveal())
    throw new UsageError(`${pending} holds the current key; remove it and run again`);
  const nodes = expectedNodesFromInventory(inventory).length;
  const code = await deps.action({
    ...o,
    playbook: ROTATE_KEY_PLAYBOOK,
    extraVars: {
      ...(o.extraVars ?? {}),
      consul_encrypt: current.key,
      consul_encrypt_next: next,
      drover_consul_nodes: nodes,
    },
  });
  if (code !== ExitCode.ok) {
    out.warn(
      `rotation did not finish; the new key stays in ${pending}: run drover rotate-gossip-key again to resume`,
    );
    return code;
  }
  if (current.source === 'file' && current.file) {
    await rename(pending, current.file);
    out.warn(`the new gossip key is in ${current.file}`);
  } else {
    out.warn(
      `rotated. The new key is in ${pending}: put it where the old one came from (${current.source === 'env' ? 'DROVER_GOSSIP_KEY' : 'consul_encrypt in the inventory'}), then delete that file`,
    );
  }
  return code;
}

async function resetNodeCommand(
  host: string,
  o: RunOpts & { force?: boolean; yes?: boolean },
  deps: Day2Deps,
): Promise<number> {
  const out = createOutput(o.output === 'json');
  const inventory = await loadCheckedInventory(o, { consul: true, warn: out.warn });
  const node = expectedNodesFromInventory(inventory).find((n) => n.host === host);
  if (!node)
    throw new UsageError(`reset-node: "${host}" is not a Consul server or client in ${inventoryPath(o)}`);
  if (o.limit) throw new UsageError('reset-node takes one HOST, not --limit');
  const question =
    `reset ${node.role} ${host}: stop its agent, move ${String(inventory.hosts.get(host)?.vars['consul_data_dir'] ?? '/opt/consul/data')} aside (kept), ` +
    `force-leave ${node.nodeName}, start it again?`;
  if (!(await confirm(question, o))) throw new TaskFailedError('not reset: not confirmed');
  const { force, yes: _yes, ...rest } = o;
  return deps.action({
    ...rest,
    limit: host,
    playbook: RESET_NODE_PLAYBOOK,
    extraVars: { ...(o.extraVars ?? {}), drover_reset_force: force === true },
  });
}
