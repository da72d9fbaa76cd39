/**
 * consul_acl with a recording transport: which calls it makes on a new cluster, in check mode
 * and out of it, and that every write carries the management token and the derived SecretIDs.
 * The lab e2e (test/e2e/acl.test.ts) runs it against real stand-in agents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moduleContext } from './context.js';
import { consulAclModule } from '../../src/modules/consul-acl.js';
import { RecordingTransport, type HttpReply } from '../../src/ssh/recording-transport.js';
import { Secret } from '../../src/shell/secret.js';
import {
  agentTokenWant,
  derivedTokenSecret,
  dnsTokenWant,
  DNS_POLICY,
  droverAccessorId,
  operatorTokenWant,
  OPERATOR_POLICY,
  servicesTokenWant,
  type TokenWant,
} from '../../src/consul/api/acl.js';

const MANAGEMENT = new Secret('8f14e45f-ceea-467f-a0e6-0b5d8c2a1f30');
/** A host's vars as the session gives them with consul_acl_enable: its tokens derived from MANAGEMENT. */
const nodeVars = (host: string, bindAddr: string) => ({
  bind_addr: bindAddr,
  drover_acl_agent_token: derivedTokenSecret(MANAGEMENT, 'agent', host),
  drover_acl_services_token: derivedTokenSecret(MANAGEMENT, 'services', host),
});
const hostvars = {
  s1: nodeVars('s1', '10.0.0.11'),
  c1: { ...nodeVars('c1', '10.0.0.21'), consul_services: [{ name: 'web', port: 80 }, { name: 'api' }] },
};
const vars = {
  inventory_hostname: 's1',
  consul_datacenter: 'dc1',
  // The set-up's own token (drover's other calls may carry none: consul_acl_tokens false).
  drover_acl_management_token: MANAGEMENT,
  drover_acl_dns_token: derivedTokenSecret(MANAGEMENT, 'dns'),
  groups: { all: ['s1', 'c1'], servers: ['s1'], clients: ['c1'] },
  hostvars,
};

/** A new cluster: a leader, and an ACL system that knows no token yet. */
function newCluster(
  bootstrap?: { status: number; body: string },
  nudge: HttpReply = { body: '' },
): RecordingTransport {
  const t = new RecordingTransport('s1');
  t.onHttp(/GET .*\/v1\/status\/leader/, { body: '"10.0.0.11:8300"' });
  t.onHttp(/GET .*\/v1\/acl\/token\/self/, { status: 403, body: 'ACL not found' });
  t.onHttp(/GET .*\/v1\/acl\/(token|policy)\//, { status: 403, body: 'ACL not found' });
  t.onHttp(
    /PUT .*\/v1\/acl\/bootstrap/,
    bootstrap ?? {
      body: JSON.stringify({
        AccessorID: 'b0000000-0000-4000-8000-000000000001',
        SecretID: MANAGEMENT.reveal(),
        Policies: [{ ID: '00000000-0000-0000-0000-000000000001', Name: 'global-management' }],
        Local: false,
        CreateIndex: 5,
        ModifyIndex: 5,
      }),
    },
  );
  t.onHttp(/PUT .*\/v1\/acl\/policy$/, {
    body: JSON.stringify({ ID: 'p1', Name: 'x', Rules: '', ModifyIndex: 6 }),
  });
  t.onHttp(/PUT .*\/v1\/acl\/token$/, {
    body: JSON.stringify({ AccessorID: 'a', Local: false, CreateIndex: 7, ModifyIndex: 7 }),
  });
  t.onHttp(/PUT .*\/v1\/agent\/token\/agent$/, nudge);
  return t;
}

const context = (t: RecordingTransport, check: boolean) =>
  moduleContext({
    transport: t,
    host: { name: 's1', address: '10.0.0.11', groups: ['all', 'servers'], vars: hostvars.s1 },
    vars,
    check,
    diff: false,
    baseDir: '/work/main',
  });

test('on a new cluster: bootstraps with the management token as its secret, then the policies and every token', async () => {
  const t = newCluster();
  const out = await consulAclModule.run({}, context(t, false));
  assert.equal(out.changed, true);
  assert.match(
    out.summary,
    /^bootstrapped the ACL system; created policy drover-dns; created policy drover-operator/,
  );
  const writes = t.httpCalls.filter((c) => c.method === 'PUT');
  assert.deepEqual(
    writes.map((c) => `${c.host} ${c.path}`),
    [
      '127.0.0.1 /v1/acl/bootstrap',
      '127.0.0.1 /v1/acl/policy',
      '127.0.0.1 /v1/acl/policy',
      // Per node its services token, then its agent token; then the DNS and operator tokens.
      ...Array(6).fill('127.0.0.1 /v1/acl/token'),
      // Each agent syncs at once with tokens that now exist.
      '127.0.0.1 /v1/agent/token/agent',
      '10.0.0.21 /v1/agent/token/agent',
    ],
  );
  assert.deepEqual(JSON.parse(writes[0]?.body ?? ''), { BootstrapSecret: MANAGEMENT.reveal() });
  const tokens = writes.slice(3, 9).map((c) => JSON.parse(c.body ?? '') as Record<string, unknown>);
  assert.equal(tokens[1]?.['SecretID'], hostvars.s1.drover_acl_agent_token.reveal());
  assert.equal(
    tokens[1]?.['AccessorID'],
    droverAccessorId({ datacenter: 'dc1', purpose: 'agent', nodeName: 's1' }),
  );
  assert.deepEqual(tokens[3]?.['NodeIdentities'], [{ NodeName: 'c1', Datacenter: 'dc1' }]);
  // The services tokens: one service identity per service the host declares, in its datacenter.
  assert.equal(tokens[0]?.['SecretID'], hostvars.s1.drover_acl_services_token.reveal());
  assert.deepEqual(tokens[0]?.['ServiceIdentities'], []);
  assert.equal(tokens[2]?.['SecretID'], hostvars.c1.drover_acl_services_token.reveal());
  assert.deepEqual(tokens[2]?.['ServiceIdentities'], [
    { ServiceName: 'api', Datacenters: ['dc1'] },
    { ServiceName: 'web', Datacenters: ['dc1'] },
  ]);
  assert.deepEqual(tokens[2]?.['NodeIdentities'], []);
  assert.equal(tokens[4]?.['SecretID'], vars.drover_acl_dns_token.reveal());
  assert.equal(tokens[5]?.['SecretID'], derivedTokenSecret(MANAGEMENT, 'operator').reveal());
  // The nudge sets the token each agent's config already names, with the management token.
  const nudges = writes.slice(9);
  assert.deepEqual(
    nudges.map((c) => JSON.parse(c.body ?? '') as unknown),
    [
      { Token: hostvars.s1.drover_acl_agent_token.reveal() },
      { Token: hostvars.c1.drover_acl_agent_token.reveal() },
    ],
  );
  for (const c of nudges) assert.equal(c.token?.reveal(), MANAGEMENT.reveal());
  // Every call but the bootstrap carries the management token.
  for (const c of t.httpCalls.filter((c) => c.path.startsWith('/v1/acl/') && c.path !== '/v1/acl/bootstrap'))
    assert.ok(c.token !== undefined, `${c.method} ${c.path} carries a token`);
});

/** Consul's JSON for a token as drover wants it. */
const tokenJson = (w: TokenWant) =>
  JSON.stringify({
    AccessorID: w.accessorId,
    SecretID: w.secret?.reveal(),
    Description: w.description,
    Policies: w.policies.map((Name) => ({ ID: `id-${Name}`, Name })),
    NodeIdentities: w.nodeIdentities.map((n) => ({ NodeName: n.nodeName, Datacenter: n.datacenter })),
    ...(w.serviceIdentities.length > 0 && {
      ServiceIdentities: w.serviceIdentities.map((x) => ({
        ServiceName: x.serviceName,
        Datacenters: x.datacenters,
      })),
    }),
    Local: false,
    CreateIndex: 9,
    ModifyIndex: 9,
  });

/** A cluster set up as the inventory says, except that c1's services token names only `web`. */
function settledCluster(): RecordingTransport {
  const t = new RecordingTransport('s1');
  t.onHttp(/GET .*\/v1\/status\/leader/, { body: '"10.0.0.11:8300"' });
  t.onHttp(/GET .*\/v1\/acl\/token\/self/, {
    body: JSON.stringify({
      AccessorID: 'b0000000-0000-4000-8000-000000000001',
      Policies: [{ ID: '00000000-0000-0000-0000-000000000001', Name: 'global-management' }],
      Local: false,
      CreateIndex: 5,
      ModifyIndex: 5,
    }),
  });
  for (const p of [DNS_POLICY, OPERATOR_POLICY]) {
    t.onHttp(`GET 127.0.0.1:8500/v1/acl/policy/name/${p.name}?consistent`, {
      body: JSON.stringify({
        ID: `id-${p.name}`,
        Name: p.name,
        Description: p.description,
        Rules: p.rules,
        ModifyIndex: 6,
      }),
    });
  }
  const node = (n: string) => ({ nodeName: n, datacenter: 'dc1' });
  const existing = [
    servicesTokenWant(node('s1'), [], hostvars.s1.drover_acl_services_token),
    agentTokenWant(node('s1'), hostvars.s1.drover_acl_agent_token),
    servicesTokenWant(node('c1'), ['web'], hostvars.c1.drover_acl_services_token),
    agentTokenWant(node('c1'), hostvars.c1.drover_acl_agent_token),
    dnsTokenWant('dc1', vars.drover_acl_dns_token),
    operatorTokenWant('dc1', derivedTokenSecret(MANAGEMENT, 'operator')),
  ];
  for (const w of existing)
    t.onHttp(`GET 127.0.0.1:8500/v1/acl/token/${w.accessorId}?consistent`, { body: tokenJson(w) });
  t.onHttp(/PUT .*\/v1\/acl\/token\//, (req) => ({
    body: tokenJson(JSON.parse(req.body ?? '{}') && existing[2]!),
  }));
  return t;
}

test('a service added to a host: only its services token gains the identity, and only its agent is told to sync', async () => {
  const t = settledCluster();
  t.onHttp(/PUT 10\.0\.0\.21:8500\/v1\/agent\/token\/agent$/, { body: '' });
  const out = await consulAclModule.run({}, context(t, false));
  assert.equal(out.summary, 'updated services token of c1 (dc1)');
  const writes = t.httpCalls.filter((c) => c.method === 'PUT');
  const c1Services = droverAccessorId({ datacenter: 'dc1', purpose: 'services', nodeName: 'c1' });
  assert.deepEqual(
    writes.map((c) => `${c.host} ${c.path}`),
    [`127.0.0.1 /v1/acl/token/${c1Services}`, '10.0.0.21 /v1/agent/token/agent'],
  );
  const body = JSON.parse(writes[0]?.body ?? '{}') as Record<string, unknown>;
  assert.deepEqual(body['ServiceIdentities'], [
    { ServiceName: 'api', Datacenters: ['dc1'] },
    { ServiceName: 'web', Datacenters: ['dc1'] },
  ]);
  // An update never sends the SecretID: it cannot change.
  assert.equal(body['SecretID'], undefined);
});

test('an agent that refuses the sync nudge is reported, one that does not answer yet is not, and neither fails the run', async () => {
  const t = newCluster(undefined, (req) => {
    if (req.host === '127.0.0.1') return { status: 403, body: 'Permission denied' };
    throw new Error('connect ECONNREFUSED 10.0.0.21:8500');
  });
  const out = await consulAclModule.run({}, context(t, false));
  assert.equal(out.changed, true);
  assert.match(
    out.summary,
    /s1: its agent refused the new tokens \(.*HTTP 403.*\); it registers with them at its next full sync$/,
  );
  assert.doesNotMatch(out.summary, /c1:/);
});

test('in check mode only reads: a new cluster would be bootstrapped', async () => {
  const t = newCluster();
  const out = await consulAclModule.run({}, context(t, true));
  assert.equal(out.changed, true);
  assert.equal(out.summary, 'would bootstrap the ACL system');
  assert.deepEqual(
    t.httpCalls.filter((c) => c.method !== 'GET'),
    [],
  );
});

test('a cluster bootstrapped with another token is refused with the reset procedure, never bootstrapped again', async () => {
  const t = newCluster({
    status: 403,
    body: 'Permission denied: ACL bootstrap no longer allowed (reset index: 13)',
  });
  await assert.rejects(consulAclModule.run({}, context(t, false)), /reset index 13.*acl-bootstrap-reset/s);
  assert.deepEqual(
    t.httpCalls.filter((c) => c.method === 'PUT').map((c) => c.path),
    ['/v1/acl/bootstrap'],
  );
});

test('servers still without ACLs (a running cluster, before its roll): nothing is set up, and it says so', async () => {
  const t = new RecordingTransport('s1');
  t.onHttp(/GET .*\/v1\/status\/leader/, { body: '"10.0.0.11:8300"' });
  t.onHttp(/GET .*\/v1\/acl\/token\/self/, { status: 401, body: 'ACL support disabled' });
  const out = await consulAclModule.run({}, context(t, false));
  assert.equal(out.changed, false);
  assert.equal(
    out.summary,
    "ACLs are not on yet on s1's agent: the ACL system is set up once the servers run with them",
  );
  assert.deepEqual(out.data, { via: 's1', acl_off: true });
  assert.deepEqual(
    t.httpCalls.filter((c) => c.method !== 'GET'),
    [],
  );
});

test('several datacenters: bootstraps in the primary, makes every token there, and the replication token for the others', async () => {
  const replication = derivedTokenSecret(MANAGEMENT, 'replication');
  const multi = {
    ...vars,
    consul_datacenter: 'west',
    consul_acl_datacenter: 'east',
    groups: { all: ['w1', 'e1'], servers: ['w1', 'e1'], clients: [] },
    hostvars: {
      w1: {
        ...nodeVars('w1', '10.0.2.11'),
        consul_datacenter: 'west',
        drover_acl_replication_token: replication,
      },
      e1: { ...nodeVars('e1', '10.0.1.11'), consul_datacenter: 'east' },
    },
  };
  const t = newCluster();
  t.onHttp(/GET .*\/v1\/status\/leader/, { body: '"10.0.0.11:8300"' });
  const out = await consulAclModule.run(
    {},
    moduleContext({
      transport: t,
      host: { name: 'w1', address: '10.0.2.11', groups: ['all', 'servers'], vars: multi.hostvars.w1 },
      vars: { ...multi, inventory_hostname: 'w1' },
      check: false,
      diff: false,
      baseDir: '/work/main',
    }),
  );
  assert.match(out.summary, /created policy drover-replication/);
  const writes = t.httpCalls.filter((c) => c.method === 'PUT' && c.path.startsWith('/v1/acl/'));
  // The run's first host is in the other datacenter: the ACL system is still set up through the primary's server.
  assert.deepEqual([...new Set(writes.map((c) => c.host))], ['10.0.1.11']);
  const tokens = writes
    .filter((c) => c.path === '/v1/acl/token')
    .map((c) => JSON.parse(c.body ?? '') as Record<string, unknown>)
    .filter((x) => !String(x['Description']).startsWith('drover: services token'));
  assert.deepEqual(
    tokens.map((x) => ((x['NodeIdentities'] as unknown[]).length > 0 ? x['NodeIdentities'] : x['Policies'])),
    [
      [{ NodeName: 'w1', Datacenter: 'west' }],
      [{ NodeName: 'e1', Datacenter: 'east' }],
      [{ Name: 'drover-dns' }],
      [{ Name: 'drover-operator' }],
      [{ Name: 'drover-replication' }],
    ],
  );
  const [replicationToken] = tokens.slice(-1);
  assert.equal(replicationToken?.['SecretID'], replication.reveal());
  assert.equal(
    replicationToken?.['AccessorID'],
    droverAccessorId({ datacenter: 'east', purpose: 'replication' }),
  );
  const policy = writes.find((c) => (c.body ?? '').includes('drover-replication'));
  assert.match(
    JSON.parse(policy?.body ?? '{}').Rules,
    /acl = "write"[\s\S]*operator = "write"[\s\S]*intentions = "read"/,
  );
});

test('a secondary without its primary in the inventory never bootstraps: the management token must be known there', async () => {
  const t = newCluster();
  const secondary = {
    ...vars,
    consul_datacenter: 'west',
    consul_acl_datacenter: 'east',
    groups: { all: ['s1'], servers: ['s1'], clients: [] },
    hostvars: { s1: { ...hostvars.s1, consul_datacenter: 'west' } },
  };
  await assert.rejects(
    consulAclModule.run(
      {},
      moduleContext({
        transport: t,
        host: { name: 's1', address: '10.0.0.11', groups: ['all', 'servers'], vars: secondary.hostvars.s1 },
        vars: secondary,
        check: false,
        diff: false,
        baseDir: '/work/main',
      }),
    ),
    /not known to the ACL system of east \(consul_acl_datacenter\)/,
  );
  assert.deepEqual(
    t.httpCalls.filter((c) => c.method === 'PUT'),
    [],
  );
});
