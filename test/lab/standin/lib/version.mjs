// Build identity of the stand-in. The lab builds a second image tag with another
// CONSUL_STANDIN_VERSION baked in, so upgrade tests see two different "Consul" builds.
export const DEFAULT_VERSION = '1.20.1';

export function buildInfo(env = process.env) {
  const version = (env.CONSUL_STANDIN_VERSION || DEFAULT_VERSION).replace(/^v/, '');
  return {
    version,
    revision: '920cc7c6',
    prerelease: '',
    buildDate: '2024-10-29T19:04:05Z',
    // serf "build" tag as Consul sets it: version, then ':' and the revision.
    buildTag: `${version}:920cc7c6`,
  };
}

export function versionText(info = buildInfo()) {
  return [
    `Consul v${info.version}`,
    `Revision ${info.revision}`,
    `Build Date ${info.buildDate}`,
    'Protocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)',
    '',
  ].join('\n');
}
