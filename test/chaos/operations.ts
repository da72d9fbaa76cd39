/**
 * The operations a chaos run puts under a fault, each as an operator would type it, from a
 * freshly deployed baseline cluster (or bare hosts, for a first deploy): the inventory vars it
 * changes, the command line, and the playbook whose tasks give the run its moments.
 */
import { CONSUL_IMAGE_NEXT, type LabHost } from '../lab/lab.js';
import type { Operation } from './scenario.js';

export interface OperationSpec {
  /** Vars set over the baseline inventory, for the operation and the healing deploy after it. */
  vars: Record<string, string | number | boolean>;
  /** drover's arguments after `-i INVENTORY`. */
  args: string[];
  playbook: string;
  /** The host the command names (reset-node). */
  host?: string;
}

/**
 * The gates' timeouts for the campaign: shorter than the playbooks' defaults (300 s, 120 s) so a
 * server kept down for a whole run costs minutes, not tens of minutes; same behaviour otherwise.
 */
const GATE_TIMEOUTS = ['-e', 'consul_server_gate_timeout=90', '-e', 'consul_client_gate_timeout=60'];

export function operationSpec(op: Operation, hosts: readonly LabHost[], hostPick: number): OperationSpec {
  const roll = (playbook: string, args: string[], vars = {}): OperationSpec => ({
    vars,
    args: [...args, '-y', ...GATE_TIMEOUTS],
    playbook: `playbooks/${playbook}`,
  });
  switch (op) {
    case 'first-deploy':
      return roll('consul-deploy.yaml', ['deploy']);
    case 'deploy-restart-change':
      return roll('consul-deploy.yaml', ['deploy'], { consul_retry_interval: '3s' });
    case 'deploy-reload-change':
      return roll('consul-deploy.yaml', ['deploy'], { consul_log_level: 'debug' });
    case 'restart':
      return roll('consul-rolling-restart.yaml', ['restart']);
    case 'upgrade':
      return roll('consul-upgrade.yaml', ['upgrade', '--image', CONSUL_IMAGE_NEXT], {
        consul_image: CONSUL_IMAGE_NEXT,
      });
    case 'reset-node': {
      const host = (hosts[hostPick % hosts.length] as LabHost).name;
      return { ...roll('consul-reset-node.yaml', ['reset-node', host]), host };
    }
    case 'rotate-gossip-key':
      return roll('consul-rotate-gossip-key.yaml', ['rotate-gossip-key']);
    case 'snapshot':
      return { vars: {}, args: ['snapshot', 'save', '-y'], playbook: 'playbooks/consul-snapshot-save.yaml' };
    case 'rotate-tls':
      return roll('consul-rotate-tls.yaml', ['rotate-tls']);
  }
}
