import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { DocPath } from '../config/yaml-file.js';
import { Secret } from '../shell/secret.js';

/**
 * Turning a var as written in YAML into the value drover uses: `{ env: NAME }` is read from the
 * environment, secret-named vars are wrapped in Secret (so nothing downstream can print them by
 * accident), and key-file paths are made independent of the directory drover runs from.
 */

/** `consul_encrypt`, and anything ending in `_token`, `_password` or `_secret`, at any depth. */
export function isSecretVarName(name: string): boolean {
  return SECRET_VARS.has(name) || /_(token|password|secret)$/.test(name);
}

/** Secrets whose names follow Consul's or ansible-consul's, not the `_token` rule. */
const SECRET_VARS: ReadonlySet<string> = new Set(['consul_encrypt', 'consul_tls_ca_key']);

/** Vars holding local file paths; relative ones are relative to the inventory file, not the cwd. */
export const PATH_VARS: ReadonlySet<string> = new Set(['ssh_key', 'ssh_known_hosts', 'consul_tls_ca_crt']);

/** Variable names must work in templates (`{{consul_datacenter}}`) and `when:` expressions. */
export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface EnvRef {
  env: string;
}

/** `{ env: NAME }` and nothing else: a mapping var that merely has an `env` key among others is data. */
function isEnvRef(value: unknown): value is EnvRef {
  return (
    isPlainObject(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { env?: unknown }).env === 'string'
  );
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Secret);
}

export interface VarContext {
  /** Environment for `{ env: NAME }`; process.env unless a caller passes its own (tests, CI wrappers). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The inventory file's directory. */
  readonly baseDir: string;
  /** For `~/` in key paths. */
  readonly homeDir: string | undefined;
  problem(path: DocPath, message: string): void;
}

/**
 * The value to use for var `name` written as `raw` at `path`. Problems are reported through the
 * context and the (unusable) value is returned as undefined, so loading goes on and every problem
 * in the file is found in one run. Messages never include a value: it may be a secret.
 */
export function prepareVar(name: string, raw: unknown, path: DocPath, ctx: VarContext): unknown {
  let value = raw;
  if (isEnvRef(raw)) {
    const fromEnv = ctx.env[raw.env];
    // CI systems pass an unset secret as an empty string, so empty counts as missing.
    if (fromEnv === undefined || fromEnv === '') {
      ctx.problem(path, `${name} comes from the environment variable ${raw.env}, which is not set or empty`);
      return undefined;
    }
    value = fromEnv;
  }
  if (PATH_VARS.has(name)) {
    if (typeof value !== 'string') {
      ctx.problem(path, 'must be a string (a file path)');
      return undefined;
    }
    value = resolvePath(value, ctx);
  }
  if (name === ACL_MANAGEMENT_TOKEN_VAR && isCommandRef(value)) {
    // Run by the ACL token source (app/acl-token-source.ts) when the token is needed, not here;
    // a Secret, since the command line may name a credential (inventory --list shows <redacted>).
    return { command: new Secret(value.command) };
  }
  if (isSecretVarName(name)) {
    if (typeof value !== 'string') {
      ctx.problem(path, `must be a string (quoted) or { env: NAME }: ${name} is a secret`);
      return undefined;
    }
    return new Secret(value);
  }
  if (Array.isArray(value)) return value.map((item, i) => prepareVar('', item, [...path, i], ctx));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, prepareVar(k, v, [...path, k], ctx)]),
    );
  }
  return value;
}

/** The ACL management token may also come from a command (a secret manager's CLI): `{ command: "..." }`. */
export const ACL_MANAGEMENT_TOKEN_VAR = 'consul_acl_management_token';

function isCommandRef(value: unknown): value is { command: string } {
  return (
    isPlainObject(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { command?: unknown }).command === 'string'
  );
}

function resolvePath(value: string, ctx: VarContext): string {
  if (value === '~' || value.startsWith('~/')) return join(ctx.homeDir ?? homedir(), value.slice(1));
  return isAbsolute(value) ? value : resolve(ctx.baseDir, value);
}
