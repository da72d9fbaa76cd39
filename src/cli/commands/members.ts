import { ConsulApi } from '../../consul/api/api.js';
import { portVar } from '../../consul/gates/gate-agents.js';
import { expectedNodesFromInventory } from '../../consul/verify/expected-nodes.js';
import { formatMembership, reconcileMembers, type MembershipReport } from '../../consul/verify/membership.js';
import { forceLeave } from '../../remote/consul.js';
import { CommandFailedError, TaskFailedError, UnreachableError } from '../../errors.js';
import type { Inventory } from '../../inventory/types.js';
import { render } from '../../shell/cmd.js';
import { confirm } from '../confirm.js';
import { Connections } from '../connections.js';
import { connectionDefaults, loadCheckedInventory, type CommonOptions } from '../context.js';
import { DeployLock } from '../deploy-lock.js';
import type { Output } from '../output.js';
import { commandLine } from './run-playbook.js';

export interface MembersOptions extends CommonOptions {
  prune?: boolean;
  yes?: boolean;
  output?: 'text' | 'json';
}

/**
 * `drover members`: the inventory against the member list a server reports (each node alive,
 * failed, left or missing; ghosts). `--prune` force-leaves the prunable ghosts with
 * `consul force-leave -prune` on that server, after confirmation and under the deploy lock.
 * Fails (exit 2) while anything is off, so CI can gate on it.
 */
export async function membersCommand(
  o: MembersOptions,
  out: Output,
  signal: AbortSignal,
): Promise<MembershipReport> {
  const inventory = await loadCheckedInventory(o, { consul: true, warn: out.warn });
  const connections = new Connections(inventory, connectionDefaults(o));
  let lock: DeployLock | undefined;
  try {
    let { report, server } = await observe(inventory, connections);
    const prunable = report.ghosts.filter((g) => g.prunable);
    if (o.prune && prunable.length > 0) {
      out.progress.write(`${formatMembership(report)}\n\n`);
      const names = prunable.map((g) => `${g.name} (${g.address}, ${g.status})`).join(', ');
      if (!(await confirm(`force-leave -prune ${prunable.length} ghost(s): ${names}?`, o))) {
        throw new TaskFailedError('not pruned: not confirmed');
      }
      lock = new DeployLock(inventory, connections);
      await lock.acquire({ command: commandLine(), waitSeconds: 0, secrets: [], signal, onWait: out.warn });
      const t = await connections.get(server);
      for (const g of prunable) {
        const cmd = forceLeave(g.name, { prune: true }, { container: containerOf(inventory, server) });
        const r = await t.exec(cmd, { timeoutSeconds: 30 });
        if (r.code !== 0)
          throw new CommandFailedError(server, render(cmd, { redact: true }), r.code, r.stdout, r.stderr);
        out.progress.write(`pruned ${g.name} (${g.address}) via ${server}\n`);
      }
      // Serf spreads the prune by gossip; read again until the ghosts are gone (bounded).
      const gone = new Set(prunable.map((g) => g.name));
      for (let i = 0; i < 20; i++) {
        ({ report, server } = await observe(inventory, connections));
        if (!report.ghosts.some((g) => gone.has(g.name))) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    if (o.output === 'json') out.result.write(`${JSON.stringify(report, null, 2)}\n`);
    else out.result.write(`${formatMembership(report)}\n`);
    if (!report.ok) {
      const hint =
        report.ghosts.some((g) => g.prunable) && !o.prune
          ? ' (drover members --prune removes the prunable ghosts)'
          : '';
      throw new TaskFailedError(
        `membership: ${report.problems.length} problem(s)${hint}:\n  ${report.problems.join('\n  ')}`,
      );
    }
    return report;
  } finally {
    await lock
      ?.release()
      .catch((err: unknown) => out.warn(`warning: deploy lock not released: ${String(err)}`));
    await connections.closeAll();
  }
}

const containerOf = (inventory: Inventory, host: string): string => {
  const v = inventory.hosts.get(host)?.vars['consul_container_name'];
  return typeof v === 'string' && v !== '' ? v : 'consul';
};

/** The member list from the first server whose agent answers, through its own SSH connection. */
async function observe(
  inventory: Inventory,
  connections: Connections,
): Promise<{ report: MembershipReport; server: string }> {
  const nodes = expectedNodesFromInventory(inventory);
  const errors: string[] = [];
  for (const s of nodes.filter((n) => n.role === 'server')) {
    try {
      const t = await connections.get(s.host);
      const api = new ConsulApi(t, { port: portVar(inventory.hosts.get(s.host)?.vars['consul_http_port']) });
      const members = await api.members();
      const entries = members.map((m) => ({ name: m.name, address: m.addr, status: m.status, role: m.role }));
      return { report: reconcileMembers(nodes, entries, `${s.host}'s agent`), server: s.host };
    } catch (err) {
      errors.push(`${s.host}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new UnreachableError('servers', `no server agent answered:\n  ${errors.join('\n  ')}`);
}
