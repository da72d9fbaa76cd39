import { exec, type Arg, type Cmd } from '../shell/cmd.js';
import type { Secret } from '../shell/secret.js';
import { execIn } from './docker.js';

/**
 * Pure builders for the consul CLI inside the agent's container (`docker exec consul consul ...`),
 * so the host needs no consul binary and the CLI always matches the running agent's version.
 */

export interface ConsulExecOptions {
  /** Container name; `consul` unless the inventory says otherwise. */
  container?: string;
  /**
   * The agent's HTTPS port, when it serves no plain HTTP (`consul_tls_http: off`): the CLI then
   * talks to https://127.0.0.1:PORT and trusts the CA drover put beside the config. Absent: the
   * CLI's default, http://127.0.0.1:8500 (also the loopback listener of a TLS agent).
   */
  httpsPort?: number;
}

/** The CA file as the agent's container sees it (consul_tls_cert writes it on the host). */
export const CONTAINER_CA_FILE = '/consul/config/tls/consul-agent-ca.pem';

function consul(argv: readonly Arg[], o: ConsulExecOptions): Cmd {
  // No ACL token here: `docker exec -e` would put it in the docker CLI's argv, which `ps` on the
  // host shows. A token for the CLI must reach the exec'd process another way (its stdin).
  const env: Record<string, string | Secret> = {
    ...(o.httpsPort !== undefined && {
      CONSUL_HTTP_ADDR: `https://127.0.0.1:${o.httpsPort}`,
      CONSUL_CACERT: CONTAINER_CA_FILE,
    }),
  };
  return execIn(o.container ?? 'consul', ['consul', ...argv], Object.keys(env).length > 0 ? { env } : {});
}

export const info = (o: ConsulExecOptions = {}): Cmd => consul(['info'], o);

export const members = (o: ConsulExecOptions = {}): Cmd => consul(['members'], o);

export const raftListPeers = (o: ConsulExecOptions = {}): Cmd =>
  consul(['operator', 'raft', 'list-peers'], o);

/** Graceful leave: a server leaves the Raft peer set, which shrinks the quorum size. */
export const leave = (o: ConsulExecOptions = {}): Cmd => consul(['leave'], o);

/** Moves a dead member to `left`; `prune` removes it from the member list entirely (1.6.2+). */
export const forceLeave = (node: string, opts: { prune?: boolean } = {}, o: ConsulExecOptions = {}): Cmd =>
  consul(['force-leave', ...(opts.prune ? ['-prune'] : []), node], o);

export const reload = (o: ConsulExecOptions = {}): Cmd => consul(['reload'], o);

/** Validates a config dir as the running agent sees it (a path inside the container). */
export const validate = (dir: string, o: ConsulExecOptions = {}): Cmd => consul(['validate', dir], o);

/**
 * Validates a host config dir with the consul binary of `image`, in a throwaway container, so a
 * config for a new version is checked by that version before the running agent is touched. The
 * binary is the entrypoint: hashicorp/consul's docker-entrypoint.sh would chown the read-only
 * mount and exit 1 under `set -e` (hashicorp/docker-consul#84). `user` is whom the agent runs
 * as, so a file it could not read fails here too. Host networking, as the agent has, so a
 * go-sockaddr template in bind_addr resolves against the host's interfaces.
 */
export const validateWithImage = (
  image: string,
  hostDir: string,
  name: string,
  o: { user?: string } = {},
): Cmd =>
  exec(
    'docker',
    'run',
    '--rm',
    '--name',
    name,
    '--network',
    'host',
    ...(o.user !== undefined ? ['--user', o.user] : []),
    '--entrypoint',
    'consul',
    '-v',
    `${hostDir}:/consul/config:ro`,
    image,
    'validate',
    '/consul/config',
  );

/** Name prefix of the throwaway validation containers. */
export const VALIDATE_CONTAINER_PREFIX = 'drover-validate-';
/** Where a validation stages its config: /tmp/, this prefix and a random name, made with mkdir (never -p). */
const VALIDATE_DIR_NAME_PREFIX = 'drover-validate.';
export const validateDir = (suffix: string): string => `/tmp/${VALIDATE_DIR_NAME_PREFIX}${suffix}`;

/**
 * Removes what an abandoned validation left behind: a docker CLI that dies between creating and
 * starting a `--rm` container (its drover killed, its connection gone) leaves it `created` for
 * good, and a drover killed mid-validation leaves its staging dir. Running containers, and dirs
 * younger than an hour (another run's validation in progress), are left alone.
 */
const REMOVE_STALE_VALIDATIONS_SCRIPT = [
  `ids=$(docker ps -aq --filter "name=^$1" --filter status=created --filter status=exited)`,
  'if [ -n "$ids" ]; then docker rm -f $ids >/dev/null; fi',
  `find /tmp -maxdepth 1 -type d -name "$2*" -mmin +60 -exec rm -rf -- {} + 2>/dev/null`,
  'exit 0',
].join('\n');

export const removeStaleValidations = (): Cmd =>
  exec(
    'sh',
    '-c',
    REMOVE_STALE_VALIDATIONS_SCRIPT,
    'sh',
    VALIDATE_CONTAINER_PREFIX,
    VALIDATE_DIR_NAME_PREFIX,
  );

/**
 * `cmd`, then the removal of `dir` whatever `cmd`'s exit, with `cmd`'s exit code: one round trip
 * that leaves no scratch dir behind when the command fails.
 */
export function thenRemoveDir(cmd: Cmd, dir: string): Cmd {
  if (cmd.kind !== 'exec') throw new Error('thenRemoveDir runs a single program');
  return exec('sh', '-c', 'dir=$1; shift; "$@"; rc=$?; rm -rf -- "$dir"; exit $rc', 'sh', dir, ...cmd.argv);
}
