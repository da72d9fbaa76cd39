import { expectedNodesFromInventory } from '../consul/verify/expected-nodes.js';
import { UsageError, UnreachableError } from '../errors.js';
import { containerState } from '../facts/container-state.js';
import { factStep } from '../facts/fact.js';
import { REPLACED_IMAGE_LABEL } from '../modules/docker-container.js';
import type { Session } from './session.js';

export interface RollbackTarget {
  /** The image every agent runs now. */
  from: string;
  /** The image the last change of image replaced, as the containers' labels say. */
  to: string;
}

/**
 * Where `drover rollback` goes, from the hosts themselves: each agent's container says which
 * image it runs and which one it replaced (the `drover.replaced-image` label docker_container
 * sets when it recreates a container on another image). Every agent of the inventory must agree
 * on both; otherwise the cluster is not in the state one upgrade left, and the operator picks
 * the image (`drover upgrade --image ... --force`).
 */
export async function rollbackTarget(session: Session): Promise<RollbackTarget> {
  const inventory = await session.load({ consul: true });
  const nodes = expectedNodesFromInventory(inventory);
  const seen = await Promise.all(
    nodes.map(async (n) => {
      const vars = inventory.hosts.get(n.host)?.vars ?? {};
      const name =
        typeof vars['consul_container_name'] === 'string' ? vars['consul_container_name'] : 'consul';
      try {
        const c = await (await session.reader(n.host)).run(factStep(containerState(name)));
        return {
          host: n.host,
          running: c.exists ? c.image : '(no container)',
          replaced: c.exists ? c.labels[REPLACED_IMAGE_LABEL] : undefined,
        };
      } catch (err) {
        throw new UnreachableError(
          n.host,
          `cannot read its agent's container: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
    }),
  );
  const running = new Set(seen.map((s) => s.running));
  const replaced = new Set(seen.map((s) => s.replaced ?? '(none)'));
  const byHost = (key: 'running' | 'replaced') =>
    seen.map((s) => `${s.host}: ${s[key] ?? '(none)'}`).join(', ');
  if (running.size !== 1)
    throw new UsageError(
      `rollback: the agents run different images (${byHost('running')}); finish the upgrade or pick one with drover upgrade --image`,
    );
  if (replaced.size !== 1 || replaced.has('(none)'))
    throw new UsageError(
      replaced.size === 1
        ? 'rollback: no agent was recreated on another image by drover; nothing to roll back to'
        : `rollback: the agents replaced different images (${byHost('replaced')}); pick one with drover upgrade --image ... --force`,
    );
  return { from: [...running][0]!, to: [...replaced][0]! };
}
