import type { Vars } from '../../inventory/types.js';

/** The agent's container on a host: its `consul_container_name`, else `consul` (the playbooks' default). */
export function agentContainerName(vars: Vars | undefined): string {
  const name = vars?.['consul_container_name'];
  return typeof name === 'string' && name !== '' ? name : 'consul';
}
