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

export function validate(argv, io) {
  const { flags, args } = parseFlags(argv, { bools: ['quiet'], strings: ['config-format'] });
  if (!args.length) { io.err('Must specify at least one config file or directory'); return 1; }
  try {
    const files = listConfigFiles(args, []);
    buildRuntime(loadConfigFiles(files), {}, { forValidate: true });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err(`Config validation failed: ${e.message.replace(/\n+$/, '')}`);
    return 1;
  }
  if (!flags.quiet) io.out('Configuration is valid!');
  return 0;
}
