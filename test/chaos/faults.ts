/**
 * A host fault of the lab (test/lab/fault.sh) and the action that heals it. Every fault here
 * is one a production host meets: a partition at the switch, a cut between two servers, a link
 * down, sshd or dockerd killed, the whole host frozen (a VM paused, a kernel stall) or crashed
 * and booted again on the same disk.
 */
import { fault, type FaultAction } from '../lab/lab.js';
import type { HostFault } from './scenario.js';

const HEAL: Record<HostFault, FaultAction> = {
  partition: 'heal',
  cut: 'uncut',
  'link-down': 'link-up',
  'sshd-kill': 'sshd-start',
  'dockerd-kill': 'dockerd-start',
  freeze: 'thaw',
  crash: 'boot',
};

export interface ActiveFault {
  hosts: string[];
  heal(): Promise<void>;
}

/** Injects `kind` on `host` (a cut: between `host` and `other`); heal() undoes it once. */
export async function inject(kind: HostFault, host: string, other?: string): Promise<ActiveFault> {
  const pair = kind === 'cut' ? other : undefined;
  await fault(kind, host, pair);
  let healing: Promise<void> | undefined;
  return {
    hosts: pair ? [host, pair] : [host],
    heal: () => (healing ??= fault(HEAL[kind], host, pair)),
  };
}
