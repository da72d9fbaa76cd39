/**
 * drover's ACL calls (src/consul/api/acl.ts) and the token on its HTTP requests: the
 * `X-Consul-Token` header reaching real HTTP and HTTPS servers on 127.0.0.141, the parsers on
 * Consul's JSON and texts, the steps as a recording transport sees them, and the whole set-up
 * against real stand-in agents with ACLs on (default_policy deny) on 127.0.0.140, .142 and .143.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { generateGossipKey } from '../../src/consul/agent/gossip-key.js';
import {
  AclApiError,
  AclDisabledError,
  agentTokenWant,
  ANONYMOUS_TOKEN_ID,
  anonymousDnsWant,
  bootstrapResetAdvice,
  bootstrapStep,
  createPolicyStep,
  createTokenStep,
  DNS_POLICY,
  DNS_RULES,
  dnsTokenWant,
  droverAccessorId,
  OPERATOR_POLICY,
  OPERATOR_RULES,
  operatorTokenWant,
  servicesTokenWant,
  parseAclPolicy,
  parseAclToken,
  parseBootstrapAnswer,
  planPolicy,
  planToken,
  policyWriteStep,
  readPolicyStep,
  readTokenStep,
  renderRules,
  setAgentTokenStep,
  SNAPSHOT_POLICY,
  tokenSelfStep,
  tokenWriteSteps,
  derivedTokenSecret,
  updatePolicyStep,
  type AclCall,
  type AclPolicy,
  type AclToken,
  type PolicyWant,
  type TokenWant,
} from '../../src/consul/api/acl.js';
import { StepExecutor, WriteRefusedError } from '../../src/runner/step-executor.js';
import type { Step } from '../../src/remote/step.js';
import { Secret } from '../../src/shell/secret.js';
import { httpOverChannel } from '../../src/ssh/http-over-channel.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import type { ExecResult, HttpRequest, HttpResponse, Transport } from '../../src/ssh/transport.js';
import { createCa } from '../../src/tls/certificate-authority.js';
import { createServerCert } from '../../src/tls/server-certificate.js';
import { Agent, cleanup, dnsQuery, tempDir, waitFor } from '../standin/harness.js';

const MGMT = new Secret('4f0b3f2e-5a4d-4c1e-9a6b-0d2c8e7f1a39');

/** A TCP connection to host:port, as an SSH direct-tcpip channel is to httpOverChannel: a Duplex, not a Socket. */
async function channelTo(host: string, port: number): Promise<Duplex> {
  const socket = connect({ host, port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return Duplex.from({ readable: socket, writable: socket });
}

/**
 * A Transport whose HTTP is drover's own (httpOverChannel) over a direct TCP connection: the
 * stand-in sees exactly the request the SSH transport would send, token header included.
 */
class DirectTransport implements Transport {
  constructor(readonly host = 'direct') {}
  exec(): Promise<ExecResult> {
    throw new Error('no exec here');
  }
  async http(req: HttpRequest): Promise<HttpResponse> {
    const channel = await channelTo(req.host, req.port);
    try {
      return await httpOverChannel(channel, req, (req.timeoutSeconds ?? 15) * 1000);
    } finally {
      channel.destroy();
    }
  }
  async close(): Promise<void> {}
}

describe("the ACL token on drover's HTTP requests (127.0.0.141)", async () => {
  const ADDRESS = '127.0.0.141';
  const ca = await createCa();
  const cert = await createServerCert(ca, { dc: 'dc1', ipAddresses: [ADDRESS] });
  const seen: { url: string | undefined; token: string | undefined; tls: boolean }[] = [];
  const record = (tls: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const token = req.headers['x-consul-token'];
    seen.push({ url: req.url, token: typeof token === 'string' ? token : undefined, tls });
    if (req.url === '/hang-up') return req.socket.destroy();
    res.end('"10.0.0.1:8300"');
  };
  const plain = http.createServer(record(false));
  const secure = createHttpsServer({ cert: cert.certPem, key: cert.key.reveal() }, record(true));
  const port = (s: http.Server) => (s.address() as AddressInfo).port;

  before(async () => {
    for (const s of [plain, secure]) await new Promise<void>((r) => s.listen(0, ADDRESS, r));
  });
  after(async () => {
    for (const s of [plain, secure]) await new Promise<void>((r) => s.close(() => r()));
  });

  const request = (o: Partial<HttpRequest> = {}): HttpRequest => ({
    host: ADDRESS,
    port: port(plain),
    path: '/v1/status/leader',
    token: MGMT,
    ...o,
  });

  it('goes as X-Consul-Token, over plain HTTP and inside TLS, and nowhere in the URL', async () => {
    const req = request();
    assert.equal((await httpOverChannel(await channelTo(ADDRESS, req.port), req, 5000)).status, 200);
    const tls = request({ port: port(secure), tls: { ca: ca.certPem, servername: 'server.dc1.consul' } });
    assert.equal((await httpOverChannel(await channelTo(ADDRESS, tls.port), tls, 5000)).status, 200);
    assert.deepEqual(seen.slice(-2), [
      { url: '/v1/status/leader', token: MGMT.reveal(), tls: false },
      { url: '/v1/status/leader', token: MGMT.reveal(), tls: true },
    ]);
  });

  it('sends no header without a token', async () => {
    const { token: _sent, ...req } = request();
    await httpOverChannel(await channelTo(ADDRESS, req.port), req, 5000);
    assert.equal(seen.at(-1)?.token, undefined);
  });

  it('is redacted wherever the request is rendered, and absent from a failed request’s error', async () => {
    const req = request({ path: '/hang-up' });
    for (const shown of [JSON.stringify(req), inspect(req, { depth: 5 }), String(req.token)]) {
      assert.ok(!shown.includes(MGMT.reveal()), shown);
    }
    assert.match(JSON.stringify(req), /"token":"<redacted>"/);
    await assert.rejects(httpOverChannel(await channelTo(ADDRESS, req.port), req, 5000), (err: Error) => {
      assert.ok(!inspect(err).includes(MGMT.reveal()), inspect(err));
      return true;
    });
  });

  it('is recorded by the recording transport as the Secret it is: checkable, never shown', async () => {
    const t = new RecordingTransport('s1').onHttp(/.*/, { status: 200, body: '""' });
    await t.http(request());
    assert.equal(t.httpCalls[0]?.token?.reveal(), MGMT.reveal());
    assert.ok(!JSON.stringify(t.httpCalls).includes(MGMT.reveal()));
    assert.ok(!inspect(t.httpCalls, { depth: 5 }).includes(MGMT.reveal()));
  });
});

// Consul's JSON as its API docs (developer.hashicorp.com/consul/api-docs/acl, /acl/tokens,
// /acl/policies) show it, and the stand-in's texts, which are Consul's.
const BOOTSTRAP_SAMPLE = `{
  "AccessorID": "b5b1a918-50bc-fc46-dec2-d481359da4e3",
  "SecretID": "527347d3-9653-07dc-adc0-598b8f2b0f4d",
  "Description": "Bootstrap Token (Global Management)",
  "Policies": [
    {
      "ID": "00000000-0000-0000-0000-000000000001",
      "Name": "global-management"
    }
  ],
  "Local": false,
  "CreateTime": "2018-10-24T10:34:20.843397-04:00",
  "Hash": "oyrov6+GFLjo/KZAfqgxF/X4J/3LX0435DOBy9V22I0=",
  "CreateIndex": 12,
  "ModifyIndex": 12
}`;

const TOKEN_SAMPLE = `{
  "AccessorID": "6a1253d2-1785-24fd-91c2-f8e78c745511",
  "SecretID": "45a3bd52-07c7-47a4-52fd-0745e0cfe967",
  "Description": "Agent token for 'node1'",
  "Policies": [
    {
      "ID": "165d4317-e379-f732-ce70-86278c4558f7",
      "Name": "node1-write"
    },
    {
      "ID": "e359bd81-baca-903e-7e64-1ccd9fdc78f5",
      "Name": "node-read"
    }
  ],
  "NodeIdentities": [
    {
      "NodeName": "node-1",
      "Datacenter": "dc1"
    }
  ],
  "Local": false,
  "CreateTime": "2018-10-24T12:25:06.921933-04:00",
  "Hash": "UuiRkOQPRCvoRZHRtUxxbrmwZ5crYrOdZ0Z1FTFbTbA=",
  "CreateIndex": 59,
  "ModifyIndex": 59
}`;

const POLICY_SAMPLE = `{
  "ID": "e359bd81-baca-903e-7e64-1ccd9fdc78f5",
  "Name": "node-read",
  "Description": "Grants read access to all node information",
  "Rules": "node_prefix \\"\\" { policy = \\"read\\"}",
  "Datacenters": ["dc1"],
  "Hash": "OtZUUKhInTLEqTPfNSSOYbRiSBKm3c4vI2p6MxZnGWc=",
  "CreateIndex": 14,
  "ModifyIndex": 14
}`;

describe('ACL answers, parsed', () => {
  it('reads the bootstrap token into a Secret', () => {
    const answer = parseBootstrapAnswer({ status: 200, body: BOOTSTRAP_SAMPLE });
    assert.ok(answer && !answer.alreadyBootstrapped);
    assert.equal(answer.accessorId, 'b5b1a918-50bc-fc46-dec2-d481359da4e3');
    assert.ok(answer.secretId instanceof Secret);
    assert.equal(answer.secretId.reveal(), '527347d3-9653-07dc-adc0-598b8f2b0f4d');
    assert.ok(!JSON.stringify(answer).includes('527347d3'));
  });

  it('turns a second bootstrap into the reset index, as 1.11+ and older Consul word it', () => {
    assert.deepEqual(
      parseBootstrapAnswer({
        status: 403,
        body: 'Permission denied: ACL bootstrap no longer allowed (reset index: 13)',
      }),
      { alreadyBootstrapped: true, resetIndex: 13 },
    );
    assert.deepEqual(
      parseBootstrapAnswer({ status: 500, body: 'ACL bootstrap already done (reset index: 7)' }),
      { alreadyBootstrapped: true, resetIndex: 7 },
    );
    assert.deepEqual(
      parseBootstrapAnswer({
        status: 403,
        body: 'Permission denied: Invalid bootstrap reset index (specified 18, reset index: 13)',
      }),
      { alreadyBootstrapped: true, resetIndex: 13, resetFileIndex: 18 },
    );
    assert.equal(parseBootstrapAnswer({ status: 401, body: 'ACL support disabled' }), undefined);
    assert.equal(parseBootstrapAnswer({ status: 500, body: 'No cluster leader' }), undefined);
  });

  it('says how to recover from a lost bootstrap token, with the reset index and the file', () => {
    const text = bootstrapResetAdvice({ resetIndex: 13 }, '/opt/consul/data/');
    assert.match(text, /reset index 13/);
    assert.match(text, /write 13 to \/opt\/consul\/data\/acl-bootstrap-reset/);
    assert.match(
      bootstrapResetAdvice({ resetIndex: 13, resetFileIndex: 18 }, '/opt/consul/data'),
      /acl-bootstrap-reset holds 18, which is not the reset index/,
    );
  });

  it('reads a token: SecretID as a Secret, policies, node identities; hidden and absent fields', () => {
    const t = parseAclToken(TOKEN_SAMPLE, 'GET /v1/acl/token/x');
    assert.equal(t.accessorId, '6a1253d2-1785-24fd-91c2-f8e78c745511');
    assert.equal(t.secretId?.reveal(), '45a3bd52-07c7-47a4-52fd-0745e0cfe967');
    assert.deepEqual(t.policies, [
      { id: '165d4317-e379-f732-ce70-86278c4558f7', name: 'node1-write' },
      { id: 'e359bd81-baca-903e-7e64-1ccd9fdc78f5', name: 'node-read' },
    ]);
    assert.deepEqual(t.nodeIdentities, [{ nodeName: 'node-1', datacenter: 'dc1' }]);
    assert.equal(t.local, false);
    assert.equal(t.createIndex, 59);
    assert.ok(!JSON.stringify(t).includes('45a3bd52'));

    // Read without acl:write, Consul hides the secret; empty lists are left out (omitempty).
    const hidden = parseAclToken(
      '{"AccessorID":"a","SecretID":"<hidden>","Description":"","Local":true,"CreateIndex":1,"ModifyIndex":2,' +
        '"Roles":[{"ID":"r1","Name":"ops"}]}',
      'GET',
    );
    assert.equal(hidden.secretId, undefined);
    assert.deepEqual([hidden.policies, hidden.nodeIdentities], [[], []]);
    assert.deepEqual(hidden.unmanaged, { Roles: [{ ID: 'r1', Name: 'ops' }] });
    assert.deepEqual(hidden.serviceIdentities, []);
    // Service identities are drover's to keep (services tokens): read, not passed through.
    const withServices = parseAclToken(
      '{"AccessorID":"a","Local":false,"CreateIndex":1,"ModifyIndex":2,' +
        '"ServiceIdentities":[{"ServiceName":"web","Datacenters":["dc1"]},{"ServiceName":"db"}]}',
      'GET',
    );
    assert.deepEqual(withServices.serviceIdentities, [
      { serviceName: 'web', datacenters: ['dc1'] },
      { serviceName: 'db', datacenters: [] },
    ]);
    assert.deepEqual(withServices.unmanaged, {});
    assert.throws(
      () => parseAclToken('{"SecretID":"x"}', 'GET /v1/acl/token/x'),
      /AccessorID: expected a string/,
    );
    assert.throws(() => parseAclToken('ACL not found', 'GET /v1/acl/token/x'), /the body is not JSON/);
  });

  it('reads a policy, with the datacenters it is limited to', () => {
    const p = parseAclPolicy(POLICY_SAMPLE, 'GET /v1/acl/policy/name/node-read');
    assert.deepEqual(p, {
      id: 'e359bd81-baca-903e-7e64-1ccd9fdc78f5',
      name: 'node-read',
      description: 'Grants read access to all node information',
      rules: 'node_prefix "" { policy = "read"}',
      datacenters: ['dc1'],
      modifyIndex: 14,
    });
    assert.deepEqual(
      parseAclPolicy('{"ID":"i","Name":"n","Rules":"","ModifyIndex":3}', 'GET').datacenters,
      [],
    );
  });
});

const policy = (o: Partial<AclPolicy> = {}): AclPolicy => ({
  id: 'p1',
  name: OPERATOR_POLICY.name,
  description: OPERATOR_POLICY.description,
  rules: OPERATOR_POLICY.rules,
  datacenters: [],
  modifyIndex: 5,
  ...o,
});

const token = (o: Partial<AclToken> = {}): AclToken => ({
  accessorId: 'a1',
  secretId: new Secret('00000000-1111-4222-8333-444444444444'),
  description: 'd',
  policies: [],
  nodeIdentities: [],
  serviceIdentities: [],
  local: false,
  createIndex: 1,
  modifyIndex: 1,
  unmanaged: {},
  ...o,
});

describe('plans, pure', () => {
  it('plans a policy: create when missing, nothing when equal, update with what differs', () => {
    assert.deepEqual(planPolicy(OPERATOR_POLICY, undefined), { action: 'create' });
    assert.deepEqual(planPolicy(OPERATOR_POLICY, policy()), { action: 'none', id: 'p1' });
    assert.deepEqual(
      planPolicy(OPERATOR_POLICY, policy({ rules: 'operator = "read"', datacenters: ['dc2'] })),
      {
        action: 'update',
        id: 'p1',
        changes: ['rules', 'datacenters: only dc2'],
      },
    );
    assert.deepEqual(planPolicy(OPERATOR_POLICY, policy({ description: 'old' })).action, 'update');
  });

  it('plans a token: create, nothing, update with list changes, and refuses a Local flip', () => {
    const want = agentTokenWant({ nodeName: 's1', datacenter: 'dc1' });
    assert.deepEqual(planToken(want, undefined), { action: 'create', want });
    const same = token({
      accessorId: want.accessorId,
      description: want.description,
      nodeIdentities: want.nodeIdentities,
    });
    assert.deepEqual(planToken(want, same), { action: 'none' });
    const drifted = token({
      ...same,
      policies: [{ id: 'x', name: 'extra' }],
      nodeIdentities: [{ nodeName: 's9', datacenter: 'dc1' }],
      unmanaged: { Roles: [{ Name: 'r' }] },
    });
    assert.deepEqual(planToken(want, drifted), {
      action: 'update',
      want,
      changes: ['policies: -extra', 'node identities: +s1:dc1 -s9:dc1'],
      unmanaged: { Roles: [{ Name: 'r' }] },
    });
    const refused = planToken(want, token({ ...same, local: true }));
    assert.equal(refused.action, 'refuse');
    assert.match(refused.action === 'refuse' ? refused.reason : '', /local token and should be global/);
  });

  it('plans a services token: service identities compared as a set, with their datacenters', () => {
    const want = servicesTokenWant({ nodeName: 'c1', datacenter: 'dc1' }, ['web', 'api', 'web']);
    assert.deepEqual(want.serviceIdentities, [
      { serviceName: 'api', datacenters: ['dc1'] },
      { serviceName: 'web', datacenters: ['dc1'] },
    ]);
    const have = token({
      accessorId: want.accessorId,
      description: want.description,
      // Consul may store them in another order (Deduplicate rebuilds the list from a map).
      serviceIdentities: [
        { serviceName: 'web', datacenters: ['dc1'] },
        { serviceName: 'api', datacenters: ['dc1'] },
      ],
    });
    assert.deepEqual(planToken(want, have), { action: 'none' });
    const drifted = token({
      ...have,
      serviceIdentities: [
        { serviceName: 'web', datacenters: [] },
        { serviceName: 'old', datacenters: ['dc1'] },
      ],
    });
    const plan = planToken(want, drifted);
    assert.equal(plan.action, 'update');
    assert.deepEqual(plan.action === 'update' && plan.changes, [
      'service identities: +api@dc1 +web@dc1 -old@dc1 -web',
    ]);
  });

  it('plans a shared token (the anonymous one) by adding, never removing, and keeps its description', () => {
    const want = anonymousDnsWant();
    const anon = token({
      accessorId: ANONYMOUS_TOKEN_ID,
      description: 'Anonymous Token (ours)',
      policies: [{ id: 'x', name: 'web-read' }],
    });
    const plan = planToken(want, anon, { shared: true });
    assert.equal(plan.action, 'update');
    assert.deepEqual(plan.action === 'update' && plan.want.policies, ['drover-dns', 'web-read']);
    assert.deepEqual(plan.action === 'update' && plan.changes, ['policies: +drover-dns']);
    assert.equal(plan.action === 'update' && plan.want.description, 'Anonymous Token (ours)');
    const withService = token({ ...anon, serviceIdentities: [{ serviceName: 'web', datacenters: [] }] });
    const kept = planToken(want, withService, { shared: true });
    assert.deepEqual(kept.action === 'update' && kept.want.serviceIdentities, [
      { serviceName: 'web', datacenters: [] },
    ]);
    const done = token({ ...anon, policies: [...anon.policies, { id: 'y', name: 'drover-dns' }] });
    assert.deepEqual(planToken(want, done, { shared: true }), { action: 'none' });
  });

  it('derives AccessorIDs by a fixed rule: UUID v8, stable, distinct per datacenter, purpose and node', () => {
    // Pinned: a changed rule would leave every token drover made before unfound.
    assert.equal(
      droverAccessorId({ datacenter: 'dc1', purpose: 'agent', nodeName: 's1' }),
      '0c92e43d-4145-8ba3-9ddb-2a2906997199',
    );
    assert.equal(
      droverAccessorId({ datacenter: 'dc1', purpose: 'operator' }),
      '5c392a83-9a9b-8d73-a736-2a5683900c9e',
    );
    const ids = [
      droverAccessorId({ datacenter: 'dc1', purpose: 'agent', nodeName: 's2' }),
      droverAccessorId({ datacenter: 'dc2', purpose: 'agent', nodeName: 's1' }),
      droverAccessorId({ datacenter: 'dc1', purpose: 'agents', nodeName: '1' }),
      droverAccessorId({ datacenter: 'dc1', purpose: 'dns' }),
    ];
    assert.equal(new Set([...ids, '0c92e43d-4145-8ba3-9ddb-2a2906997199']).size, 5);
    for (const id of ids)
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(agentTokenWant({ nodeName: 's2', datacenter: 'dc1' }).accessorId, ids[0]);
    assert.equal(dnsTokenWant('dc1').accessorId, ids[3]);
  });

  it('derives SecretIDs from the management token: stable, distinct per purpose, host and management token', () => {
    const m = new Secret('8f14e45f-ceea-467f-a0e6-0b5d8c2a1f30');
    const a1 = derivedTokenSecret(m, 'agent', 'h1').reveal();
    assert.match(a1, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(derivedTokenSecret(m, 'agent', 'h1').reveal(), a1);
    const others = [
      derivedTokenSecret(m, 'agent', 'h2'),
      derivedTokenSecret(m, 'dns'),
      derivedTokenSecret(m, 'operator'),
      derivedTokenSecret(new Secret('1679091c-5a88-4faf-8fb1-0c9f3e2d4b17'), 'agent', 'h1'),
    ].map((x) => x.reveal());
    assert.equal(new Set([a1, ...others]).size, 5);
    assert.ok(!others.includes(m.reveal()));
  });

  it('replaces a token whose SecretID is not the derived one: delete, then create with the SecretID', async () => {
    const secret = new Secret('9d2e0c1a-0000-4000-8000-00000000000b');
    const want = agentTokenWant({ nodeName: 's1', datacenter: 'dc1' }, secret);
    assert.deepEqual(planToken(want, token({ accessorId: want.accessorId })), { action: 'replace', want });
    // Hidden SecretIDs cannot be compared: the rest of the token decides.
    const hidden = token({
      accessorId: want.accessorId,
      description: want.description,
      nodeIdentities: want.nodeIdentities,
    });
    delete (hidden as { secretId?: Secret }).secretId;
    assert.deepEqual(planToken(want, hidden), { action: 'none' });
    const t = new RecordingTransport('s1').onHttp(/DELETE/, { status: 200, body: 'true' }).onHttp(/PUT/, {
      status: 200,
      body: JSON.stringify({
        AccessorID: want.accessorId,
        SecretID: secret.reveal(),
        Local: false,
        CreateIndex: 2,
        ModifyIndex: 2,
      }),
    });
    const call = { token: new Secret('8f14e45f-ceea-467f-a0e6-0b5d8c2a1f30') };
    const executor = new StepExecutor(t, false, () => []);
    for (const step of tokenWriteSteps({ action: 'replace', want }, call)) await executor.run(step);
    assert.deepEqual(
      t.httpCalls.map((c) => `${c.method} ${c.path}`),
      [`DELETE /v1/acl/token/${want.accessorId}`, 'PUT /v1/acl/token'],
    );
    assert.equal(JSON.parse(t.httpCalls[1]?.body ?? '').SecretID, secret.reveal());
  });

  it('writes each policy rule after a comment saying which call needs it', () => {
    assert.equal(
      renderRules([{ why: 'x needs it', hcl: 'operator = "read"' }]),
      '# x needs it\noperator = "read"\n',
    );
    assert.equal(
      DNS_POLICY.rules,
      '# DNS: NAME.node.consul, and the nodes behind NAME.service.consul: node:read\n' +
        'node_prefix "" {\n  policy = "read"\n}\n' +
        '# DNS: NAME.service.consul: service:read\nservice_prefix "" {\n  policy = "read"\n}\n',
    );
    assert.equal(DNS_RULES.length, 2);
    assert.deepEqual(
      OPERATOR_RULES.map((r) => r.hcl.split('\n')[0]),
      [
        'agent_prefix "" {',
        'node_prefix "" {',
        'service_prefix "" {',
        'operator = "write"',
        'keyring = "write"',
      ],
    );
    assert.ok(!OPERATOR_POLICY.rules.includes('acl ='), 'the operator token can mint no tokens');
    assert.match(SNAPSHOT_POLICY.rules, /\nacl = "write"\n$/);
  });
});

describe('ACL steps, as a host sees them', () => {
  const call: AclCall = { token: MGMT, host: '10.0.0.11', port: 8501, timeoutSeconds: 7 };
  const run = <T>(t: RecordingTransport, step: Step<T>, readsOnly = false): Promise<T> =>
    new StepExecutor(t, readsOnly, () => []).run(step);

  it('sends the management token on every call but the bootstrap, reads as GET and writes as PUT', async () => {
    const t = new RecordingTransport('s1')
      .onHttp(/GET .*\/v1\/acl\/policy\/name\//, { status: 403, body: 'ACL not found' })
      .onHttp(/PUT .*\/v1\/acl\/policy/, { status: 200, body: POLICY_SAMPLE })
      .onHttp(/GET .*\/v1\/acl\/token\//, { status: 200, body: TOKEN_SAMPLE })
      .onHttp(/PUT .*\/v1\/acl\/token/, { status: 200, body: TOKEN_SAMPLE })
      .onHttp(/PUT .*\/v1\/agent\/token\//, { status: 200 })
      .onHttp(/PUT .*\/v1\/acl\/bootstrap/, { status: 200, body: BOOTSTRAP_SAMPLE });
    const want: TokenWant = operatorTokenWant('dc1');
    assert.equal(await run(t, readPolicyStep('drover operator', call)), undefined);
    await run(t, createPolicyStep(OPERATOR_POLICY, call));
    await run(t, updatePolicyStep('p1', OPERATOR_POLICY, call));
    await run(t, readTokenStep(want.accessorId, call));
    await run(t, tokenSelfStep(call));
    await run(t, createTokenStep(want, call));
    await run(t, setAgentTokenStep('agent', new Secret('9d2e0c1a-0000-4000-8000-00000000000a'), call));
    await run(t, bootstrapStep({ host: '10.0.0.11', port: 8501 }));
    const calls = t.httpCalls.map((c) => `${c.method} ${c.host}:${c.port}${c.path} ${c.timeoutSeconds}`);
    assert.deepEqual(calls, [
      'GET 10.0.0.11:8501/v1/acl/policy/name/drover%20operator?consistent 7',
      'PUT 10.0.0.11:8501/v1/acl/policy 7',
      'PUT 10.0.0.11:8501/v1/acl/policy/p1 7',
      `GET 10.0.0.11:8501/v1/acl/token/${want.accessorId}?consistent 7`,
      'GET 10.0.0.11:8501/v1/acl/token/self?consistent 7',
      'PUT 10.0.0.11:8501/v1/acl/token 7',
      'PUT 10.0.0.11:8501/v1/agent/token/agent 7',
      'PUT 10.0.0.11:8501/v1/acl/bootstrap 10',
    ]);
    assert.ok(t.httpCalls.slice(0, -1).every((c) => c.token?.reveal() === MGMT.reveal()));
    assert.equal(t.httpCalls.at(-1)?.token, undefined, 'the bootstrap needs no token and gets none');
    assert.deepEqual(JSON.parse(t.httpCalls[1]?.body ?? ''), {
      Name: 'drover-operator',
      Description: OPERATOR_POLICY.description,
      Rules: OPERATOR_POLICY.rules,
    });
    assert.deepEqual(JSON.parse(t.httpCalls[2]?.body ?? '').ID, 'p1');
    assert.deepEqual(JSON.parse(t.httpCalls[5]?.body ?? ''), {
      AccessorID: want.accessorId,
      Description: 'drover: operator token (dc1)',
      Policies: [{ Name: 'drover-operator' }],
      NodeIdentities: [],
      ServiceIdentities: [],
      Local: false,
    });
    assert.deepEqual(JSON.parse(t.httpCalls[6]?.body ?? ''), {
      Token: '9d2e0c1a-0000-4000-8000-00000000000a',
    });
    assert.ok(!JSON.stringify(t.httpCalls).includes(MGMT.reveal()));
  });

  it('passes the bootstrap secret in the body, and the token update keeps what drover does not manage', async () => {
    const t = new RecordingTransport('s1').onHttp(/PUT/, { status: 200, body: BOOTSTRAP_SAMPLE });
    const secret = new Secret('527347d3-9653-07dc-adc0-598b8f2b0f4d');
    const answer = await run(t, bootstrapStep({ bootstrapSecret: secret }));
    assert.equal(answer.alreadyBootstrapped, false);
    assert.deepEqual(JSON.parse(t.httpCalls[0]?.body ?? ''), { BootstrapSecret: secret.reveal() });
    const want = agentTokenWant({ nodeName: 's1', datacenter: 'dc1' });
    const plan = planToken(
      want,
      token({ accessorId: want.accessorId, unmanaged: { Roles: [{ Name: 'r' }] } }),
    );
    const [step, ...more] = tokenWriteSteps(plan, call);
    assert.ok(step);
    assert.equal(more.length, 0);
    await run(t, step);
    assert.equal(t.httpCalls[1]?.path, `/v1/acl/token/${want.accessorId}`);
    assert.deepEqual(JSON.parse(t.httpCalls[1]?.body ?? '').Roles, [{ Name: 'r' }]);
    assert.deepEqual(tokenWriteSteps({ action: 'none' }, call), []);
    assert.equal(policyWriteStep({ action: 'none', id: 'p' }, OPERATOR_POLICY, call), undefined);
  });

  it('treats Consul’s not-found answers as absent, and every other failure as an error without secrets', async () => {
    const agentSecret = new Secret('9d2e0c1a-0000-4000-8000-00000000000a');
    const t = new RecordingTransport('s1')
      .onHttp(/name\/gone-404/, { status: 404, body: 'Requested policy does not exist: ACL not found' })
      .onHttp(/name\/denied/, {
        status: 403,
        body: "Permission denied: token with AccessorID 'a1' lacks permission 'acl:read'",
      })
      .onHttp(/token\/self/, { status: 403, body: 'ACL not found' })
      .onHttp(/agent\/token\/agent/, { status: 500, body: `echo ${agentSecret.reveal()} ${MGMT.reveal()}` })
      .onHttp(/agent\/token\/default/, { status: 401, body: 'ACL support disabled' })
      .onHttp(/acl\/policy$/, { status: 403, body: 'ACL not found' });
    assert.equal(await run(t, readPolicyStep('gone-404', call)), undefined);
    assert.equal(await run(t, tokenSelfStep(call)), undefined);
    await assert.rejects(run(t, readPolicyStep('denied', call)), (err: Error) => {
      assert.ok(err instanceof AclApiError && err.status === 403);
      assert.match(
        err.message,
        /HTTP 403 from 10\.0\.0\.11:8501 via s1 \(the token sent lacks the right named\)/,
      );
      return true;
    });
    await assert.rejects(run(t, setAgentTokenStep('agent', agentSecret, call)), (err: Error) => {
      assert.ok(
        !err.message.includes(agentSecret.reveal()) && !err.message.includes(MGMT.reveal()),
        err.message,
      );
      assert.match(err.message, /echo <redacted> <redacted>/);
      return true;
    });
    await assert.rejects(run(t, setAgentTokenStep('default', agentSecret, call)), AclDisabledError);
    await assert.rejects(
      run(t, createPolicyStep(OPERATOR_POLICY, call)),
      /the token sent is not one this cluster knows: check the management token/,
    );
  });

  it('in check mode reads run and every write is refused before it is sent', async () => {
    const t = new RecordingTransport('s1').onHttp(/.*/, { status: 200, body: POLICY_SAMPLE });
    await run(t, readPolicyStep('node-read', call), true);
    await assert.rejects(run(t, createPolicyStep(OPERATOR_POLICY, call), true), WriteRefusedError);
    await assert.rejects(run(t, bootstrapStep(), true), WriteRefusedError);
    assert.equal(t.httpCalls.length, 1);
  });
});

const SERVER = '127.0.0.140';
const CLIENT = '127.0.0.142';
const GHOST = '127.0.0.143';

describe('live: the ACL set-up against stand-in agents (127.0.0.140, .142, .143), default_policy deny', () => {
  const gossipKey = generateGossipKey();
  const acl = { acl: { enabled: true, default_policy: 'deny', enable_token_persistence: true } };
  const transport = new DirectTransport('lab');
  const steps = new StepExecutor(transport, false, () => []);
  const agents: Agent[] = [];
  const secrets: Secret[] = [];
  let root: string;
  let server: Agent;
  let client: Agent;
  let mgmt: Secret;
  let bootstrapAccessor: string;
  let operator: Secret;
  let dns: Secret;
  let webOnly: Secret;

  const at = (host: string, token: Secret = mgmt): AclCall => ({
    token,
    host,
    port: 8500,
    timeoutSeconds: 15,
  });
  /** A raw call with drover's HTTP, for the endpoints whose clients take no token yet. */
  const raw = (
    host: string,
    path: string,
    tok: Secret | undefined,
    method: HttpRequest['method'] = 'GET',
    body?: unknown,
  ) =>
    transport.http({
      method,
      host,
      port: 8500,
      path,
      timeoutSeconds: 15,
      ...(tok && { token: tok }),
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  /** Ensures a policy as drover will: read, plan, write what the plan says; returns the second plan. */
  async function ensurePolicy(want: PolicyWant): Promise<string> {
    const plan = planPolicy(want, await steps.run(readPolicyStep(want.name, at(SERVER))));
    const write = policyWriteStep(plan, want, at(SERVER));
    if (write) await steps.run(write);
    return planPolicy(want, await steps.run(readPolicyStep(want.name, at(SERVER)))).action;
  }
  /** Ensures a token and reads its SecretID back, as drover will instead of storing it. */
  async function ensureToken(want: TokenWant, o: { shared?: boolean } = {}): Promise<AclToken> {
    const plan = planToken(want, await steps.run(readTokenStep(want.accessorId, at(SERVER))), o);
    for (const write of tokenWriteSteps(plan, at(SERVER))) await steps.run(write);
    const back = await steps.run(readTokenStep(want.accessorId, at(SERVER)));
    assert.ok(back?.secretId, `token ${want.accessorId} read back with its SecretID`);
    assert.deepEqual(planToken(want, back, o), { action: 'none' });
    // The anonymous token's SecretID is the word "anonymous", no secret; the rest are.
    if (want.accessorId !== ANONYMOUS_TOKEN_ID) secrets.push(back.secretId);
    return back;
  }

  before(async () => {
    root = tempDir('drover-acl-api-');
    server = new Agent(
      {
        ip: SERVER,
        name: 'acl-api-server',
        server: true,
        bootstrapExpect: 1,
        encrypt: gossipKey,
        extra: acl,
      },
      root,
    ).start();
    agents.push(server);
    await waitFor('leader', async () => (await server.leader()) === `${SERVER}:8300`, 20000);
  });

  after(async () => {
    // Consul logs AccessorIDs, never secrets; neither may the stand-in, nor drover's calls make it.
    const leaks = agents.flatMap((a) =>
      secrets.filter((s) => a.log.includes(s.reveal())).map(() => `${a.name} logged a secret`),
    );
    await cleanup();
    assert.deepEqual(leaks, []);
  });

  it('bootstraps once; a second bootstrap is the typed answer with the reset index', async () => {
    const first = await steps.run(bootstrapStep({ host: SERVER, timeoutSeconds: 15 }));
    assert.ok(!first.alreadyBootstrapped);
    mgmt = first.secretId;
    bootstrapAccessor = first.accessorId;
    secrets.push(mgmt);
    const self = await steps.run(tokenSelfStep(at(SERVER)));
    assert.equal(self?.accessorId, first.accessorId);
    assert.equal(self?.description, 'Bootstrap Token (Global Management)');
    assert.equal(
      await steps.run(
        tokenSelfStep(at(SERVER, new Secret(droverAccessorId({ datacenter: 'x', purpose: 'y' })))),
      ),
      undefined,
    );

    const again = await steps.run(bootstrapStep({ host: SERVER, timeoutSeconds: 15 }));
    assert.equal(again.alreadyBootstrapped, true);
    assert.equal(again.alreadyBootstrapped && again.resetIndex, self?.createIndex);
  });

  it('ensures drover’s policies; a second plan says nothing to do, an edited one is put back', async () => {
    for (const want of [DNS_POLICY, OPERATOR_POLICY, SNAPSHOT_POLICY])
      assert.equal(await ensurePolicy(want), 'none');
    const p = await steps.run(readPolicyStep(OPERATOR_POLICY.name, at(SERVER)));
    assert.ok(p);
    await steps.run(updatePolicyStep(p.id, { ...OPERATOR_POLICY, rules: 'operator = "read"\n' }, at(SERVER)));
    const drifted = planPolicy(
      OPERATOR_POLICY,
      await steps.run(readPolicyStep(OPERATOR_POLICY.name, at(SERVER))),
    );
    assert.deepEqual(drifted, { action: 'update', id: p.id, changes: ['rules'] });
    assert.equal(await ensurePolicy(OPERATOR_POLICY), 'none');
  });

  it('creates an agent token with its chosen AccessorID, reads its SecretID back, and the agent syncs with it', async () => {
    // The web service registers with a token of its own, so only the node info waits for the agent token.
    await ensurePolicy({
      name: 'web-write',
      description: 'test',
      rules: 'service "web" {\n  policy = "write"\n}\n',
    });
    const web = await ensureToken({
      accessorId: droverAccessorId({ datacenter: 'dc1', purpose: 'test-web' }),
      description: 'web registration',
      policies: ['web-write'],
      nodeIdentities: [],
      serviceIdentities: [],
      local: false,
    });
    webOnly = web.secretId ?? assert.fail('no SecretID');
    client = new Agent(
      {
        ip: CLIENT,
        name: 'acl-api-client',
        retryJoin: [SERVER],
        encrypt: gossipKey,
        extra: { ...acl, services: [{ name: 'web', port: 80, token: web.secretId?.reveal() }] },
      },
      root,
    ).start();
    agents.push(client);
    await waitFor('node info blocked', () => /Node info update blocked by ACLs/.test(client.out), 20000);

    const want = agentTokenWant({ nodeName: 'acl-api-client', datacenter: 'dc1' });
    assert.equal(await steps.run(readTokenStep(want.accessorId, at(SERVER))), undefined);
    const agentToken = await ensureToken(want);
    assert.equal(agentToken.accessorId, want.accessorId);
    assert.deepEqual(agentToken.nodeIdentities, [{ nodeName: 'acl-api-client', datacenter: 'dc1' }]);
    assert.ok(agentToken.secretId);
    await steps.run(setAgentTokenStep('agent', agentToken.secretId, at(CLIENT)));
    await waitFor('node info synced', () => client.out.includes('[INFO]  agent: Synced node info\n'), 20000);
    const nodes = JSON.parse((await raw(SERVER, '/v1/catalog/nodes', mgmt)).body) as { Node: string }[];
    assert.ok(nodes.some((n) => n.Node === 'acl-api-client'));
    await waitFor(
      'web in the catalog',
      async () =>
        (JSON.parse((await raw(SERVER, '/v1/catalog/service/web', mgmt)).body) as unknown[]).length === 1,
      20000,
    );
  });

  it('answers NAME.service.consul with the DNS policy: on a default token, then on the anonymous token', async () => {
    assert.deepEqual(await dnsQuery(CLIENT, 'web.service.consul'), { rcode: 3, addresses: [] });
    dns = (await ensureToken(dnsTokenWant('dc1'))).secretId ?? assert.fail('no SecretID');
    await steps.run(setAgentTokenStep('default', dns, at(CLIENT)));
    const viaDefault = await waitFor('dns via the default token', async () => {
      const r = await dnsQuery(CLIENT, 'web.service.consul');
      return r.rcode === 0 ? r : null;
    });
    assert.deepEqual(viaDefault.addresses, [CLIENT]);
    assert.deepEqual(await dnsQuery(SERVER, 'web.service.consul'), { rcode: 3, addresses: [] });

    await ensureToken(anonymousDnsWant(), { shared: true });
    const viaAnonymous = await waitFor('dns via the anonymous token', async () => {
      const r = await dnsQuery(SERVER, 'web.service.consul');
      return r.rcode === 0 ? r : null;
    });
    assert.deepEqual(viaAnonymous.addresses, [CLIENT]);
    assert.deepEqual(await dnsQuery(SERVER, 'acl-api-client.node.consul'), { rcode: 0, addresses: [CLIENT] });
  });

  it('the operator policy is enough for every call drover makes; a token without it gets 403', async () => {
    operator = (await ensureToken(operatorTokenWant('dc1'))).secretId ?? assert.fail('no SecretID');
    const ghost = new Agent(
      { ip: GHOST, name: 'acl-api-ghost', retryJoin: [SERVER], encrypt: gossipKey, extra: acl },
      root,
    ).start();
    agents.push(ghost);
    const statusOf = async (name: string) =>
      (
        JSON.parse((await raw(SERVER, '/v1/agent/members', mgmt)).body) as { Name: string; Status: number }[]
      ).find((m) => m.Name === name)?.Status;
    await waitFor('ghost joined', async () => (await statusOf('acl-api-ghost')) === 1, 20000);
    ghost.kill('SIGKILL');
    await waitFor('ghost failed', async () => (await statusOf('acl-api-ghost')) === 4, 20000);

    const newKey = generateGossipKey();
    const calls: [string, string, HttpRequest['method'], unknown?][] = [
      [SERVER, '/v1/status/leader', 'GET'],
      [CLIENT, '/v1/agent/self', 'GET'],
      [SERVER, '/v1/agent/self', 'GET'],
      [SERVER, '/v1/agent/members', 'GET'],
      [SERVER, '/v1/operator/raft/configuration', 'GET'],
      [SERVER, '/v1/operator/autopilot/health', 'GET'],
      [SERVER, '/v1/operator/keyring', 'GET'],
      [SERVER, '/v1/operator/keyring', 'POST', { Key: newKey }],
      [SERVER, '/v1/operator/keyring', 'PUT', { Key: gossipKey }],
      [SERVER, '/v1/operator/keyring', 'DELETE', { Key: newKey }],
      [SERVER, '/v1/connect/ca/roots', 'GET'],
      [SERVER, '/v1/catalog/service/web', 'GET'],
      [CLIENT, '/v1/agent/reload', 'PUT'],
    ];
    // A token of another purpose (the DNS one) is refused each call that checks a right.
    const open = new Set(['/v1/status/leader', '/v1/connect/ca/roots']);
    const filtered = new Set(['/v1/agent/members', '/v1/catalog/service/web']);
    for (const [host, path, method, body] of calls) {
      const denied = await raw(host, path, dns, method, body);
      if (open.has(path)) assert.equal(denied.status, 200, `${method} ${path} needs no ACL`);
      else if (!filtered.has(path)) {
        assert.equal(denied.status, 403, `${method} ${path} without the operator policy: ${denied.body}`);
        assert.match(
          denied.body,
          /^Permission denied: token with AccessorID '[0-9a-f-]+' lacks permission '/,
        );
      }
      const r = await raw(host, path, operator, method, body);
      // Autopilot answers 429 for an unhealthy cluster: an answer all the same, not a refusal.
      const ok = path === '/v1/operator/autopilot/health' ? [200, 429] : [200];
      assert.ok(
        ok.includes(r.status),
        `${method} ${host}${path} with the operator token: ${r.status} ${r.body}`,
      );
    }
    // Lists are filtered, not refused: a token without node:read sees no member (and is told
    // so), the operator token every member and instance.
    const none = await raw(SERVER, '/v1/agent/members', webOnly);
    assert.deepEqual(
      [none.status, none.body, none.headers['x-consul-results-filtered-by-acls']],
      [200, '[]', 'true'],
    );
    const seen = (await raw(SERVER, '/v1/agent/members', operator)).body;
    assert.ok(seen.includes('acl-api-client') && seen.includes('acl-api-server'), seen);
    assert.equal(
      (JSON.parse((await raw(SERVER, '/v1/catalog/service/web', operator)).body) as unknown[]).length,
      1,
    );

    const deniedLeave = await raw(SERVER, '/v1/agent/force-leave/acl-api-ghost?prune=1', dns, 'PUT');
    assert.equal(deniedLeave.status, 403);
    assert.match(deniedLeave.body, /lacks permission 'operator:write'$/);
    const leave = await raw(SERVER, '/v1/agent/force-leave/acl-api-ghost?prune=1', operator, 'PUT');
    assert.equal(leave.status, 200, leave.body);
    await waitFor('ghost pruned', async () => (await statusOf('acl-api-ghost')) === undefined, 20000);

    // A snapshot needs acl:write (the stand-in has no /v1/snapshot yet): the operator token has
    // no acl rights at all, the snapshot policy grants acl:write, as any ACL write shows.
    const snapshotToken = await ensureToken({
      accessorId: droverAccessorId({ datacenter: 'dc1', purpose: 'snapshot' }),
      description: 'drover: snapshots (dc1)',
      policies: [SNAPSHOT_POLICY.name],
      nodeIdentities: [],
      serviceIdentities: [],
      local: false,
    });
    const readBootstrap = await raw(SERVER, `/v1/acl/token/${bootstrapAccessor}`, operator);
    assert.equal(readBootstrap.status, 403);
    assert.match(readBootstrap.body, /lacks permission 'acl:read'$/);
    const web = await steps.run(readPolicyStep('web-write', at(SERVER)));
    assert.ok(web && snapshotToken.secretId);
    const asSnapshot = at(SERVER, snapshotToken.secretId);
    await steps.run(
      updatePolicyStep(
        web.id,
        { name: web.name, description: web.description, rules: web.rules },
        asSnapshot,
      ),
    );
    await assert.rejects(
      steps.run(
        updatePolicyStep(
          web.id,
          { name: web.name, description: 'x', rules: web.rules },
          at(SERVER, operator),
        ),
      ),
      /lacks permission 'acl:write'/,
    );
  });
});
