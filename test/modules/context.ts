import type { Host, Vars } from '../../src/inventory/types.js';
import type { ModuleContext } from '../../src/modules/module.js';
import { secretTexts } from '../../src/shell/secret.js';
import { StepExecutor } from '../../src/runner/step-executor.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { FakeClock } from '../../src/util/fake-clock.js';

/**
 * A module context on one recorded host, its steps run by the runner's executor (so check mode
 * refuses writes as it does in a run) and its waits on a fake clock; tests script the host's
 * answers on `transport`.
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
): ModuleContext & { transport: RecordingTransport; clock: FakeClock } {
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
