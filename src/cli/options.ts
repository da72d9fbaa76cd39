import type { ConnectionDefaults } from '../app/connection-spec.js';
import type { SessionOptions } from '../app/session.js';
import { UsageError } from '../errors.js';
import { createOutput, type CliIo } from './io.js';

/** Options every command that talks to hosts shares; flags win over DROVER_* environment variables. */
export interface CommonOptions {
  /** One -i, or several (withCommon's -i repeats): merged in order. */
  inventory?: string | readonly string[];
  limit?: string;
  forks?: string;
  sshKey?: string;
  acceptNewHostKeys?: boolean;
  connectTimeout?: string;
  output?: 'text' | 'json';
  lockWait?: string;
  /** -v counted: the commands that run playbooks have it (cli.ts withRun). */
  verbose?: number;
}

/** Every -i, in order (later ones merged over earlier ones), else DROVER_INVENTORY. */
export function inventoryPaths(o: CommonOptions, io: CliIo): string[] {
  const given = typeof o.inventory === 'string' ? [o.inventory] : [...(o.inventory ?? [])];
  if (given.length > 0) return given;
  const path = io.env['DROVER_INVENTORY'];
  if (!path) throw new UsageError('no inventory: give -i FILE (or set DROVER_INVENTORY)');
  return [path];
}

/**
 * The one inventory of a command that reads a single file. Several -i are refused rather than
 * quietly cut to one: the hosts and vars of the others would be missing from what it does.
 */
export function inventoryPath(o: CommonOptions, io: CliIo): string {
  const [first, ...more] = inventoryPaths(o, io);
  if (more.length > 0)
    throw new UsageError(
      `this command reads one inventory; give -i once (${[first, ...more].join(', ')} were given)`,
    );
  return first as string;
}

function forks(o: CommonOptions, io: CliIo): number {
  const raw = o.forks ?? io.env['DROVER_FORKS'] ?? '10';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new UsageError(`--forks must be a whole number from 1 to 1000, not "${raw}"`);
  return n;
}

function connectionDefaults(o: CommonOptions, io: CliIo): ConnectionDefaults {
  const key = o.sshKey ?? io.env['DROVER_SSH_KEY'];
  const timeout = Number(o.connectTimeout ?? '10');
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError('--connect-timeout must be a positive number of seconds');
  return {
    ...(key ? { sshKey: key } : {}),
    acceptNewHostKeys: o.acceptNewHostKeys === true,
    connectTimeoutSeconds: timeout,
  };
}

function lockWaitSeconds(o: CommonOptions): number {
  const n = Number(o.lockWait ?? '0');
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`--lock-wait must be a number of seconds, not "${o.lockWait}"`);
  return n;
}

/** The command line as given, for the lock, the audit log and the reports (secrets are scrubbed later). */
export const commandLine = (argv: readonly string[]): string => ['drover', ...argv.slice(2)].join(' ');

/**
 * A session's options from the flags, the environment and the process the CLI runs in. The
 * values that can be bad are getters, read when the session first needs them: bad input files
 * are reported before bad flags, in the order drover always checked them, and a command that
 * never needs `--forks` never reads DROVER_FORKS.
 */
export function sessionOptions(o: CommonOptions, io: CliIo, argv: readonly string[]): SessionOptions {
  return {
    get inventoryFile() {
      return inventoryPaths(o, io)[0] as string;
    },
    get moreInventoryFiles() {
      return inventoryPaths(o, io).slice(1);
    },
    limit: o.limit,
    get forks() {
      return forks(o, io);
    },
    get connection() {
      return connectionDefaults(o, io);
    },
    get lockWaitSeconds() {
      return lockWaitSeconds(o);
    },
    ...(io.open ? { open: io.open } : {}),
    output: createOutput(io, o.output === 'json'),
    ...(o.verbose ? { verbosity: o.verbose } : {}),
    command: commandLine(argv),
    signal: io.signal,
  };
}

/** `a, b,c` -> ['a', 'b', 'c']. */
export const list = (s: string | undefined): string[] =>
  s
    ? s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    : [];
