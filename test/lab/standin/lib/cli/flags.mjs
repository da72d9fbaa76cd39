// Go flag-package parsing for the CLI commands: -x, --x, -x=v, -x v; stops at the first argument.
export class UsageError extends Error {}

export function parseFlags(argv, { bools = [], strings = [] } = {}) {
  const flags = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { i++; break; }
    const m = /^--?([a-zA-Z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m || arg === '-') break;
    const [, name, value] = m;
    if (bools.includes(name)) {
      if (value !== undefined && !['true', 'false', '1', '0'].includes(value)) throw new UsageError(`invalid boolean value "${value}" for -${name}: parse error`);
      flags[name] = value === undefined || value === 'true' || value === '1';
    } else if (strings.includes(name)) {
      if (value !== undefined) flags[name] = value;
      else if (i + 1 < argv.length) flags[name] = argv[++i];
      else throw new UsageError(`flag needs an argument: -${name}`);
    } else throw new UsageError(`flag provided but not defined: -${name}`);
  }
  return { flags, args: argv.slice(i) };
}

/** Flags every HTTP-using Consul command accepts. */
export const HTTP_FLAGS = {
  bools: ['stale'],
  strings: ['http-addr', 'token', 'token-file', 'ca-file', 'ca-path', 'client-cert', 'client-key', 'tls-server-name', 'datacenter', 'partition', 'namespace'],
};

export function merge(a, b) {
  return { bools: [...(a.bools ?? []), ...(b.bools ?? [])], strings: [...(a.strings ?? []), ...(b.strings ?? [])] };
}
