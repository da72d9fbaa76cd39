import type { Command } from 'commander';
import { loadCheckedInventory } from '../../app/load-checked-inventory.js';
import { ExitCode } from '../../errors.js';
import { inventoryGraph, inventoryList } from '../../inventory/show.js';
import { inventoryOption, type Cli } from '../cli.js';
import { createOutput } from '../io.js';
import { inventoryPaths, type CommonOptions } from '../options.js';

/** `drover inventory --list|--graph`: the resolved inventory, secrets redacted; touches no host. */
export function addInventoryCommand(root: Command, cli: Cli): void {
  root
    .command('inventory')
    .description('print the resolved inventory (secrets redacted)')
    .addOption(inventoryOption())
    .option('--list', "hosts, groups and every host's vars as JSON (default)")
    .option('--graph', 'the group tree')
    .action(async (o: CommonOptions & { graph?: boolean }) => {
      const out = createOutput(cli.io, false);
      const inventory = await loadCheckedInventory(inventoryPaths(o, cli.io), {
        consul: false,
        warn: out.warn,
      });
      if (o.graph) out.result.write(`${inventoryGraph(inventory)}\n`);
      else out.result.write(`${JSON.stringify(inventoryList(inventory), null, 2)}\n`);
      cli.setExit(ExitCode.ok);
    });
}
