import type { Vars } from '../../src/inventory/types.js';
import type { ModuleContext } from '../../src/modules/module.js';
import { secretsIn } from '../../src/modules/secrets-in.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';

/** A module context on one recorded host; tests script the host's answers on `transport`. */
export function moduleContext(
  options: { vars?: Vars; check?: boolean; diff?: boolean; baseDir?: string; signal?: AbortSignal } = {},
): ModuleContext & { transport: RecordingTransport } {
  const transport = new RecordingTransport('s1');
  const vars = options.vars ?? {};
  return {
    host: { name: 's1', address: '10.213.0.11', groups: ['all', 'servers'], vars },
    transport,
    vars,
    secrets: () => secretsIn(vars),
    check: options.check ?? false,
    diff: options.diff ?? true,
    baseDir: options.baseDir ?? process.cwd(),
    ...(options.signal && { signal: options.signal }),
  };
}
