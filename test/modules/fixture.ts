import type { Vars } from '../../src/inventory/types.js';
import type { Each, FactRequest } from '../../src/facts/gather.js';
import type { LocalContext, PlannedModule } from '../../src/modules/module.js';
import type { Step } from '../../src/remote/step.js';
import { render } from '../../src/shell/cmd.js';
import { secretTexts, type Secret } from '../../src/shell/secret.js';

/**
 * Fixtures for planned modules, after pyinfra's operation tests: a want and facts in, the
 * Change and its steps out, with no host at all. Steps are shown as people see them.
 */
export function planContext(
  options: { vars?: Vars; check?: boolean; diff?: boolean; baseDir?: string } = {},
): LocalContext {
  const vars = options.vars ?? {};
  return {
    host: 's1',
    vars,
    secrets: () => [...secretTexts(vars)],
    check: options.check ?? false,
    diff: options.diff ?? true,
    baseDir: options.baseDir ?? process.cwd(),
  };
}

/** A step as data: its effect and the redacted command (or HTTP request) it sends. */
export interface ShownStep {
  effect: 'read' | 'write';
  sends: string;
  stdin?: string | Buffer | Secret;
  timeoutSeconds?: number;
}

export function shown(step: Step<unknown>): ShownStep {
  switch (step.kind) {
    case 'exec':
      return {
        effect: step.effect,
        sends: render(step.cmd, { redact: true }),
        ...(step.options?.stdin !== undefined && { stdin: step.options.stdin }),
        ...(step.options?.timeoutSeconds !== undefined && { timeoutSeconds: step.options.timeoutSeconds }),
      };
    case 'http':
      return { effect: step.effect, sends: `${step.request.method ?? 'GET'} ${step.request.path}` };
    case 'tcp':
      return { effect: step.effect, sends: `TCP ${step.exchange.host}:${step.exchange.port}` };
  }
}

/** What a fact request asks: its read step (each, for several) and, for a converging fact, its write. */
export function asked(
  request: FactRequest<unknown> | Each<unknown>,
): { read?: ShownStep; write?: ShownStep; each?: ShownStep[] } | undefined {
  if (request === undefined) return undefined;
  if (request.kind === 'each') return { each: request.steps.map(shown) };
  if (request.kind !== 'converging') return { read: shown(request) };
  return { ...(request.read && { read: shown(request.read) }), write: shown(request.write) };
}

/**
 * The facts a module asks for `want`, each as `asked` shows it; a request that depends on
 * earlier facts is asked of `earlier`.
 */
export function factsAsked<W, F>(
  module: PlannedModule<any, W, F>,
  want: W,
  earlier: Partial<F> = {},
  ctx: LocalContext = planContext(),
): Record<string, ReturnType<typeof asked>> {
  const requests = module.facts(want, ctx);
  return Object.fromEntries(
    (Object.keys(requests) as (keyof F & string)[]).map((name) => {
      const entry = requests[name];
      return [name, asked(typeof entry === 'function' ? entry(earlier) : entry)];
    }),
  );
}
