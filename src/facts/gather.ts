import type { Step, StepRunner } from '../remote/step.js';

/**
 * A fact a file module learns by making the change: outside check mode the runner runs `write`,
 * one step that converges the host (mkdir -p, write if the bytes differ) and prints the state it
 * found before; in check mode it runs `read`, which asks the same state and changes nothing
 * (absent: nothing is read, the fact is undefined). Both answers mean the same, so plan gives
 * the same Change either way; a changed one is already made outside check mode.
 */
export interface Converging<T> {
  readonly kind: 'converging';
  readonly read?: Step<T>;
  readonly write: Step<T>;
}

/**
 * A fact whose count the want decides (one file per service): its read steps, run in order,
 * their answers a list in the same order.
 */
export interface Each<T> {
  readonly kind: 'each';
  readonly steps: readonly Step<T>[];
}

type EachOf<T> = T extends readonly (infer E)[] ? Each<E> : never;

/** How one fact is learnt: a read step, a converging write, several reads, or not at all (undefined). */
export type FactRequest<T> = Step<T> | Converging<T> | EachOf<T> | undefined;

/**
 * The facts a planned module needs, by name, gathered in this order. A request may be a
 * function of the facts gathered before it, for a question that only an earlier answer raises
 * (whether a container's image tag was re-pulled matters only when the container runs that tag).
 */
export type FactRequests<F> = {
  readonly [K in keyof F]: FactRequest<F[K]> | ((earlier: Partial<F>) => FactRequest<F[K]>);
};

/** A converging fact: `read` in check mode, `write` (which makes the change) otherwise. */
export function converging<T>(read: Step<T> | undefined, write: Step<T>): Converging<T> {
  return { kind: 'converging', ...(read && { read }), write };
}

export function each<T>(steps: readonly Step<T>[]): Each<T> {
  return { kind: 'each', steps };
}

/**
 * Learns a planned module's facts, one request after the other, through the executor: in
 * check mode a converging fact is read, otherwise its write runs and reports what it found.
 */
export async function gatherFacts<F>(
  requests: FactRequests<F>,
  steps: StepRunner,
  check: boolean,
): Promise<F> {
  const facts: Partial<Record<keyof F, unknown>> = {};
  for (const name of Object.keys(requests) as (keyof F)[]) {
    const entry = requests[name];
    const request: Step<unknown> | Converging<unknown> | Each<unknown> | undefined =
      typeof entry === 'function' ? entry(facts as Partial<F>) : entry;
    if (request?.kind === 'each') {
      const answers: unknown[] = [];
      for (const step of request.steps) answers.push(await steps.run(step));
      facts[name] = answers;
      continue;
    }
    const step = request?.kind === 'converging' ? (check ? request.read : request.write) : request;
    facts[name] = step && (await steps.run(step));
  }
  return facts as F;
}
