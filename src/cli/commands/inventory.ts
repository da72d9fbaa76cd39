import { inventoryGraph, inventoryList } from '../../inventory/show.js';
import { loadCheckedInventory, type CommonOptions } from '../context.js';
import type { Output } from '../output.js';

/** `drover inventory --list|--graph`: the resolved inventory, secrets redacted; touches no host. */
export async function inventoryCommand(o: CommonOptions & { graph?: boolean }, out: Output): Promise<void> {
  const inventory = await loadCheckedInventory(o, { consul: false, warn: out.warn });
  if (o.graph) out.result.write(`${inventoryGraph(inventory)}\n`);
  else out.result.write(`${JSON.stringify(inventoryList(inventory), null, 2)}\n`);
}
