import type { Command } from 'commander';
import { gossipKeyFile, writeKeyFile } from '../../app/gossip-key-source.js';
import { loadCheckedInventory } from '../../app/load-checked-inventory.js';
import { PLAYBOOKS } from '../../app/playbooks.js';
import { resetNodeTarget } from '../../app/reset-node.js';
import { rotateCa } from '../../app/rotate-tls-ca.js';
import { Session } from '../../app/session.js';
import { tlsWanted } from '../../app/tls-material-source.js';
import { finishRotation, prepareRotation } from '../../app/rotate-gossip-key.js';
import { generateGossipKey } from '../../consul/agent/gossip-key.js';
import { ExitCode, TaskFailedError, UsageError } from '../../errors.js';
import { loadInventory } from '../../inventory/load.js';
import { Secret } from '../../shell/secret.js';
import { confirm } from '../confirm.js';
import { withRun, type Cli } from '../cli.js';
import { createOutput } from '../io.js';
import { inventoryPath, sessionOptions } from '../options.js';
import { addMembersCommand } from './members.js';
import { runPlaybookFlags, type RunFlags } from './playbook.js';

/**
 * The Consul day-2 commands: keygen, rotate-gossip-key, rotate-tls, members, reset-node and
 * preflight.
 * The ones that change hosts are playbooks (playbooks/consul-*.yaml) run by the general engine,
 * under the deploy lock and audit log; flags become extra vars.
 */
export function addDay2Commands(root: Command, cli: Cli): void {
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
      const out = createOutput(cli.io, false);
      const key = new Secret(generateGossipKey());
      if (!o.inventory) {
        // The one place a key is printed: the operator asked for it, like `consul keygen`.
        out.result.write(`${key.reveal()}\n`);
      } else {
        await loadInventory(o.inventory);
        const file = gossipKeyFile(o.inventory);
        await writeKeyFile(file, key);
        out.result.write(`wrote a new gossip key to ${file} (mode 0600); deploy uses it\n`);
      }
      cli.setExit(ExitCode.ok);
    });

  withRun(
    root
      .command('rotate-gossip-key')
      .description('rotate the gossip key with consul keyring: install, use, remove; no restarts'),
  ).action(async (o: RunFlags) => {
    const { out, inventory } = await consulInventory(cli, o);
    const rotation = await prepareRotation(inventory, {
      ask: (question) => confirm(question, o, cli.io),
      warn: out.warn,
    });
    const code = await runPlaybookFlags(cli, o, {
      playbook: PLAYBOOKS.rotateGossipKey,
      extraVars: rotation.extraVars,
    });
    await finishRotation(rotation, code === ExitCode.ok, out.warn);
    cli.setExit(code);
  });

  withRun(
    root
      .command('rotate-tls')
      .description(
        "renew every server's TLS certificate now (new key, the inventory's CA), one server at a time, by reload",
      ),
  )
    .option(
      '--ca',
      'replace the CA itself: trust both, issue from the new one, drop the old one; reloads only',
    )
    .action(async (o: RunFlags & { ca?: boolean }) => {
      const { inventory, out } = await consulInventory(cli, o);
      if (o.ca && o.limit)
        throw new UsageError('rotate-tls --ca: a new CA must reach every agent; --limit is refused');
      const code = await Session.with(sessionOptions(o, cli.io, cli.argv), async (session) => {
        // Where the inventory leaves TLS to drover, the servers say whether it is on.
        if (!tlsWanted(await session.load({ consul: true })))
          throw new UsageError(
            'rotate-tls: TLS is off in this inventory (consul_tls_enable: true turns it on)',
          );
        const run = (renewBefore: Date) =>
          runPlaybookFlags(
            cli,
            o,
            {
              playbook: PLAYBOOKS.rotateTls,
              extraVars: { drover_tls_renew_before: renewBefore.toISOString() },
            },
            session,
          );
        if (o.ca) {
          return rotateCa({
            inventory,
            ask: (question) => confirm(question, o, cli.io),
            warn: out.warn,
            // The epoch: the step's trust and issuer alone decide which certificates are replaced.
            runStep: () => run(new Date(0)),
          });
        }
        const question = "Renew every server's TLS certificate now (a new key each, by reload)?";
        if (!(await confirm(question, o, cli.io))) throw new TaskFailedError('not renewed: not confirmed');
        // Its own start: what was issued before is renewed, so a run that stopped halfway runs again.
        return run(new Date());
      });
      cli.setExit(code);
    });

  addMembersCommand(root, cli);

  withRun(
    root
      .command('reset-node')
      .description(
        'stop a node, move its data dir aside, force-leave its stale entry, start it, wait until alive',
      )
      .argument('<host>', 'inventory host to reset'),
  )
    .option('--force', 'reset a server even when quorum would not survive it, or onto an older image')
    .action(async (host: string, o: RunFlags & { force?: boolean }) => {
      const { inventory, inventoryFile } = await consulInventory(cli, o);
      const { question } = resetNodeTarget(inventory, host, { limit: o.limit, inventoryFile });
      if (!(await confirm(question, o, cli.io))) throw new TaskFailedError('not reset: not confirmed');
      cli.setExit(
        await runPlaybookFlags(
          cli,
          { ...o, limit: host },
          { playbook: PLAYBOOKS.resetNode, extraVars: { drover_reset_force: o.force === true } },
        ),
      );
    });

  withRun(
    root
      .command('preflight')
      .description('host pre-flight: docker, image, bind_addr, ports, data dir, disk, clock; read-only'),
  ).action(async (o: RunFlags) =>
    cli.setExit(await runPlaybookFlags(cli, { ...o, check: true }, { playbook: PLAYBOOKS.preflight })),
  );
}

/** The checked Consul inventory a day-2 command works on (with `--limit`), and its output. */
async function consulInventory(cli: Cli, o: RunFlags) {
  const out = createOutput(cli.io, o.output === 'json');
  const inventoryFile = inventoryPath(o, cli.io);
  const inventory = await loadCheckedInventory(inventoryFile, {
    consul: true,
    limit: o.limit,
    warn: out.warn,
  });
  return { out, inventory, inventoryFile };
}
