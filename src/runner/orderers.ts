import type { Vars } from '../inventory/types.js';
import type { Play } from '../playbook/types.js';
import type { StepRunner } from '../remote/step.js';

/** What an orderer may use: the play, every host's vars, and the run's connections. */
export interface OrdererContext {
  readonly play: Play;
  /** Every host of the play (after --limit), in inventory order. */
  readonly playHosts: readonly string[];
  /** The vars of `host` as its tasks see them (`groups` and `hostvars` cover the whole inventory). */
  vars(host: string): Vars;
  /**
   * The run's one connection to `host`, opened on first use, for read steps only (an orderer
   * looks, it never changes a host); rejects when it cannot connect.
   */
  connect(host: string): Promise<StepRunner>;
  /** False for hosts that failed or were unreachable earlier in the run. */
  usable(host: string): boolean;
  readonly check: boolean;
  readonly signal?: AbortSignal;
  /** A line for the run's output, e.g. which host leads. */
  note(message: string, host?: string): void;
}

/**
 * A play's `order`: called before EACH batch with the play's hosts that have not run yet (in
 * the order the previous call left them), it returns the same hosts in the order to run them;
 * the next batch takes the first `serial` of them. Asking before every batch is what lets an
 * orderer follow a cluster whose leader moves during a serial roll. A GateError it throws
 * aborts the run (exit 5); any other error fails it.
 */
export type HostOrderer = (
  remaining: readonly string[],
  ctx: OrdererContext,
) => Promise<readonly string[]> | readonly string[];

export type OrdererMap = ReadonlyMap<string, HostOrderer> | Readonly<Record<string, HostOrderer>>;

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts by place in the play's host list (inventory order); the same answer however often asked. */
const byInventory =
  (direction: 1 | -1): HostOrderer =>
  (remaining, ctx) => {
    const at = new Map(ctx.playHosts.map((h, i) => [h, i]));
    return [...remaining].sort((a, b) => direction * ((at.get(a) ?? 0) - (at.get(b) ?? 0)));
  };

/** The orders every play can use without the runner being given any (Ansible's names). */
export const STATIC_ORDERERS: Readonly<Record<string, HostOrderer>> = {
  inventory: byInventory(1),
  reverse_inventory: byInventory(-1),
  sorted: (remaining) => [...remaining].sort(byName),
  reverse_sorted: (remaining) => [...remaining].sort(byName).reverse(),
};

/** Static orderers plus the given ones (which may not redefine a static name). */
export function ordererLookup(extra: OrdererMap | undefined): ReadonlyMap<string, HostOrderer> {
  const given = extra instanceof Map ? [...extra.entries()] : Object.entries(extra ?? {});
  return new Map([...given, ...Object.entries(STATIC_ORDERERS)]);
}

/** An orderer's answer must be a reordering of what it was given: anything else is a bug. */
export function checkPermutation(
  name: string,
  given: readonly string[],
  got: readonly string[],
): string | undefined {
  const a = [...given].sort(byName);
  const b = [...got].sort(byName);
  if (a.length === b.length && a.every((h, i) => h === b[i])) return undefined;
  return `orderer "${name}" returned [${got.join(', ')}] for hosts [${given.join(', ')}]: not the same hosts`;
}
