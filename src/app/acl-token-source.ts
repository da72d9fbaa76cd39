import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { link, mkdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { besideInventory } from '../paths.js';
import { ConfigError, InterruptedError, UsageError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import { quote } from '../shell/cmd.js';
import { isSecret, redactText, Secret } from '../shell/secret.js';
import { readPrivateFile, syncedTempBeside } from '../util/private-file.js';
import { derivedTokenSecret } from '../consul/api/acl.js';
import {
  ACL_AGENT_TOKEN_VAR,
  ACL_SERVICES_TOKEN_VAR,
  ACL_DNS_TOKEN_VAR,
  ACL_MANAGEMENT_VAR_OF_SESSION,
  ACL_REPLICATION_TOKEN_VAR,
  ACL_TOKEN_VAR_OF_SESSION,
  aclPrimaryFromVars,
  datacenterFromVars,
} from '../consul/api/endpoint.js';
import { ACL_MANAGEMENT_TOKEN_VAR } from '../inventory/var-values.js';
import { withHostVars } from './gossip-key-source.js';

/**
 * Where the cluster's ACL management token comes from: the one ACL secret drover keeps (the
 * agent, DNS and operator tokens are derived from it, see consul/api/acl.ts). One
 * token per inventory, from the first of:
 *   1. the var `consul_acl_management_token`: the token (a string, so a Secret by its name), or
 *      `{ env: NAME }`, or `{ command: "..." }`, run locally through `sh -c` with a bounded
 *      time, whose first line of output is the token (a secret manager's CLI, e.g.
 *      `vault kv get -field=token secret/consul`);
 *   2. the environment variable DROVER_ACL_TOKEN;
 *   3. the file beside the inventory, `INVENTORY-STEM.acl/management.token` (mode 0600, its
 *      folder 0700), refused when anyone but its owner may read it. Only this source is written
 *      to (`keep`, a token made for the bootstrap), atomically, and never over a different token.
 * A token never appears in a message; neither does the command, which may name a credential.
 *
 * ansible-consul's vars, for its users: `consul_acl_master_token` (Consul's pre-1.11 name for
 * the initial management token, which that role generates and writes into every server's
 * config) is `consul_acl_management_token` here, but drover bootstraps through the API and puts
 * the token in no config file; `consul_acl_master_token_display` (print the generated token) has
 * no counterpart, drover never prints a token; `consul_acl_agent_token` (one token for every
 * agent) becomes one token per node with a node identity, derived from the management token,
 * kept nowhere but that node's config; `consul_acl_token` (the agents' default token) is drover's DNS token;
 * `consul_acl_agent_master_token` (agent_recovery) drover does not make;
 * `consul_acl_replication_token` is derived too, for the servers outside
 * `consul_acl_datacenter` (the role's name for the primary datacenter).
 */
export const ACL_TOKEN_VAR = ACL_MANAGEMENT_TOKEN_VAR;
export const ACL_TOKEN_ENV = 'DROVER_ACL_TOKEN';
export const DEFAULT_TOKEN_COMMAND_TIMEOUT_SECONDS = 30;

/** `inventories/lab.yaml` -> `inventories/lab.acl`. */
export function aclDir(inventoryFile: string): string {
  return besideInventory(inventoryFile, '.acl');
}

/** `inventories/lab.yaml` -> `inventories/lab.acl/management.token`. */
export const managementTokenFile = (inventoryFile: string): string =>
  join(aclDir(inventoryFile), 'management.token');

export type AclTokenOrigin =
  | { readonly kind: 'inventory'; readonly where: string; readonly token: Secret }
  | { readonly kind: 'env'; readonly where: string; readonly name: string }
  | { readonly kind: 'command'; readonly where: string; readonly command: string }
  | { readonly kind: 'file'; readonly where: string; readonly file: string };

export interface AclTokenSourceOptions {
  /** For DROVER_ACL_TOKEN and `{ env: NAME }`; process.env unless given. The command gets process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Upper bound for `{ command }`. */
  readonly commandTimeoutSeconds?: number;
  /** Ctrl-C: a `{ command }` still running is killed with its process group. */
  readonly signal?: AbortSignal;
}

/** Consul's SecretIDs are UUIDs; anything else is a paste gone wrong, said without quoting it. */
const TOKEN_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class AclTokenSource {
  readonly origin: AclTokenOrigin;
  /** The token file beside the inventory, whichever source is in use. */
  readonly file: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #timeoutSeconds: number;
  readonly #signal: AbortSignal | undefined;
  #value: Promise<Secret | undefined> | undefined;

  constructor(inventory: Inventory, o: AclTokenSourceOptions = {}) {
    this.#env = o.env ?? process.env;
    this.#timeoutSeconds = o.commandTimeoutSeconds ?? DEFAULT_TOKEN_COMMAND_TIMEOUT_SECONDS;
    this.#signal = o.signal;
    this.file = managementTokenFile(inventory.file);
    this.origin = originOf(inventory, this.#env, this.file);
  }

  /** The management token, or undefined when none is set anywhere (the file does not exist yet). */
  read(): Promise<Secret | undefined> {
    // Once per source: the command may be slow, or ask a secret manager that counts requests.
    this.#value ??= this.#resolve();
    return this.#value;
  }

  /**
   * Keeps a token drover was just given (the bootstrap's): written to the file when the file is
   * the source; for any other source only confirmed to be what that source already says, since
   * drover writes nowhere but its own file. Never replaces a different token.
   */
  async keep(token: Secret): Promise<'written' | 'unchanged'> {
    checkToken(token.reveal(), 'the token to keep');
    if (this.origin.kind !== 'file') {
      const current = await this.read();
      if (current?.reveal() === token.reveal()) return 'unchanged';
      throw new UsageError(
        `the ACL management token comes from ${this.origin.where}, which holds another token; ` +
          `drover writes only ${this.file}: put the new token where the current one lives`,
      );
    }
    const outcome = await writeTokenFile(this.file, token);
    this.#value = Promise.resolve(token);
    return outcome;
  }

  async #resolve(): Promise<Secret | undefined> {
    const o = this.origin;
    switch (o.kind) {
      case 'inventory':
        return checked(o.token.reveal(), o.where);
      case 'env': {
        const value = this.#env[o.name];
        // CI systems pass an unset secret as an empty string, so empty counts as missing.
        if (value === undefined || value === '') throw problem(o.where, 'is not set or empty');
        return checked(value.trim(), o.where);
      }
      case 'command':
        return checked(
          await runTokenCommand(
            o.command,
            { timeoutSeconds: this.#timeoutSeconds, signal: this.#signal },
            o.where,
          ),
          o.where,
        );
      case 'file':
        return readTokenFile(o.file);
    }
  }
}

/** Some host asks for ACLs drover sets up (`consul_acl_enable: true`). */
export const aclWanted = (inventory: Inventory): boolean =>
  [...inventory.hosts.values()].some((h) => h.vars['consul_acl_enable'] === true);

export interface PreparedAclTokens {
  readonly inventory: Inventory;
  /**
   * Set when no management token existed and one was made for ACLs drover sets up: writes it
   * to the file beside the inventory (the bootstrap then uses it as its SecretID) and says so.
   * The caller runs it once the run may change things (after the lock), never in check mode.
   */
  readonly keepNew?: () => Promise<string>;
  /** For `plan`: a new token will be made; nothing was written. */
  readonly note?: string;
}

/**
 * The inventory with the management token, when there is one, in every host's
 * `drover_acl_token`: drover's own calls (gates, verify, members, keyring) carry it, so drover
 * operates a cluster whose ACLs someone else set up. With `consul_acl_enable`, each host also
 * gets the tokens its agent config names, derived from the management token
 * (derivedTokenSecret): its agent token, its services token (the one that registers the
 * services of its config files) and the DNS token (the agents' default token), and on
 * a server outside the primary datacenter (`consul_acl_datacenter`) the replication token; when
 * there is no management token yet and `makeIfMissing`, a new random one is made for the
 * bootstrap. Read before the first connection, so a bad source stops the command touching
 * nothing, and every rendered config is checked with its tokens in place.
 */
export async function prepareAclTokens(
  inventory: Inventory,
  o: AclTokenSourceOptions & { makeIfMissing?: boolean } = {},
): Promise<PreparedAclTokens> {
  const source = new AclTokenSource(inventory, o);
  const found = await source.read();
  const wanted = aclWanted(inventory);
  const primary = wanted ? aclPrimaryDatacenter(inventory) : undefined;
  if (wanted) {
    refuseTokenlessDeny(inventory);
    refuseTemplatedServiceNames(inventory);
  }
  if (wanted && !found && primary && !datacentersOf(inventory).has(primary)) {
    throw problem(
      `${inventory.file}: ${ACL_TOKEN_VAR}`,
      `is not given, and the ACL system lives in ${primary} (consul_acl_datacenter), which this inventory does not describe: ` +
        `give drover the management token of ${primary}'s ACL system (the token, { env: NAME } or { command: ... })`,
    );
  }
  if (!found && !(wanted && o.makeIfMissing)) return { inventory };
  const token = found ?? new Secret(randomUUID());
  // With ACLs drover sets up, each host also gets the tokens its config names, derived from this one.
  const dns = wanted ? derivedTokenSecret(token, 'dns') : undefined;
  const replication = primary ? derivedTokenSecret(token, 'replication') : undefined;
  const servers = new Set(inventory.groups.get('servers')?.hosts ?? []);
  const prepared = withHostVars(inventory, (host, vars) => ({
    // Before the ACL system is bootstrapped, a server with ACLs on refuses any token it does not
    // know: while the agents run without tokens, drover's calls carry none either.
    ...(vars['consul_acl_tokens'] !== false && { [ACL_TOKEN_VAR_OF_SESSION]: token }),
    ...(dns && {
      [ACL_MANAGEMENT_VAR_OF_SESSION]: token,
      [ACL_AGENT_TOKEN_VAR]: derivedTokenSecret(token, 'agent', host),
      [ACL_SERVICES_TOKEN_VAR]: derivedTokenSecret(token, 'services', host),
      [ACL_DNS_TOKEN_VAR]: dns,
    }),
    ...(replication &&
      servers.has(host) &&
      datacenterFromVars(vars) !== primary && { [ACL_REPLICATION_TOKEN_VAR]: replication }),
  }));
  if (found) return { inventory: prepared };
  return {
    inventory: prepared,
    note: `note: no ACL management token yet; deploy will make one and write it to ${source.file} (mode 0600)`,
    keepNew: async () => {
      await source.keep(token);
      return (
        `wrote a new ACL management token to ${source.file} (mode 0600); the ACL bootstrap uses it. ` +
        `Keep it with the inventory: it is the cluster's master key, and drover derives the agents' tokens from it`
      );
    },
  };
}

/** `prepareAclTokens` for commands that only read: uses a token, never makes one. */
export async function applyAclToken(inventory: Inventory, o: AclTokenSourceOptions = {}): Promise<Inventory> {
  return (await prepareAclTokens(inventory, o)).inventory;
}

/**
 * `consul_acl_tokens: false` leaves the agents without tokens while ACLs come on: only a default
 * policy of allow lets them (and drover) work then; under deny they could not even register.
 */
function refuseTokenlessDeny(inventory: Inventory): void {
  const host = [...inventory.hosts.values()].find(
    (h) =>
      h.vars['consul_acl_enable'] === true &&
      h.vars['consul_acl_tokens'] === false &&
      h.vars['consul_acl_default_policy'] !== 'allow',
  );
  if (host) {
    throw problem(
      `${inventory.file}: ${host.name}: consul_acl_tokens`,
      'is false (agents without tokens, the first step of turning ACLs on for a running cluster), which needs consul_acl_default_policy: allow',
    );
  }
}

/**
 * Each host's services token names its services (consul_acl, from the inventory as written):
 * a name that is still a template would get no identity, and under deny its service would
 * never register. Refused before connecting instead.
 */
function refuseTemplatedServiceNames(inventory: Inventory): void {
  for (const h of inventory.hosts.values()) {
    const services = h.vars['consul_services'];
    if (h.vars['consul_acl_enable'] !== true || !Array.isArray(services)) continue;
    services.forEach((s: unknown, i) => {
      const name = s !== null && typeof s === 'object' ? (s as Record<string, unknown>)['name'] : undefined;
      if (typeof name === 'string' && name.includes('{{')) {
        throw problem(
          `${inventory.file}: ${h.name}: consul_services[${i}].name`,
          "is a template: with consul_acl_enable each service is named in its host's services token (a service identity) before anything is rendered; write the name out",
        );
      }
    });
  }
}

const datacentersOf = (inventory: Inventory): Set<string> =>
  new Set([...inventory.hosts.values()].map((h) => datacenterFromVars(h.vars)));

/**
 * The primary datacenter of ACLs, `consul_acl_datacenter` (Consul's primary_datacenter):
 * only there is the ACL system bootstrapped, and the other datacenters' servers replicate
 * from it. It must be the same on every agent (Consul would otherwise run several ACL
 * systems, each its own primary), and an inventory with several datacenters must name it.
 * Undefined for one datacenter that names none: it is its own primary, and nothing is rendered.
 */
export function aclPrimaryDatacenter(inventory: Inventory): string | undefined {
  const hosts = [...inventory.hosts.values()].filter((h) => h.vars['consul_acl_enable'] === true);
  const named = new Set(hosts.map((h) => aclPrimaryFromVars(h.vars) ?? ''));
  if (named.size > 1) {
    throw problem(
      `${inventory.file}: consul_acl_datacenter`,
      `differs between hosts (${[...named].map((n) => JSON.stringify(n)).join(', ')}): every agent must name the same primary datacenter`,
    );
  }
  const primary = [...named][0] || undefined;
  const dcs = new Set(hosts.map((h) => datacenterFromVars(h.vars)));
  if (!primary && dcs.size > 1) {
    throw problem(
      `${inventory.file}: consul_acl_datacenter`,
      `is not set, and ACLs are on in several datacenters (${[...dcs].join(', ')}): name the primary one, ` +
        'where the ACL system is bootstrapped and which the others replicate from',
    );
  }
  return primary;
}

function originOf(
  inventory: Inventory,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
): AclTokenOrigin {
  const where = `${inventory.file}: ${ACL_TOKEN_VAR}`;
  const value = oneValue(inventory, where);
  if (value !== undefined) {
    if (isSecret(value)) return { kind: 'inventory', where, token: value };
    if (typeof value === 'string') return { kind: 'inventory', where, token: new Secret(value) };
    const ref = singleKey(value);
    if (ref?.key === 'env')
      return { kind: 'env', where: `environment variable ${ref.value} (${where})`, name: ref.value };
    if (ref?.key === 'command')
      return { kind: 'command', where: `${where} (its command)`, command: ref.value };
    throw problem(where, 'must be the token, { env: NAME } or { command: "..." }');
  }
  if (env[ACL_TOKEN_ENV])
    return { kind: 'env', where: `environment variable ${ACL_TOKEN_ENV}`, name: ACL_TOKEN_ENV };
  return { kind: 'file', where: file, file };
}

/** `{ env: NAME }` / `{ command: "..." }`: exactly one key, a non-empty string. */
function singleKey(value: unknown): { key: string; value: string } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  const [key, raw] = entries[0] ?? [];
  // The inventory loader keeps a command as a Secret (it may name a credential).
  const v: unknown = isSecret(raw) ? raw.reveal() : raw;
  return entries.length === 1 && key !== undefined && typeof v === 'string' && v.trim() !== ''
    ? { key, value: v }
    : undefined;
}

/** The one value every host that sets the var gives it: one management token serves the cluster. */
function oneValue(inventory: Inventory, where: string): unknown {
  const values = [...inventory.hosts.values()]
    .map((h) => h.vars[ACL_TOKEN_VAR])
    .filter((v) => v !== undefined);
  const shown = (v: unknown): string => (isSecret(v) ? `secret:${v.reveal()}` : JSON.stringify(v));
  if (new Set(values.map(shown)).size > 1)
    throw problem(where, 'differs between hosts; one management token serves the whole cluster');
  return values[0];
}

const problem = (where: string, message: string): ConfigError => new ConfigError([{ file: where, message }]);

function checkToken(text: string, where: string): void {
  if (!TOKEN_SHAPE.test(text)) throw problem(where, 'is not a Consul ACL token (a SecretID is a UUID)');
}

/**
 * A token an operator gives: Consul still accepts a non-UUID initial management token (with a
 * deprecation warning), so any single word is taken; what drover keeps must be a SecretID.
 */
function checked(text: string, where: string): Secret {
  const token = text.trim();
  if (token === '' || /\s/.test(token))
    throw problem(where, 'is not a Consul ACL token (one word, no spaces)');
  return new Secret(token);
}

// ---------------------------------------------------------------------------------------------
// The file beside the inventory

async function readTokenFile(file: string): Promise<Secret | undefined> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // private-file.ts refuses this too; here the message carries the command to run.
  if ((mode & 0o077) !== 0) {
    throw problem(
      file,
      `group or others have access to the ACL management token (mode ${(mode & 0o777).toString(8)}): ` +
        `run chmod 600 ${quote(file)}`,
    );
  }
  const text = await readPrivateFile(file, 'ACL management token');
  return text === undefined ? undefined : checked(text, file);
}

/**
 * Writes the token atomically: a new 0600 file beside it, then a hard link to the final name,
 * which fails rather than replace a file another run made in the meantime. A cut-short run
 * leaves at most the temp file, never a half-written token.
 */
async function writeTokenFile(file: string, token: Secret): Promise<'written' | 'unchanged'> {
  const existing = await readTokenFile(file);
  if (existing) return sameOrRefuse(file, existing, token);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = await syncedTempBeside(file, `${token.reveal()}\n`, 0o600);
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const raced = await readTokenFile(file);
    if (!raced) throw err;
    return sameOrRefuse(file, raced, token);
  } finally {
    await unlink(tmp);
  }
  return 'written';
}

function sameOrRefuse(file: string, existing: Secret, token: Secret): 'unchanged' {
  if (existing.reveal() === token.reveal()) return 'unchanged';
  throw new UsageError(
    `${file} holds another ACL management token; drover never replaces it ` +
      '(if that token is truly lost: remove the file, then bootstrap again through the reset index)',
  );
}

// ---------------------------------------------------------------------------------------------
// `{ command: "..." }`

const MAX_STDOUT = 64 * 1024;
const MAX_STDERR = 4 * 1024;

/**
 * Runs `command` with `sh -c` in a process group of its own (killed whole at the time limit or
 * on Ctrl-C, so a CLI it started does not linger: being a group of its own, it does not get the
 * terminal's SIGINT), and returns the first line of its output. On failure only the first line
 * of stderr is shown, cut short and scrubbed of what stdout held.
 */
function runTokenCommand(
  command: string,
  o: { timeoutSeconds: number; signal: AbortSignal | undefined },
  where: string,
): Promise<string> {
  const { timeoutSeconds, signal } = o;
  if (signal?.aborted) return Promise.reject(new InterruptedError(`${where}: interrupted`));
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const stop = (): void => {
      killGroup(child.pid);
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const onAbort = (): void => {
      stop();
      settle(() => reject(new InterruptedError(`${where}: interrupted`)));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => {
      if (stdout.length < MAX_STDOUT) stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += c.toString('utf8');
    });
    // The bound holds even if something the command started left the group and keeps the pipes
    // open: the answer does not wait for them to close.
    const timer = setTimeout(() => {
      stop();
      settle(() => reject(problem(where, `did not finish within ${timeoutSeconds}s`)));
    }, timeoutSeconds * 1000);
    child.on('error', (err) => settle(() => reject(problem(where, `could not be run: ${err.message}`))));
    child.on('close', (code, signal) =>
      settle(() => {
        // The first line, as `vault kv get -field=...` and `op read` print the value alone on it.
        const token = (stdout.split('\n')[0] ?? '').trim();
        if (code !== 0) {
          const said = redactText(firstSaid(stderr), token ? [token] : []).slice(0, 200);
          const how = code === null ? `was killed (${signal ?? 'signal'})` : `exited with ${code}`;
          return reject(problem(where, `${how}${said ? `: ${said}` : ''}`));
        }
        if (!token) return reject(problem(where, 'printed no token'));
        resolve(token);
      }),
    );
  });
}

/** The first line with something on it: what a failing CLI says first is what it failed of. */
const firstSaid = (text: string): string =>
  text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '') ?? '';

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
