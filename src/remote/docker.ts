import { exec, render, secretsOf, type Arg, type Cmd } from '../shell/cmd.js';
import { Secret } from '../shell/secret.js';

/**
 * Pure builders for the docker CLI on a target host (Kamal style): they build argv, never run it.
 * Everything is an argument word, so quoting happens once, in `render`.
 */

/** Everything `docker run` needs to recreate a container exactly; the module hashes this. */
export interface ContainerSpec {
  name: string;
  image: string;
  /** `host` for Consul: stable addresses, no port mapping. */
  network: string;
  restart: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  /** `host-path:container-path[:ro]`. */
  volumes: readonly string[];
  labels: Readonly<Record<string, string>>;
  /** Values may be secrets (tokens); they are passed as one redacted `K=V` word. */
  env: Readonly<Record<string, Arg>>;
  /** Arguments after the image, e.g. `agent -server`. */
  args: readonly Arg[];
}

/** `K=V` as one word; a secret value makes the whole word secret, so logs show `-e <redacted>`. */
export function envWord(name: string, value: Arg): Arg {
  return value instanceof Secret ? new Secret(`${name}=${value.reveal()}`) : `${name}=${value}`;
}

/** JSON array with one object; exit 1 and `No such container` on stderr when absent. */
export const inspectContainer = (name: string): Cmd => exec('docker', 'container', 'inspect', name);

/** JSON array with one object; exit 1 and `No such image` on stderr when absent. */
export const inspectImage = (image: string): Cmd => exec('docker', 'image', 'inspect', image);

export const pullImage = (image: string): Cmd => exec('docker', 'pull', image);

function containerOptions(spec: ContainerSpec): Arg[] {
  return [
    '--name',
    spec.name,
    `--net=${spec.network}`,
    '--restart',
    spec.restart,
    ...spec.volumes.flatMap((v) => ['-v', v]),
    // Sorted so the rendered command (and anything compared against it) is stable.
    ...Object.keys(spec.labels)
      .sort()
      .flatMap((k) => ['--label', `${k}=${spec.labels[k] ?? ''}`]),
    ...Object.keys(spec.env)
      .sort()
      .flatMap((k) => ['-e', envWord(k, spec.env[k] ?? '')]),
    spec.image,
    ...spec.args,
  ];
}

/** `docker run -d ...`; prints the new container id on stdout. */
export const runContainer = (spec: ContainerSpec): Cmd =>
  exec('docker', 'run', '-d', ...containerOptions(spec));

/** Same as run, but leaves the container stopped (state: stopped on a host without it). */
export const createContainer = (spec: ContainerSpec): Cmd =>
  exec('docker', 'create', ...containerOptions(spec));

/** Graceful stop: SIGTERM, then SIGKILL after `timeoutSeconds`. */
export const stopContainer = (name: string, timeoutSeconds = 10): Cmd =>
  exec('docker', 'stop', '-t', String(timeoutSeconds), name);

export const startContainer = (name: string): Cmd => exec('docker', 'start', name);

export const restartContainer = (name: string, timeoutSeconds = 10): Cmd =>
  exec('docker', 'restart', '-t', String(timeoutSeconds), name);

/** Force-removes (kills if running); volumes on the host stay. */
export const removeContainer = (name: string): Cmd => exec('docker', 'rm', '-f', name);

export interface ExecInOptions {
  /** Keep stdin open (`-i`), e.g. to feed a file to a command in the container. */
  interactive?: boolean;
  env?: Readonly<Record<string, Arg>>;
  user?: string;
}

/** `docker exec [-i] [-e K=V] [-u user] NAME argv...` */
export const execIn = (name: string, argv: readonly Arg[], options: ExecInOptions = {}): Cmd =>
  exec(
    'docker',
    'exec',
    options.interactive && '-i',
    ...Object.keys(options.env ?? {})
      .sort()
      .flatMap((k) => ['-e', envWord(k, options.env?.[k] ?? '')]),
    ...(options.user ? ['-u', options.user] : []),
    name,
    ...argv,
  );

/**
 * One JSON object per line for containers whose name is exactly `name` (running or not). The
 * optional slash covers daemons that match the filter against the internal `/name`.
 */
export const psByName = (name: string): Cmd =>
  exec('docker', 'ps', '-a', '--filter', `name=^/?${name}$`, '--format', '{{json .}}');

/**
 * `docker logs --timestamps [--since S] [--tail N] [--follow] NAME`: every line starts with its
 * RFC 3339 time (nanoseconds, UTC), which lets lines of several hosts be merged in time order.
 */
export const containerLogs = (
  name: string,
  o: { since?: string; tail?: number; follow?: boolean } = {},
): Cmd =>
  exec(
    'docker',
    'logs',
    '--timestamps',
    o.since !== undefined && `--since=${o.since}`,
    o.tail !== undefined && `--tail=${o.tail}`,
    o.follow === true && '--follow',
    name,
  );

/**
 * `cmd` in the background, killed when the channel's stdin closes: how a command that runs
 * until stopped (`docker logs --follow`) ends with drover's side, for root logins too, where
 * sshd ignores an SSH signal request (ssh/kill-remote.ts). It also ends when `cmd` ends itself.
 */
export function untilStdinCloses(cmd: Cmd): Cmd {
  // The command becomes one word of `sh -c`: a secret in it would be rendered in the clear.
  if (secretsOf(cmd).length > 0) throw new Error('untilStdinCloses: the command carries a secret');
  return exec(
    'sh',
    '-c',
    // A background list's stdin is /dev/null in sh unless redirected: the channel's is kept on 3.
    `exec 3<&0; ${render(cmd, { redact: false })} </dev/null & p=$!; ` +
      '{ read -r _ <&3; kill $p; } >/dev/null 2>&1 & wait $p 2>/dev/null',
  );
}
