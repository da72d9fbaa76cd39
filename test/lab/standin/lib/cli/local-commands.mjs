// Commands that need no agent: version, keygen, validate.
import { ConfigError, buildRuntime, listConfigFiles, loadConfigFiles } from '../config.mjs';
import { generateKey } from '../keyring.mjs';
import { buildInfo, versionText } from '../version.mjs';
import { parseFlags } from './flags.mjs';

export function version(argv, io) {
  const { flags } = parseFlags(argv, { strings: ['format'] });
  const info = buildInfo();
  if ((flags.format ?? 'pretty') === 'json') {
    io.out(JSON.stringify({ Version: info.version, Revision: info.revision, Prerelease: info.prerelease, BuildDate: info.buildDate, RPC: { Default: 2, Min: 2, Max: 3 } }, null, 3));
    return 0;
  }
  if (flags.format && flags.format !== 'pretty') { io.err(`Unknown format: ${flags.format}`); return 1; }
  io.out(versionText(info).replace(/\n$/, ''));
  return 0;
}

export function keygen(argv, io) {
  parseFlags(argv, { strings: ['bytes'] });
  io.out(generateKey());
  return 0;
}

/**
 * `consul validate`: the same load as `consul agent` (Consul calls config.Load), so anything
 * the agent would refuse fails here with the same text. Warnings go to stderr, as Consul's
 * UI.Warn prints them, unless -quiet.
 */
export function validate(argv, io) {
  const { flags, args } = parseFlags(argv, { bools: ['quiet'], strings: ['config-format'] });
  if (!args.length) { io.err('Must specify at least one config file or directory'); return 1; }
  const format = flags['config-format'] ?? '';
  let warnings;
  try {
    const fileWarnings = [];
    const files = listConfigFiles(args, [], (w) => fileWarnings.push(w), format);
    warnings = [...fileWarnings, ...buildRuntime(loadConfigFiles(files, format), {}).warnings];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err(`Config validation failed: ${e.message}`);
    return 1;
  }
  if (!flags.quiet) {
    for (const w of warnings) io.err(w);
    io.out('Configuration is valid!');
  }
  return 0;
}
