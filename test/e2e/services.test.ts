/**
 * Services from the inventory and multi-datacenter clusters, end to end on the lab:
 *   - under ACLs (default_policy deny), two services declared on the clients are in the catalog
 *     and answer over DNS after deploy; removing one from the inventory and deploying again
 *     removes it, adding it back with the services playbook registers it, and no agent restarts;
 *   - two datacenters of 3 servers each (+ a client each), with drover's default TLS and ACLs
 *     whose primary is east: deploy, verify with WAN members and west's ACL replication, a
 *     cross-datacenter DNS lookup (NAME.service.OTHER-DC.consul) through the agents' DNS token,
 *     one ACL system (bootstrapped in east only), and a second deploy that changes nothing.
 * Hosts come from pickHosts() (LAB_FIRST_HOST moves them while developing).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pickHosts, ssh, sshOk, type LabHost } from '../lab/lab.js';
import {
  cleanUp as clean,
  CONFIG_DIR,
  drover,
  parseRecap,
  ROOT,
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

describe('services from the inventory, under ACLs with default_policy deny', () => {
  const hosts = pickHosts(5);
  const servers = hosts.slice(0, 3);
  const clients = hosts.slice(3);
  let file = '';
  /**
   * The inventory with these services on the clients, always written to the same file: the
   * management token drover keeps beside it must stay the cluster's.
   */
  const inventory = (services: string) => {
    const variant = writeInventory(
      `    servers:\n      hosts:\n${yamlHosts(servers, '        ')}\n` +
        `    clients:\n      vars:\n        consul_services: [${services}]\n      hosts:\n${yamlHosts(clients, '        ')}`,
      { consul_acl_enable: true },
    );
    if (file === '') file = variant;
    else {
      writeFileSync(file, readFileSync(variant, 'utf8'));
      rmSync(join(variant, '..'), { recursive: true, force: true });
    }
    return file;
  };
  before(() => clean(hosts));
  after(async () => {
    rmSync(join(file, '..'), { recursive: true, force: true });
    await clean(hosts);
  });

  it('deploys two services on the clients: files, catalog, and DNS answers from every client', async () => {
    const inv = inventory(`${WEB}, ${API}`);
    await deploy(inv);
    for (const c of clients) {
      const listing = await sshOk(c.name, `ls ${CONFIG_DIR}`);
      assert.match(listing, /^drover-service-api\.json$/m);
      assert.match(listing, /^drover-service-web\.json$/m);
    }
    // Registered with each client's services token: the agents started before drover made
    // it, and were told to sync again at once rather than at their next full sync.
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
    const r = await drover(['deploy', '-i', inv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const recap = parseRecap(r.stdout);
    for (const c of clients) assert.ok(recap[c.name]!['changed']! > 0, `${c.name} changed`);
    // On the servers only the ACL set-up (run once, through the first) changed: the clients'
    // services tokens lost the service identity.
    for (const c of clients)
      assert.match(r.stdout, new RegExp(`updated services token of ${c.name} \\(lab\\)`));
    assert.equal(recap[servers[0]!.name]?.['changed'], 1);
    for (const s of servers.slice(1)) assert.equal(recap[s.name]?.['changed'] ?? 0, 0, `${s.name} changed`);
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

  it('adds a service back with the services playbook: its token first, then a reload, no restart', async () => {
    const before = await startTimes(hosts);
    const inv = inventory(`${WEB}, ${API}`);
    const r = await drover(['run', '-i', inv, join(ROOT, 'playbooks', 'consul-services.yaml')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const c of clients)
      assert.match(r.stdout, new RegExp(`updated services token of ${c.name} \\(lab\\)`));
    assert.deepEqual(Object.keys(await catalogServices(servers[0]!.name)).sort(), ['api', 'consul', 'web']);
    assert.deepEqual(await startTimes(hosts), before, 'no agent was restarted or recreated');
  });

  it('a rolling restart takes each client out of DNS before it stops and back after its gate', async () => {
    const before = await startTimes(clients);
    const r = await drover(['restart', '-i', file, '--yes'], 300);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const c of clients) {
      assert.match(
        r.stdout,
        new RegExp(
          `changed: \\[${c.name}\\] out of DNS first - put ${c.name} in maintenance \\(api, web out of DNS\\)`,
        ),
      );
      assert.match(
        r.stdout,
        new RegExp(`changed: \\[${c.name}\\] back in DNS - took ${c.name} out of maintenance`),
      );
      const logs = await sshOk(c.name, 'docker logs consul 2>&1');
      const entered = logs.lastIndexOf('Node entered maintenance mode');
      assert.ok(
        entered >= 0 && logs.lastIndexOf('Node left maintenance mode') > entered,
        `${c.name}: ${logs.slice(-600)}`,
      );
    }
    assert.notDeepEqual(await startTimes(clients), before, 'the clients were not restarted');
    const report = await verifyJson(file);
    assert.equal(report.ok, true, report.problems.join('\n'));
  });

  it('a client a stopped run left in maintenance (Consul keeps it) is back in DNS after the next deploy', async () => {
    const [c1] = clients as [LabHost];
    const token = readFileSync(join(file, '..', 'inventory.acl', 'management.token'), 'utf8').trim();
    await sshOk(
      c1.name,
      `umask 077; cat > /tmp/drover-e2e-header <<'EOF'\nX-Consul-Token: ${token}\nEOF\n` +
        `curl -sf -m 5 -X PUT -H @/tmp/drover-e2e-header 'http://127.0.0.1:8500/v1/agent/maintenance?enable=true&reason=drover%3A%20rolling%20restart'; rm -f /tmp/drover-e2e-header`,
    );
    const r = await drover(['deploy', '-i', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`changed: \\[${c1.name}\\] clients in DNS - took ${c1.name} out of maintenance`),
    );
    const report = await verifyJson(file);
    assert.equal(report.ok, true, report.problems.join('\n'));
  });

  it('deploying the same services again changes nothing', async () => {
    for (const [h, counts] of Object.entries(await deploy(inventory(`${WEB}, ${API}`)))) {
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
      // TLS as drover's default gives it: on, for two new datacenters under one CA. One ACL
      // system, whose primary is east.
      { consul_tls_enable: undefined, consul_acl_enable: true, consul_acl_datacenter: 'east' },
    );
  });
  const token = (): string =>
    readFileSync(join(inv, '..', 'inventory.acl', 'management.token'), 'utf8').trim();
  /** GET on a host's own agent (plain HTTP stays on 127.0.0.1), with the management token from a 0600 header file. */
  const apiGet = async (
    host: string,
    path: string,
    withToken = true,
  ): Promise<{ code: string; body: string }> => {
    const header = withToken ? '-H @/tmp/drover-e2e-header' : '';
    const r = await ssh(
      host,
      `umask 077; cat > /tmp/drover-e2e-header <<'EOF'\nX-Consul-Token: ${token()}\nEOF\n` +
        `curl -s -m 5 -w '\\n%{http_code}' ${header} http://127.0.0.1:8500${path}; rm -f /tmp/drover-e2e-header`,
    );
    const lines = r.stdout.trimEnd().split('\n');
    return { code: lines.pop() ?? '', body: lines.join('\n') };
  };
  after(async () => {
    rmSync(join(inv, '..'), { recursive: true, force: true });
    await clean(hosts);
  });

  let firstDeploy = '';
  it('deploys 2 x 3 servers: each datacenter elects its own leader, and the WAN joins them', async () => {
    const r = await drover(['deploy', '-i', inv]);
    firstDeploy = r.stdout + r.stderr;
    assert.equal(r.code, 0, firstDeploy);
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
    const wan = JSON.parse((await apiGet(east[0]!.name, '/v1/agent/members?wan=1')).body) as {
      Name: string;
      Addr: string;
      Port: number;
      Status: number;
    }[];
    assert.deepEqual(
      wan.map((m) => [m.Name, `${m.Addr}:${m.Port}`, m.Status]).sort(),
      [
        ...east.map((h) => [`${h.name}.east`, `${h.address}:8302`, 1]),
        ...west.map((h) => [`${h.name}.west`, `${h.address}:8302`, 1]),
      ].sort(),
    );
  });

  it('keeps one ACL system: bootstrapped in east only, replicated to west, no request without a token', async () => {
    assert.equal(firstDeploy.match(/bootstrapped the ACL system/g)?.length, 1, firstDeploy);
    const aclOf = async (h: LabHost) =>
      JSON.parse(await sshOk(h.name, `cat ${CONFIG_DIR}/consul.json`)) as {
        primary_datacenter: string;
        acl: { enable_token_replication?: boolean; tokens: { replication?: string } };
      };
    for (const h of [...east, eastClient, westClient]) {
      const c = await aclOf(h);
      assert.equal(c.primary_datacenter, 'east', h.name);
      assert.equal(c.acl.enable_token_replication, undefined, h.name);
    }
    const replicationTokens = new Set<string>();
    for (const h of west) {
      const c = await aclOf(h);
      assert.equal(c.primary_datacenter, 'east');
      assert.equal(c.acl.enable_token_replication, true);
      replicationTokens.add(c.acl.tokens.replication ?? '');
    }
    const [replication] = [...replicationTokens];
    assert.equal(replicationTokens.size, 1);
    assert.match(replication ?? '', /^[0-9a-f-]{36}$/);
    for (const secret of [token(), replication!])
      assert.ok(!firstDeploy.includes(secret), 'a token is in the output');

    const status = JSON.parse((await apiGet(west[0]!.name, '/v1/acl/replication', false)).body) as {
      Enabled: boolean;
      SourceDatacenter: string;
      ReplicationType: string;
      ReplicatedTokenIndex: number;
    };
    assert.deepEqual(
      [status.Enabled, status.SourceDatacenter, status.ReplicationType],
      [true, 'east', 'tokens'],
    );
    assert.ok(status.ReplicatedTokenIndex > 0);
    // The same tokens in both datacenters: drover made them all in east.
    const accessors = async (h: LabHost) =>
      (JSON.parse((await apiGet(h.name, '/v1/acl/tokens')).body) as { AccessorID: string }[])
        .map((t) => t.AccessorID)
        .sort();
    assert.deepEqual(await accessors(west[0]!), await accessors(east[0]!));
    assert.equal((await apiGet(westClient.name, '/v1/kv/drover-e2e', false)).code, '403');
    assert.equal((await apiGet(westClient.name, '/v1/kv/drover-e2e')).code, '404');
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

  it('deploying the two datacenters again changes nothing and bootstraps nothing', async () => {
    const r = await drover(['deploy', '-i', inv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /bootstrapped/);
    for (const [h, counts] of Object.entries(parseRecap(r.stdout))) assert.equal(counts['changed'], 0, h);
  });
});
