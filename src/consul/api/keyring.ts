import { httpStep, mapStep, type Step } from '../../remote/step.js';
import { Secret } from '../../shell/secret.js';
import type { HttpRequest, HttpResponse } from '../../ssh/transport.js';
import { ConsulOutputError } from './output-error.js';

/**
 * Gossip keyring operations over Consul's HTTP API (`/v1/operator/keyring`), the same calls
 * `consul keyring -list/-install/-use/-remove` makes: each is fanned out by the agent to every
 * alive member. The key travels in the request body, never in a command line, and answers are
 * reduced to counts at once, so no key is kept in clear text beyond this file.
 */
export const KEYRING_PATH = '/v1/operator/keyring';

/** One gossip pool's answer: per key, how many members have it installed / as primary. */
export interface KeyringPool {
  wan: boolean;
  datacenter: string;
  numNodes: number;
  /** Clear-text keys as Secrets, with their install counts. */
  keys: { key: Secret; installed: number; primary: number }[];
}

export function parseKeyringList(body: string): KeyringPool[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ConsulOutputError(`GET ${KEYRING_PATH}`, 'did not answer JSON');
  }
  if (!Array.isArray(value))
    throw new ConsulOutputError(`GET ${KEYRING_PATH}`, 'expected a JSON list of pools');
  return value.map((raw, i) => {
    const p = (raw ?? {}) as Record<string, unknown>;
    const keys = counts(p['Keys']);
    const primaries = counts(p['PrimaryKeys']);
    if (!keys || typeof p['NumNodes'] !== 'number') {
      throw new ConsulOutputError(`GET ${KEYRING_PATH}`, `[${i}]: expected Keys and NumNodes`);
    }
    const all = new Set([...Object.keys(keys), ...Object.keys(primaries ?? {})]);
    return {
      wan: p['WAN'] === true,
      datacenter: typeof p['Datacenter'] === 'string' ? p['Datacenter'] : '',
      numNodes: p['NumNodes'],
      keys: [...all].map((k) => ({
        key: new Secret(k),
        installed: keys[k] ?? 0,
        primary: primaries?.[k] ?? 0,
      })),
    };
  });
}

function counts(v: unknown): Record<string, number> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

/** How one key stands across the pools: installed on every member, primary on every member. */
export interface KeyStanding {
  /** Members in the LAN pool (the WAN pool holds the servers only). */
  members: number;
  installedEverywhere: boolean;
  primaryEverywhere: boolean;
  installedAnywhere: boolean;
  /** How many different primary keys are in use (1 when the cluster agrees). */
  primaries: number;
}

export function standingOf(pools: readonly KeyringPool[], key: Secret): KeyStanding {
  const k = key.reveal();
  const entry = (p: KeyringPool) => p.keys.find((e) => e.key.reveal() === k);
  const lan = pools.find((p) => !p.wan) ?? pools[0];
  return {
    members: lan?.numNodes ?? 0,
    installedEverywhere: pools.length > 0 && pools.every((p) => (entry(p)?.installed ?? 0) >= p.numNodes),
    primaryEverywhere: pools.length > 0 && pools.every((p) => (entry(p)?.primary ?? 0) >= p.numNodes),
    installedAnywhere: pools.some((p) => (entry(p)?.installed ?? 0) > 0),
    primaries: Math.max(0, ...pools.map((p) => p.keys.filter((e) => e.primary > 0).length)),
  };
}

export type KeyringOp = 'install' | 'use' | 'remove';
const METHOD = { install: 'POST', use: 'PUT', remove: 'DELETE' } as const;

/** The agent a keyring call goes to, as seen from the host whose connection carries it. */
export interface KeyringTarget {
  /** 127.0.0.1 by default: the host's own agent, which fans the call out. */
  host?: string;
  port?: number;
  timeoutSeconds?: number;
  /** The ACL token the call carries (keyring:read to list, keyring:write to change). */
  token?: Secret;
}

/** The keyring as every member reports it (`consul keyring -list`): a read step. */
export function keyringListStep(target: KeyringTarget = {}): Step<KeyringPool[]> {
  return mapStep(httpStep(keyringRequest('GET', target)), (res, site) =>
    parseKeyringList(answerBody('GET', res, site.host)),
  );
}

/** install / use / remove of `key` on every alive member: a write step. The key is in the body only. */
export function keyringChangeStep(op: KeyringOp, key: Secret, target: KeyringTarget = {}): Step<void> {
  const method = METHOD[op];
  const request = keyringRequest(method, target, JSON.stringify({ Key: key.reveal() }));
  return mapStep(httpStep(request), (res, site) => {
    answerBody(method, res, site.host, key);
  });
}

function keyringRequest(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  target: KeyringTarget,
  body?: string,
): HttpRequest {
  return {
    method,
    host: target.host ?? '127.0.0.1',
    port: target.port ?? 8500,
    path: KEYRING_PATH,
    ...(body !== undefined && { body }),
    ...(target.token && { token: target.token }),
    // The transport bounds every request by this.
    timeoutSeconds: target.timeoutSeconds ?? 30,
  };
}

function answerBody(method: string, res: HttpResponse, host: string, key?: Secret): string {
  if (res.status === 200) return res.body;
  // Consul's errors name members, not keys; scrub anyway.
  const text = key ? res.body.split(key.reveal()).join('<redacted>') : res.body;
  throw new ConsulOutputError(
    `${method} ${KEYRING_PATH}`,
    `HTTP ${res.status} from ${host}: ${text.trim().slice(0, 400)}`,
  );
}
