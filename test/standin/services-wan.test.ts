/**
 * The stand-in's services and WAN federation: service definitions from their own config files
 * (with http/tcp checks), `consul reload` adding and removing them without a restart, the
 * catalog and health endpoints, DNS for services, and two datacenters joined over the WAN
 * (`members -wan`, `?dc=`, `NAME.service.DC.consul`). One server per datacenter keeps it fast.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, cleanup, dnsQuery, parseTable, runCli, tempDir, waitFor } from './harness.js';
import { LoopbackTransport } from './loopback-transport.js';
import type { ExpectedNode } from '../../src/consul/verify/cluster-model.js';
import type { ExpectedService } from '../../src/consul/verify/expected-services.js';
import { formatDeploymentReport } from '../../src/consul/verify/verify-deployment-format.js';
import { verifyDeployment } from '../../src/consul/verify/verify-deployment.js';

const S1 = '127.0.0.171';
const C1 = '127.0.0.174';
const S2 = '127.0.0.181';
const C2 = '127.0.0.184';

const MEMBER_COLUMNS = [
  'Node',
  'Address',
  'Status',
  'Type',
  'Build',
  'Protocol',
  'DC',
  'Partition',
  'Segment',
];

type CatalogRow = {
  Node: string;
  Address: string;
  ServiceName: string;
  ServicePort: number;
  Datacenter: string;
};
type HealthRow = {
  Node: { Node: string };
  Service: { Service: string };
  Checks: { CheckID: string; Status: string }[];
};

const json = async <T>(a: Agent, path: string): Promise<T> => {
  const r = await a.http(path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
};

function writeService(a: Agent, name: string, definition: Record<string, unknown>): void {
  writeFileSync(
    join(a.configDir, `drover-service-${name}.json`),
    JSON.stringify({ service: { name, ...definition } }),
  );
}

describe('stand-in services and WAN federation', () => {
  let root: string;
  let s1: Agent;
  let c1: Agent;
  let s2: Agent;
  let c2: Agent;

  before(async () => {
    root = tempDir('standin-wan-');
    const server = (ip: string, name: string, dc: string, wan: string[]) =>
      new Agent(
        {
          ip,
          name,
          server: true,
          bootstrapExpect: 1,
          extra: { datacenter: dc, retry_join_wan: wan, retry_interval_wan: '1s' },
        },
        root,
      );
    s1 = server(S1, 's1', 'dc1', [S2]);
    s2 = server(S2, 's2', 'dc2', []);
    c1 = new Agent({ ip: C1, name: 'c1', retryJoin: [S1] }, root);
    c2 = new Agent({ ip: C2, name: 'c2', retryJoin: [S2], extra: { datacenter: 'dc2' } }, root);
    writeService(c1, 'web', {
      port: 8500,
      tags: ['v1'],
      meta: { team: 'edge' },
      checks: [{ http: `http://${C1}:8500/v1/status/leader`, interval: '1s' }],
    });
    writeService(c1, 'api', { port: 8500, check: { tcp: `${C1}:8500`, interval: '1s', timeout: '1s' } });
    writeService(c2, 'web', { port: 8500, checks: [{ tcp: `${C2}:8500`, interval: '1s' }] });
    for (const a of [s1, s2, c1, c2]) a.start();
    await waitFor(
      'leaders in both datacenters',
      async () => (await s1.leader()) !== '' && (await s2.leader()) !== '',
      20000,
    );
  });
  after(cleanup);

  it('registers one service per config file, with its checks passing, in the catalog and health endpoints', async () => {
    await waitFor('web and api in the catalog', async () => {
      const services = await json<Record<string, string[]>>(s1, '/v1/catalog/services');
      return 'web' in services && 'api' in services;
    });
    const web = await json<CatalogRow[]>(s1, '/v1/catalog/service/web');
    assert.deepEqual(
      web.map((r) => [r.Node, r.Address, r.ServicePort, r.Datacenter]),
      [['c1', C1, 8500, 'dc1']],
    );
    await waitFor('checks passing', async () => {
      const rows = await json<HealthRow[]>(c1, '/v1/health/service/api?passing');
      return rows.length === 1;
    });
    const health = await json<HealthRow[]>(c1, '/v1/health/service/api');
    assert.deepEqual(
      health[0]!.Checks.map((c) => [c.CheckID, c.Status]),
      [
        ['serfHealth', 'passing'],
        ['service:api', 'passing'],
      ],
    );
    const checks = await json<Record<string, { Status: string; ServiceName: string; Type: string }>>(
      c1,
      '/v1/agent/checks',
    );
    assert.deepEqual(Object.keys(checks).sort(), ['service:api', 'service:web']);
    assert.equal(checks['service:web']!.Type, 'http');
  });

  it('answers DNS for services with healthy instances only', async () => {
    await waitFor(
      'web over DNS',
      async () => (await dnsQuery(S1, 'web.service.consul')).addresses.join() === C1,
    );
    assert.deepEqual((await dnsQuery(C1, 'v1.web.service.dc1.consul')).addresses, [C1]);
    assert.equal((await dnsQuery(C1, 'v2.web.service.consul')).rcode, 3);
    writeService(c1, 'broken', { port: 1, checks: [{ tcp: `${C1}:1`, interval: '1s' }] });
    assert.equal((await c1.cli('reload')).code, 0);
    await waitFor(
      'broken in the catalog',
      async () => (await json<CatalogRow[]>(s1, '/v1/catalog/service/broken')).length === 1,
    );
    // Critical from the start, so never in DNS.
    assert.equal((await dnsQuery(S1, 'broken.service.consul')).rcode, 3);
    assert.equal((await json<HealthRow[]>(s1, '/v1/health/service/broken?passing')).length, 0);
  });

  it('consul reload removes a deleted definition without restarting the agent', async () => {
    const pid = c1.proc?.pid;
    rmSync(join(c1.configDir, 'drover-service-api.json'));
    rmSync(join(c1.configDir, 'drover-service-broken.json'));
    const r = await c1.cli('reload');
    assert.equal(r.stdout, 'Configuration reload triggered\n');
    await waitFor(
      'api gone from the catalog',
      async () => !('api' in (await json<Record<string, string[]>>(s1, '/v1/catalog/services'))),
    );
    assert.equal((await dnsQuery(S1, 'api.service.consul')).rcode, 3);
    assert.deepEqual((await dnsQuery(S1, 'web.service.consul')).addresses, [C1]);
    assert.equal(c1.proc?.pid, pid);
    assert.equal(c1.proc?.exitCode, null);
  });

  it('a reload with a bad check definition fails and keeps the running services', async () => {
    writeService(c1, 'nointerval', { port: 80, checks: [{ http: 'http://127.0.0.1/' }] });
    const r = await c1.cli('reload');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /service "nointerval": Check is not valid: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or GRPC checks/,
    );
    const v = await runCli(['validate', c1.configDir]);
    assert.equal(v.code, 1);
    rmSync(join(c1.configDir, 'drover-service-nointerval.json'));
    assert.ok('web' in (await json<Record<string, string[]>>(s1, '/v1/catalog/services')));
  });

  it('joins the servers of both datacenters over the WAN: members -wan, datacenters, known_datacenters', async () => {
    await waitFor('both servers in the WAN pool', async () => {
      const r = await s2.cli('members', '-wan');
      return (
        r.code === 0 && parseTable(r.stdout, MEMBER_COLUMNS).filter((m) => m.Status === 'alive').length === 2
      );
    });
    const rows = parseTable((await s1.cli('members', '-wan')).stdout, MEMBER_COLUMNS);
    assert.deepEqual(
      rows.map((m) => [m.Node, m.Address, m.Status, m.Type, m.DC]),
      [
        ['s1.dc1', `${S1}:8302`, 'alive', 'server', 'dc1'],
        ['s2.dc2', `${S2}:8302`, 'alive', 'server', 'dc2'],
      ],
    );
    assert.deepEqual(await json<string[]>(c1, '/v1/catalog/datacenters'), ['dc1', 'dc2']);
    assert.deepEqual(await json<string[]>(c2, '/v1/catalog/datacenters'), ['dc2', 'dc1']);
    assert.equal((await s1.info())['consul']!['known_datacenters'], '2');
    // A client has no WAN pool: `members -wan` lists nothing (exit 2, as for an empty filter).
    assert.equal((await c1.cli('members', '-wan')).code, 2);
  });

  it('reads another datacenter with ?dc= and resolves NAME.service.DC.consul across the WAN', async () => {
    await waitFor(
      'dc2 web healthy',
      async () => (await json<HealthRow[]>(c1, '/v1/health/service/web?dc=dc2&passing')).length === 1,
    );
    const web = await json<CatalogRow[]>(c1, '/v1/catalog/service/web?dc=dc2');
    assert.deepEqual(
      web.map((r) => [r.Node, r.Address, r.Datacenter]),
      [['c2', C2, 'dc2']],
    );
    assert.deepEqual((await dnsQuery(C1, 'web.service.dc2.consul')).addresses, [C2]);
    assert.deepEqual((await dnsQuery(C2, 'web.service.dc1.consul')).addresses, [C1]);
    assert.deepEqual((await dnsQuery(C1, 'c2.node.dc2.consul')).addresses, [C2]);
    assert.deepEqual((await dnsQuery(C1, 'consul.service.dc2.consul')).addresses, [S2]);
    const nopath = await c1.http('/v1/catalog/service/web?dc=dc9');
    assert.equal(nopath.status, 500);
    assert.equal(nopath.body, 'No path to datacenter');
    assert.equal((await dnsQuery(C1, 'web.service.dc9.consul')).rcode, 3);
  });

  it("drover's deployment verification sees both datacenters, the WAN, and the services in catalog and DNS", async () => {
    const transport = new LoopbackTransport();
    const nodes: ExpectedNode[] = [
      { host: 's1', nodeName: 's1', address: S1, role: 'server', datacenter: 'dc1' },
      { host: 'c1', nodeName: 'c1', address: C1, role: 'client', datacenter: 'dc1' },
      { host: 's2', nodeName: 's2', address: S2, role: 'server', datacenter: 'dc2' },
      { host: 'c2', nodeName: 'c2', address: C2, role: 'client', datacenter: 'dc2' },
    ];
    const web = (host: string, address: string, datacenter: string): ExpectedService => ({
      name: 'web',
      id: 'web',
      port: 8500,
      address,
      host,
      nodeName: host,
      datacenter,
    });
    const route = async (n: ExpectedNode) => ({ channel: transport, host: n.address });
    const report = await verifyDeployment(nodes, [web('c1', C1, 'dc1'), web('c2', C2, 'dc2')], route);
    const text = formatDeploymentReport(report);
    assert.equal(report.ok, true, text);
    assert.deepEqual(
      report.datacenters?.map((d) => [d.name, d.report.leader?.host]),
      [
        ['dc1', 's1'],
        ['dc2', 's2'],
      ],
    );
    assert.deepEqual(report.wan?.checkedFrom, ['s1', 's2']);
    assert.deepEqual(
      report.services?.flatMap((s) => s.dns.map((d) => [d.from, d.query, d.addresses.join()])),
      [
        ['c1', 'web.service.consul', C1],
        ['c2', 'web.service.dc1.consul', C1],
        ['c2', 'web.service.consul', C2],
        ['c1', 'web.service.dc2.consul', C2],
      ],
    );
    assert.match(text, /WAN OK: every server of every datacenter is an alive WAN member \(per s1, s2\)\./);
    assert.match(text, /^Deployment OK\.$/m);

    // A service the inventory declares but no agent registered: catalog and DNS both say so.
    const ghost = { ...web('c1', C1, 'dc1'), name: 'ghost', id: 'ghost' };
    const bad = await verifyDeployment(nodes, [ghost], route);
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.problems, [
      'service "ghost" (datacenter dc1): c1 is not in the catalog (per c1)',
      `service "ghost" (datacenter dc1): DNS ghost.service.consul from c1 answers NXDOMAIN, expected ${C1} (an instance whose health check fails is left out of DNS)`,
      `service "ghost" (datacenter dc1): DNS ghost.service.dc1.consul from c2 answers NXDOMAIN, expected ${C1} (an instance whose health check fails is left out of DNS)`,
    ]);
  });
});
