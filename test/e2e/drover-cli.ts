/** Runs the real `drover` command line, as a user or a CI job would, for the e2e tests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONSUL_IMAGE,
  KNOWN_HOSTS,
  LAB_DIR,
  run,
  SSH_KEY,
  ssh,
  sshOk,
  type LabHost,
  type RunResult,
} from '../lab/lab.js';

export const ROOT = join(LAB_DIR, '..', '..');
export const LAB_INVENTORY = join(ROOT, 'inventories', 'lab.yaml');

export function drover(
  args: readonly string[],
  timeoutSeconds = 240,
  env: Record<string, string> = {},
): Promise<RunResult> {
  return run(process.execPath, [join(ROOT, 'bin', 'drover.js'), ...args], timeoutSeconds, env);
}

/** The PLAY RECAP lines as {host: {ok, changed, ...}}. */
export function parseRecap(output: string): Record<string, Record<string, number>> {
  const recap: Record<string, Record<string, number>> = {};
  for (const m of output.matchAll(/^(\S+)\s+:\s+(.*)$/gm)) {
    const counts = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((c) => [c[1]!, Number(c[2])]));
    if ('changed' in counts) recap[m[1]!] = counts;
  }
  return recap;
}

/**
 * TLS off unless a test turns it on: most tests are about something else, and speak plain HTTP
 * to the agents. drover's default (TLS on for a new cluster) is tested through
 * inventories/lab.yaml (deploy.test.ts), the production example, two datacenters
 * (services.test.ts), and a running plain cluster keeping it off (servers-only.test.ts).
 */
const PINNED_LAB_VARS = { consul_tls_enable: false };

/**
 * What every lab cluster's inventory says (as inventories/lab.yaml does, with absolute key
 * paths): the lab's SSH, the registry's image, fast joins and elections.
 */
export const LAB_CLUSTER_VARS = {
  ssh_user: 'root',
  ssh_key: SSH_KEY,
  ssh_known_hosts: KNOWN_HOSTS,
  consul_datacenter: 'lab',
  consul_image: CONSUL_IMAGE,
  consul_config_dir: '/opt/platform/consul/config',
  consul_data_dir: '/opt/platform/consul/data',
  consul_retry_interval: '2s',
  consul_raft_multiplier: 1,
} as const;

/**
 * Writes an inventory for a cluster on the given lab hosts (like inventories/lab.yaml, with
 * absolute key paths) to a temp file, and returns its path.
 */
export function writeLabInventory(o: {
  servers: readonly LabHost[];
  clients: readonly LabHost[];
  /** `consul_tls_enable: undefined` leaves TLS to drover's default (PINNED_LAB_VARS). */
  vars?: Record<string, string | number | boolean | undefined>;
}): string {
  const hostLines = (hosts: readonly LabHost[]) =>
    hosts.map((h) => `        ${h.name}:\n          address: ${h.address}`).join('\n');
  const vars = { ...LAB_CLUSTER_VARS, ...PINNED_LAB_VARS, ...o.vars };
  const text =
    `all:\n  vars:\n${Object.entries(vars)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
      .join('\n')}\n` +
    `  children:\n    servers:\n      hosts:\n${hostLines(o.servers)}\n` +
    (o.clients.length > 0 ? `    clients:\n      hosts:\n${hostLines(o.clients)}\n` : '');
  const file = join(mkdtempSync(join(tmpdir(), 'drover-inv-')), 'inventory.yaml');
  writeFileSync(file, text);
  return file;
}

/** Where the e2e clusters keep their agent config (as inventories/lab.yaml does). */
export const CONFIG_DIR = '/opt/platform/consul/config';

export const yamlHosts = (hosts: readonly LabHost[], indent: string): string =>
  hosts.map((h) => `${indent}${h.name}: { address: ${h.address} }`).join('\n');
export const yamlRefs = (hosts: readonly LabHost[]): string => hosts.map((h) => `${h.name}: `).join(', ');

/**
 * An inventory file with the lab's connection vars (plus `vars`); `groups` is YAML under
 * `children:` (indented 4). Returns its path, in a temp dir of its own.
 */
export function writeInventory(
  groups: string,
  vars: Record<string, string | number | boolean | undefined> = {},
): string {
  const all = { ...LAB_CLUSTER_VARS, ...PINNED_LAB_VARS, ...vars };
  const text = `all:\n  vars:\n${Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n')}\n  children:\n${groups}\n`;
  const file = join(mkdtempSync(join(tmpdir(), 'drover-inv-')), 'inventory.yaml');
  writeFileSync(file, text);
  return file;
}

/**
 * The groups of a two-datacenter inventory (docs/multi-datacenter.md): every server in `servers`,
 * every client in `clients` (with `clientVars`, YAML lines indented 8), and `dc_east`/`dc_west`
 * setting `consul_datacenter` for their hosts.
 */
export function twoDatacenterGroups(o: {
  east: readonly LabHost[];
  west: readonly LabHost[];
  eastClients?: readonly LabHost[];
  westClients?: readonly LabHost[];
  clientVars?: string;
}): string {
  const eastClients = o.eastClients ?? [];
  const westClients = o.westClients ?? [];
  const clients = [...eastClients, ...westClients];
  return [
    `    servers:\n      hosts:\n${yamlHosts([...o.east, ...o.west], '        ')}`,
    ...(clients.length > 0
      ? [
          `    clients:\n${o.clientVars ? `      vars:\n${o.clientVars}\n` : ''}      hosts:\n${yamlHosts(clients, '        ')}`,
        ]
      : []),
    `    dc_east:\n      vars: { consul_datacenter: east }\n      hosts: { ${yamlRefs([...o.east, ...eastClients])} }`,
    `    dc_west:\n      vars: { consul_datacenter: west }\n      hosts: { ${yamlRefs([...o.west, ...westClients])} }`,
  ].join('\n');
}

/**
 * Removes the agent container and everything drover wrote, on every host, the deploy lock
 * included: a run that a test killed (its own timeout, or SIGKILL on purpose) cannot release
 * it, and a test file must not start on hosts another file's run still holds.
 */
export async function cleanUp(hosts: readonly LabHost[]): Promise<void> {
  await Promise.all(
    hosts.map((h) =>
      ssh(h.name, 'docker rm -f consul >/dev/null 2>&1; rm -rf /opt/platform /var/lib/drover/lock'),
    ),
  );
}

/** When each host's agent container last started. */
export const startedAt = async (hosts: readonly LabHost[]): Promise<Record<string, string>> =>
  Object.fromEntries(
    await Promise.all(
      hosts.map(
        async (h) =>
          [h.name, (await sshOk(h.name, "docker inspect -f '{{.State.StartedAt}}' consul")).trim()] as const,
      ),
    ),
  );

/** The `restarted: a, b` line of a roll's output. */
export const restartedLine = (out: string): string[] =>
  /^(?:restarted|would restart, in this order): (.*)$/m
    .exec(out)?.[1]
    ?.split(', ')
    .filter((h) => h !== 'no host') ?? [];

/**
 * GET /v1/status/leader from this machine; undefined when the agent does not answer within 1s.
 * Plain HTTP on 8500 at the server's address, else, given the cluster's CA, HTTPS on 8501 (a TLS
 * agent serves plain HTTP on 127.0.0.1 only).
 */
export async function leaderSeenBy(h: LabHost, ca?: string): Promise<string | undefined> {
  const plain = await leaderOver(request, { host: h.address, port: 8500 });
  return plain !== undefined || ca === undefined
    ? plain
    : leaderOver(httpsRequest, { host: h.address, port: 8501, ca });
}

function leaderOver(
  send: typeof request,
  target: { host: string; port: number; ca?: string },
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = send({ ...target, path: '/v1/status/leader', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(body) as string) : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The inventory host that leads `servers` (one datacenter) now, as the first answering server says. */
export async function leaderHost(servers: readonly LabHost[]): Promise<LabHost> {
  for (const s of servers) {
    const leader = await leaderSeenBy(s);
    const found = leader ? servers.find((h) => `${h.address}:8300` === leader) : undefined;
    if (found) return found;
  }
  throw new Error('no server names a leader');
}

/**
 * Polls every server's /v1/status/leader about every 200ms until stopped, and records the fewest
 * servers that answered in one round (overall, and per group of `datacenters`, default all the
 * servers as one) and the longest run of rounds in which some datacenter had no leader: no
 * server named by a majority of its servers while answering itself and naming itself. (A
 * follower goes on naming a dead leader until its heartbeat timeout, so names alone are not
 * enough.) The run is timed from its first such round to its last, so one such round counts 0.
 * Bounded by `maxSeconds` in any case; `ca` lets it ask TLS agents over HTTPS (a function: read
 * again each round, for a CA that changes while it watches).
 */
export function watchServers(
  servers: readonly LabHost[],
  maxSeconds = 180,
  datacenters: readonly (readonly LabHost[])[] = [servers],
  o: { ca?: string | (() => string) } = {},
) {
  let stop = false;
  let fewest = servers.length;
  const fewestPer = datacenters.map((dc) => dc.length);
  let rounds = 0;
  let leaderlessSince: number | undefined;
  let longestLeaderlessMs = 0;
  const done = (async () => {
    const deadline = Date.now() + maxSeconds * 1000;
    while (!stop && Date.now() < deadline) {
      const ca = typeof o.ca === 'function' ? o.ca() : o.ca;
      const answers = await Promise.all(servers.map((h) => leaderSeenBy(h, ca)));
      const seen = new Map(servers.map((h, i) => [h, answers[i]]));
      const answered = servers.filter((h) => seen.get(h) !== undefined);
      fewest = Math.min(fewest, answered.length);
      datacenters.forEach((dc, i) => {
        fewestPer[i] = Math.min(fewestPer[i] as number, dc.filter((h) => answered.includes(h)).length);
      });
      const now = Date.now();
      if (datacenters.every((dc) => hasLeader(dc, seen))) leaderlessSince = undefined;
      else {
        leaderlessSince ??= now;
        longestLeaderlessMs = Math.max(longestLeaderlessMs, now - leaderlessSince);
      }
      rounds++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop(): Promise<{
      fewest: number;
      fewestPer: number[];
      rounds: number;
      longestLeaderlessMs: number;
    }> {
      stop = true;
      await done;
      return { fewest, fewestPer, rounds, longestLeaderlessMs };
    },
  };
}

/** A server of `dc` that a majority of `dc` names as leader, and that names itself. */
function hasLeader(dc: readonly LabHost[], seen: ReadonlyMap<LabHost, string | undefined>): boolean {
  return dc.some((h) => {
    const self = `${h.address}:8300`;
    const naming = dc.filter((x) => seen.get(x) === self).length;
    return seen.get(h) === self && naming * 2 > dc.length;
  });
}
