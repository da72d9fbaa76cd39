import type { Host, Vars } from '../../src/inventory/types.js';
import type { AnyModule, Change, ConversationContext, PlannedModule } from '../../src/modules/module.js';
import { performModule, planOnHost, type Performed } from '../../src/runner/run-task.js';
import { secretTexts } from '../../src/shell/secret.js';
import { StepExecutor } from '../../src/runner/step-executor.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { FakeClock } from '../../src/util/fake-clock.js';

/**
 * A module context on one recorded host, its steps run by the runner's executor (so check mode
 * refuses writes as it does in a run) and its waits on a fake clock; tests script the host's
 * answers on `transport`. A conversation module runs in it as it is; a planned one through
 * `perform`, as a task runs it.
 */
export function moduleContext(
  options: {
    vars?: Vars;
    check?: boolean;
    diff?: boolean;
    baseDir?: string;
    signal?: AbortSignal;
    transport?: RecordingTransport;
    host?: Host;
  } = {},
): ConversationContext & { transport: RecordingTransport; clock: FakeClock } {
  const transport = options.transport ?? new RecordingTransport('s1');
  const vars = options.vars ?? {};
  const check = options.check ?? false;
  const secrets = () => [...secretTexts(vars)];
  return {
    host: options.host ?? { name: transport.host, address: '10.213.0.11', groups: ['all', 'servers'], vars },
    transport,
    steps: new StepExecutor(transport, check, secrets),
    clock: new FakeClock(),
    vars,
    secrets,
    check,
    diff: options.diff ?? true,
    baseDir: options.baseDir ?? process.cwd(),
    ...(options.signal && { signal: options.signal }),
  };
}

/** Runs a module as a task does: facts gathered, planned, its steps run (not in check mode). */
export function perform<A>(module: AnyModule, args: A, ctx: ConversationContext): Promise<Performed> {
  return performModule(module, args as Record<string, unknown>, ctx);
}

/** The Change a planned module reports on the host, made as `perform` makes it. */
export async function changeOn<A>(
  module: PlannedModule<A, any, any>,
  args: A,
  ctx: ConversationContext,
): Promise<Change> {
  return (await perform(module, args, ctx)).outcome as Change;
}

/** The Change a planned module would make on the host now: facts gathered, nothing applied. */
export function planOn<A>(
  module: PlannedModule<A, any, any>,
  args: A,
  ctx: ConversationContext,
): Promise<Change> {
  return planOnHost(module, args as Record<string, unknown>, ctx);
}
