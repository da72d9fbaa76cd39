/**
 * Services from the inventory and multi-datacenter clusters, end to end on the lab:
 *   - two services declared on the clients are in the catalog and answer over DNS after deploy;
 *     removing one from the inventory and applying again removes it, and no agent restarts;
 *   - two datacenters of 3 servers each (+ a client each): deploy, verify with WAN members, and
 *     a cross-datacenter DNS lookup (NAME.service.OTHER-DC.consul).
 * Hosts come from pickHosts() (LAB_FIRST_HOST moves them while developing).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pickHosts, sshOk, type LabHost } from '../lab/lab.js';
import {
  cleanUp as clean,
  CONFIG_DIR,
  drover,
  parseRecap,
  twoDatacenterGroups,
  writeInventory,
  yamlHosts,
} from './drover-cli.js';

async function deploy(inventory: string): Promise<Record<string, Record<string, number>>> {
  const r = await drover(['deploy', '-i', inventory]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return parseRecap(r.stdout);
}

/** Services on the clients, checked against the agent's own HTTP port (always up on a healthy node). */
const WEB = `{ name: web, port: 8500, tags: [v1], meta: { team: edge }, checks: [{ http: "http://127.0.0.1:8500/v1/status/leader", interval: 2s }] }`;
const API = `{ name: api, port: 8500, checks: [{ tcp: "127.0.0.1:8500", interval: 2s, timeout: 1s }] }`;

/** When each agent container last started, and how often docker restarted it. */
const startTimes = async (hosts: readonly LabHost[]) =>
  Object.fromEntries(
    await Promise.all(
      hosts.map(
        async (h) =>
          [
            h.name,
            (
              await sshOk(h.name, "docker inspect -f '{{.Id}} {{.State.StartedAt}} {{.RestartCount}}' consul")
            ).trim(),
          ] as const,
      ),
    ),
  );

const catalogServices = async (host: string): Promise<Record<string, string[]>> =>
  JSON.parse(
    await sshOk(host, 'docker exec consul wget -qO- http://127.0.0.1:8500/v1/catalog/services'),
  ) as Record<string, string[]>;

interface VerifyJson {
  ok: boolean;
  problems: string[];
  datacenters?: { name: string; report: { ok: boolean; leader?: { host?: string } } }[];
  wan?: { ok: boolean; checkedFrom: string[] };
  services?: {
    name: string;
    datacenter: string;
    dns: { from: string; query: string; addresses: string[]; ok: boolean }[];
  }[];
}

async function verifyJson(inventory: string): Promise<VerifyJson> {
  const r = await drover(['verify', '-i', inventory, '--output', 'json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout) as VerifyJson;
}

describe('services from the inventory', () => {
  const hosts = pickHosts(5);
  const servers = hosts.slice(0, 3);
  const clients = hosts.slice(3);
  const files: string[] = [];
  const inventory = (services: string) => {
    const file = writeInventory(
      `    servers:\n      hosts:\n${yamlHosts(servers, '        ')}\n` +
        `    clients:\n      vars:\n        consul_services: [${services}]\n      hosts:\n${yamlHosts(clients, '        ')}`,
    );
    files.push(file);
    return file;
  };
  before(() => clean(hosts));
  after(() => {
    for (const f of files) rmSync(join(f, '..'), { recursive: true, force: true });
  });

  it('deploys two services on the clients: files, catalog, and DNS answers from every client', async () => {
    const inv = inventory(`${WEB}, ${API}`);
    await deploy(inv);
    for (const c of clients) {
      const listing = await sshOk(c.name, `ls ${CONFIG_DIR}`);
      assert.match(listing, /^drover-service-api\.json$/m);
      assert.match(listing, /^drover-service-web\.json$/m);
    }
    assert.deepEqual(Object.keys(await catalogServices(servers[0]!.name)).sort(), ['api', 'consul', 'web']);
    const report = await verifyJson(inv);
    assert.equal(report.ok, true, report.problems.join('\n'));
    const web = report.services?.find((s) => s.name === 'web');
    assert.deepEqual(web?.dns[0]?.addresses, clients.map((c) => c.address).sort());
    assert.equal(web?.dns[0]?.query, 'web.service.consul');
    const text = await drover(['verify', '-i', inv]);
    assert.match(
      text.stdout,
      /^Services OK: every declared instance is in the catalog and answered by DNS\.$/m,
    );
  });

  it('removing a service from the inventory removes it everywhere, with a reload and no restart', async () => {
    const before = await startTimes(hosts);
    const inv = inventory(WEB);
    const recap = await deploy(inv);
    for (const c of clients) assert.ok(recap[c.name]!['changed']! > 0, `${c.name} changed`);
    for (const s of servers) assert.equal(recap[s.name]?.['changed'] ?? 0, 0, `${s.name} changed`);
    for (const c of clients) {
      const listing = await sshOk(c.name, `ls ${CONFIG_DIR}`);
      assert.doesNotMatch(listing, /drover-service-api\.json/);
      assert.match(listing, /^drover-service-web\.json$/m);
    }
    assert.deepEqual(Object.keys(await catalogServices(servers[0]!.name)).sort(), ['consul', 'web']);
    const report = await verifyJson(inv);
    assert.deepEqual(
      report.services?.map((s) => s.name),
      ['web'],
    );
    assert.deepEqual(await startTimes(hosts), before, 'no agent was restarted or recreated');
  });

  it('deploying the same services again changes nothing', async () => {
    for (const [h, counts] of Object.entries(await deploy(inventory(WEB)))) {
      assert.equal(counts['changed'], 0, `${h} changed`);
    }
  });
});

describe('two datacenters on one inventory', () => {
  const hosts = pickHosts(8);
  const east = hosts.slice(0, 3);
  const west = hosts.slice(3, 6);
  const eastClient = hosts[6]!;
  const westClient = hosts[7]!;
  let inv = '';
  before(async () => {
    await clean(hosts);
    inv = writeInventory(
      twoDatacenterGroups({
        east,
        west,
        eastClients: [eastClient],
        westClients: [westClient],
        clientVars: `        consul_services: [${WEB}]`,
      }),
      // TLS as drover's default gives it: on, for two new datacenters under one CA.
      { consul_tls_enable: undefined },
    );
  });
  after(async () => {
    rmSync(join(inv, '..'), { recursive: true, force: true });
    await clean(hosts);
  });

  it('deploys 2 x 3 servers: each datacenter elects its own leader, and the WAN joins them', async () => {
    await deploy(inv);
    const config = JSON.parse(await sshOk(west[0]!.name, `cat ${CONFIG_DIR}/consul.json`)) as Record<
      string,
      unknown
    >;
    assert.equal(config['datacenter'], 'west');
    assert.equal(config['bootstrap_expect'], 3);
    assert.deepEqual(
      config['retry_join'],
      west.map((h) => h.address),
    );
    assert.deepEqual(
      config['retry_join_wan'],
      east.map((h) => h.address),
    );

    const report = await verifyJson(inv);
    assert.equal(report.ok, true, report.problems.join('\n'));
    assert.deepEqual(
      report.datacenters?.map((d) => [d.name, d.report.ok]),
      [
        ['east', true],
        ['west', true],
      ],
    );
    assert.equal(report.wan?.ok, true);
    assert.equal(report.wan?.checkedFrom.length, 6);
    const wan = await sshOk(east[0]!.name, 'docker exec consul consul members -wan');
    for (const h of east)
      assert.match(
        wan,
        new RegExp(`^${h.name}\\.east\\s+${h.address.replace(/\./g, '\\.')}:8302\\s+alive\\s+server`, 'm'),
      );
    for (const h of west)
      assert.match(
        wan,
        new RegExp(`^${h.name}\\.west\\s+${h.address.replace(/\./g, '\\.')}:8302\\s+alive\\s+server`, 'm'),
      );
  });

  it('resolves a service of one datacenter from the other (web.service.west.consul)', async () => {
    const report = await verifyJson(inv);
    const dns = report.services?.flatMap((s) =>
      s.dns.map((d) => [s.datacenter, d.from, d.query, d.addresses.join(), d.ok]),
    );
    assert.deepEqual(dns, [
      ['east', eastClient.name, 'web.service.consul', eastClient.address, true],
      ['east', westClient.name, 'web.service.east.consul', eastClient.address, true],
      ['west', westClient.name, 'web.service.consul', westClient.address, true],
      ['west', eastClient.name, 'web.service.west.consul', westClient.address, true],
    ]);
    const text = await drover(['verify', '-i', inv]);
    assert.equal(text.code, 0, text.stdout + text.stderr);
    assert.match(text.stdout, /^=== datacenter east$/m);
    assert.match(text.stdout, /^WAN OK: every server of every datacenter is an alive WAN member/m);
    assert.match(text.stdout, /^Deployment OK\.$/m);
  });
});
