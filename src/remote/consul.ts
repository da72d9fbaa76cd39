import { exec, type Arg, type Cmd } from '../shell/cmd.js';
import { Secret } from '../shell/secret.js';
import type { ExecOptions } from '../ssh/transport.js';
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
  /** The ACL token the CLI carries (its CONSUL_HTTP_TOKEN), fed on stdin: see TOKEN_FROM_STDIN. */
  token?: Secret;
}

/**
 * A consul CLI call: the command, and the stdin it needs. With a token that is the token's line,
 * a Secret; run the command with `callOptions(call)` so it gets it.
 */
export interface ConsulCall {
  readonly cmd: Cmd;
  readonly stdin?: Secret;
}

/** The CA file as the agent's container sees it (consul_tls_cert writes it on the host). */
export const CONTAINER_CA_FILE = '/consul/config/tls/consul-agent-ca.pem';

/**
 * How a token reaches the CLI with no command line holding it: `docker exec -e
 * CONSUL_HTTP_TOKEN=...` would put it in the docker CLI's argv, which `ps` on the host shows.
 * Instead a `sh` in the container (the official image is Alpine, so it has one) reads one line
 * from stdin into CONSUL_HTTP_TOKEN, exports it and execs the CLI with its arguments (`$@`): the
 * token lives only in that process's environment, which only root and its own user can read.
 * No line on stdin (a caller that forgot `callOptions`) exits with TOKEN_LINE_MISSING_CODE.
 */
export const TOKEN_LINE_MISSING_CODE = 125;
const TOKEN_FROM_STDIN =
  'IFS= read -r CONSUL_HTTP_TOKEN || ' +
  `{ echo "drover: no ACL token line on stdin" >&2; exit ${TOKEN_LINE_MISSING_CODE}; }; ` +
  'export CONSUL_HTTP_TOKEN; exec "$@"';

function consul(argv: readonly Arg[], o: ConsulExecOptions): ConsulCall {
  const env: Record<string, string | Secret> = {
    ...(o.httpsPort !== undefined && {
      CONSUL_HTTP_ADDR: `https://127.0.0.1:${o.httpsPort}`,
      CONSUL_CACERT: CONTAINER_CA_FILE,
    }),
  };
  const name = o.container ?? 'consul';
  const envOption = Object.keys(env).length > 0 ? { env } : {};
  if (!o.token) return { cmd: execIn(name, ['consul', ...argv], envOption) };
  return {
    cmd: execIn(name, ['sh', '-c', TOKEN_FROM_STDIN, 'sh', 'consul', ...argv], {
      ...envOption,
      interactive: true,
    }),
    stdin: new Secret(`${o.token.reveal()}\n`),
  };
}

/** The exec options to run `call` with: the caller's own, and the call's stdin when it has one. */
export const callOptions = (call: ConsulCall, o: ExecOptions = {}): ExecOptions =>
  call.stdin ? { ...o, stdin: call.stdin } : o;

export const info = (o: ConsulExecOptions = {}): ConsulCall => consul(['info'], o);

export const members = (o: ConsulExecOptions = {}): ConsulCall => consul(['members'], o);

export const raftListPeers = (o: ConsulExecOptions = {}): ConsulCall =>
  consul(['operator', 'raft', 'list-peers'], o);

/** Graceful leave: a server leaves the Raft peer set, which shrinks the quorum size. */
export const leave = (o: ConsulExecOptions = {}): ConsulCall => consul(['leave'], o);

/** Moves a dead member to `left`; `prune` removes it from the member list entirely (1.6.2+). */
export const forceLeave = (
  node: string,
  opts: { prune?: boolean } = {},
  o: ConsulExecOptions = {},
): ConsulCall => consul(['force-leave', ...(opts.prune ? ['-prune'] : []), node], o);

export const reload = (o: ConsulExecOptions = {}): ConsulCall => consul(['reload'], o);

/** Validates a config dir as the running agent sees it (a path inside the container). */
export const validate = (dir: string, o: ConsulExecOptions = {}): ConsulCall => consul(['validate', dir], o);

/** Any consul subcommand and its words (`['reload']`, `['kv', 'get', 'x']`): the consul_cli module's. */
export const cli = (argv: readonly string[], o: ConsulExecOptions = {}): ConsulCall => consul(argv, o);

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
 * One round trip for a whole validation: sweep what an abandoned one left (best effort: a docker
 * CLI that dies between creating and starting a `--rm` container leaves it `created` for good; a
 * drover killed mid-validation leaves its dir, swept once it is an hour old, so another run's
 * validation in progress is left alone), make the scratch dir (mkdir, never -p: a dir someone
 * else made under this name is refused, not used), write the config from stdin into it, give
 * both to the agent's user, run the validation, and remove the dir whatever happened after it
 * was made. Exit 121: the dir could not be made; 122: the config could not be staged; otherwise
 * the validation's own exit code.
 */
const VALIDATE_IN_SCRATCH_SCRIPT = [
  'cprefix=$1 dprefix=$2 dir=$3 owner=$4 group=$5',
  'shift 5',
  `ids=$(docker ps -aq --filter "name=^$cprefix" --filter status=created --filter status=exited </dev/null 2>/dev/null)`,
  'if [ -n "$ids" ]; then docker rm -f $ids </dev/null >/dev/null 2>&1; fi',
  'find /tmp -maxdepth 1 -type d -name "$dprefix*" -mmin +60 -exec rm -rf -- {} + </dev/null 2>/dev/null',
  'mkdir -m 0700 -- "$dir" || exit 121',
  `trap 'rm -rf -- "$dir"' EXIT`,
  '(umask 077 && cat > "$dir/consul.json") || exit 122',
  'if [ -n "$owner$group" ]; then',
  '  chown -- "$owner${group:+:$group}" "$dir" "$dir/consul.json" || exit 122',
  'fi',
  '"$@" </dev/null',
  'rc=$?',
  'exit $rc',
].join('\n');

export const STAGE_FAILED_CODES = { mkdir: 121, stage: 122 } as const;

/** `validate` (validateWithImage's command) run in a scratch dir `dir`, as VALIDATE_IN_SCRATCH_SCRIPT says. */
export function validateInScratchDir(
  validate: Cmd,
  dir: string,
  o: { owner?: string; group?: string } = {},
): Cmd {
  if (validate.kind !== 'exec') throw new Error('validateInScratchDir runs a single program');
  return exec(
    'sh',
    '-c',
    VALIDATE_IN_SCRATCH_SCRIPT,
    'sh',
    VALIDATE_CONTAINER_PREFIX,
    VALIDATE_DIR_NAME_PREFIX,
    dir,
    o.owner ?? '',
    o.group ?? '',
    ...validate.argv,
  );
}
