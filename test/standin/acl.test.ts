/**
 * ACLs in the stand-in on 127.0.0.120-129, with Consul's status codes and texts: bootstrap once
 * (BootstrapSecret, the reset index, acl-bootstrap-reset), tokens and policies (HCL and JSON
 * rules, node identities), where a token may come from, 403 `Permission denied` / `ACL not
 * found`, filtered lists, agent tokens (persisted with enable_token_persistence), anti-entropy
 * blocked without an agent token, DNS governed by the anonymous token, and ACL state in raft.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Agent,
  cleanup,
  consulCall,
  dnsQuery,
  runCli,
  tempDir,
  waitFor,
  type HttpResult,
} from './harness.js';

interface Token {
  AccessorID: string;
  SecretID: string;
  Description: string;
  Policies?: { ID: string; Name: string }[];
  Local: boolean;
  CreateIndex: number;
}

const ANONYMOUS = '00000000-0000-0000-0000-000000000002';
const MANAGEMENT_POLICY = '00000000-0000-0000-0000-000000000001';
const BOOTSTRAP_SECRET = '2c0f4a8e-6b6d-4f55-9d2c-1b7f3f0e9a11';

const call = (agent: Agent, path: string, o: Parameters<typeof consulCall>[2] = {}): Promise<HttpResult> =>
  consulCall(agent.ip, path, o);

const denied = (accessor: string, permission: string, on?: string): string =>
  `Permission denied: token with AccessorID '${accessor}' lacks permission '${permission}'${on === undefined ? '' : ` on ${JSON.stringify(on)}`}`;

describe('stand-in ACLs', () => {
  let root: string;
  let server: Agent;
  let client: Agent;
  let plain: Agent;
  let mgmt: Token;
  let ops: Token;
  let nodeToken: Token;
  let filesToken: Token;
  const secrets: string[] = [BOOTSTRAP_SECRET];
  const aclConfig = { acl: { enabled: true, default_policy: 'deny', enable_token_persistence: true } };
  const reload = async () => assert.equal((await client.cli('reload', `-token=${BOOTSTRAP_SECRET}`)).code, 0);

  async function create<T>(path: string, body: unknown): Promise<T> {
    const r = await call(server, path, { method: 'PUT', token: BOOTSTRAP_SECRET, body });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as T;
  }

  before(async () => {
    root = tempDir('standin-acl-');
    server = new Agent(
      { ip: '127.0.0.120', name: 'acl-server', server: true, bootstrapExpect: 1, extra: aclConfig },
      root,
    ).start();
    client = new Agent(
      {
        ip: '127.0.0.121',
        name: 'acl-client',
        retryJoin: ['127.0.0.120'],
        extra: { ...aclConfig, services: [{ name: 'web', port: 80 }] },
      },
      root,
    ).start();
    plain = new Agent({ ip: '127.0.0.122', name: 'no-acl', server: true, bootstrapExpect: 1 }, root).start();
    await waitFor('leader', async () => (await server.leader()) === '127.0.0.120:8300', 15000);
    await waitFor('plain leader', async () => (await plain.leader()) === '127.0.0.122:8300', 15000);
  });

  after(async () => {
    // No secret in any agent's output (Consul logs AccessorIDs only).
    for (const a of [server, client, plain])
      for (const s of secrets) assert.ok(!a.log.includes(s), `${a.name} logged a secret`);
    await cleanup();
  });

  it('answers 401 ACL support disabled when acl.enabled is off', async () => {
    for (const [path, body] of [
      ['/v1/acl/bootstrap', undefined],
      ['/v1/agent/token/agent', { Token: 'x' }],
    ] as const) {
      const r = await call(plain, path, { method: 'PUT', body });
      assert.equal(r.status, 401);
      assert.equal(r.body, 'ACL support disabled');
    }
  });

  it('bootstraps once with BootstrapSecret; later calls get 403 with the reset index, which acl-bootstrap-reset consumes', async () => {
    const r = await call(server, '/v1/acl/bootstrap', {
      method: 'PUT',
      body: { BootstrapSecret: BOOTSTRAP_SECRET },
    });
    assert.equal(r.status, 200, r.body);
    mgmt = JSON.parse(r.body) as Token;
    assert.equal(mgmt.SecretID, BOOTSTRAP_SECRET);
    assert.equal(mgmt.Description, 'Bootstrap Token (Global Management)');
    assert.deepEqual(mgmt.Policies, [{ ID: MANAGEMENT_POLICY, Name: 'global-management' }]);
    assert.equal(mgmt.Local, false);
    const again = await call(server, '/v1/acl/bootstrap', { method: 'PUT' });
    assert.equal(again.status, 403);
    assert.equal(
      again.body,
      `Permission denied: ACL bootstrap no longer allowed (reset index: ${mgmt.CreateIndex})`,
    );

    const reset = join(server.dataDir, 'acl-bootstrap-reset');
    writeFileSync(reset, String(mgmt.CreateIndex + 5));
    const wrong = await call(server, '/v1/acl/bootstrap', { method: 'PUT' });
    assert.equal(wrong.status, 403);
    assert.equal(
      wrong.body,
      `Permission denied: Invalid bootstrap reset index (specified ${mgmt.CreateIndex + 5}, reset index: ${mgmt.CreateIndex})`,
    );
    writeFileSync(reset, `${mgmt.CreateIndex}\n`);
    const second = await call(server, '/v1/acl/bootstrap', { method: 'PUT' });
    assert.equal(second.status, 200, second.body);
    const token2 = JSON.parse(second.body) as Token;
    secrets.push(token2.SecretID);
    assert.notEqual(token2.SecretID, BOOTSTRAP_SECRET);
    assert.equal(existsSync(reset), false);
    const third = await call(server, '/v1/acl/bootstrap', { method: 'PUT' });
    assert.equal(
      third.body,
      `Permission denied: ACL bootstrap no longer allowed (reset index: ${token2.CreateIndex})`,
    );
  });

  it('takes the token from ?token=, X-Consul-Token or Authorization: Bearer; unknown is ACL not found, none is anonymous', async () => {
    assert.equal((await call(server, `/v1/agent/self?token=${BOOTSTRAP_SECRET}`)).status, 200);
    assert.equal((await call(server, '/v1/agent/self', { token: BOOTSTRAP_SECRET })).status, 200);
    assert.equal((await call(server, '/v1/agent/self', { bearer: BOOTSTRAP_SECRET })).status, 200);
    const unknown = await call(server, '/v1/agent/self', { token: '5e1b0f7c-0000-4000-8000-000000000000' });
    assert.equal(unknown.status, 403);
    assert.equal(unknown.body, 'ACL not found');
    const anon = await call(server, '/v1/agent/self');
    assert.equal(anon.status, 403);
    assert.equal(
      anon.body,
      `Permission denied: anonymous token lacks permission 'agent:read' on "acl-server". The anonymous token is used implicitly when a request does not specify a token.`,
    );
    assert.equal((await call(server, '/v1/status/leader')).status, 200);
    // Status.Leader and Status.Peers take no token in Consul: an unknown one (an agent's default
    // token before drover has created it) does not fail them, which the deploy's leader wait needs.
    for (const path of ['/v1/status/leader', '/v1/status/peers'])
      assert.equal(
        (await call(server, path, { token: '5e1b0f7c-0000-4000-8000-000000000000' })).status,
        200,
        path,
      );
    const members = JSON.parse(
      (await call(server, '/v1/agent/members', { token: BOOTSTRAP_SECRET })).body,
    ) as { Name: string; Tags: Record<string, string> }[];
    assert.equal(members.find((m) => m.Name === 'acl-server')?.Tags.acls, '1');
  });

  it('grants what HCL and JSON policies say, 403 for the rest, and filters lists', async () => {
    const policy = await create<{ ID: string; Name: string }>('/v1/acl/policy', {
      Name: 'ops',
      Rules: 'operator = "read"\nkey_prefix "app/" {\n  policy = "read"\n}\n',
    });
    assert.equal(policy.Name, 'ops');
    ops = await create<Token>('/v1/acl/token', { Description: 'ops', Policies: [{ Name: 'ops' }] });
    secrets.push(ops.SecretID);
    assert.equal(
      (await call(server, '/v1/operator/raft/configuration', { token: ops.SecretID })).status,
      200,
    );
    const fl = await call(server, '/v1/agent/force-leave/nobody', { method: 'PUT', token: ops.SecretID });
    assert.equal(fl.status, 403);
    assert.equal(fl.body, denied(ops.AccessorID, 'operator:write'));

    for (const key of ['app/x', 'other/y'])
      assert.equal(
        (await call(server, `/v1/kv/${key}`, { method: 'PUT', token: BOOTSTRAP_SECRET, body: 'v' })).body,
        'true',
      );
    assert.equal((await call(server, '/v1/kv/app/x', { token: ops.SecretID })).status, 200);
    const other = await call(server, '/v1/kv/other/y', { token: ops.SecretID });
    assert.equal(other.status, 403);
    assert.equal(other.body, denied(ops.AccessorID, 'key:read', 'other/y'));
    const list = await call(server, '/v1/kv/?recurse', { token: ops.SecretID });
    assert.deepEqual(
      (JSON.parse(list.body) as { Key: string }[]).map((e) => e.Key),
      ['app/x'],
    );
    assert.equal(list.headers['x-consul-results-filtered-by-acls'], 'true');
    const write = await call(server, '/v1/kv/app/x', { method: 'PUT', token: ops.SecretID, body: 'w' });
    assert.equal(write.status, 403);
    assert.equal(write.body, denied(ops.AccessorID, 'key:write', 'app/x'));
    // A recursive delete needs write on everything below the prefix (KeyWritePrefix).
    await create('/v1/acl/policy', {
      Name: 'writer',
      Rules: 'key_prefix "" {\n  policy = "write"\n}\nkey_prefix "app/locked/" {\n  policy = "read"\n}\n',
    });
    const writer = await create<Token>('/v1/acl/token', { Policies: [{ Name: 'writer' }] });
    secrets.push(writer.SecretID);
    const tree = await call(server, '/v1/kv/app/?recurse', { method: 'DELETE', token: writer.SecretID });
    assert.equal(tree.status, 403);
    assert.equal(tree.body, denied(writer.AccessorID, 'key:write', 'app/'));
    assert.equal(
      (await call(server, '/v1/kv/scratch/?recurse', { method: 'DELETE', token: writer.SecretID })).body,
      'true',
    );
    const acls = await call(server, '/v1/acl/tokens', { token: ops.SecretID });
    assert.equal(acls.body, denied(ops.AccessorID, 'acl:read'));

    await create('/v1/acl/policy', {
      Name: 'see-server',
      Rules: JSON.stringify({ node: { 'acl-server': { policy: 'read' } } }),
    });
    const viewer = await create<Token>('/v1/acl/token', { Policies: [{ Name: 'see-server' }] });
    secrets.push(viewer.SecretID);
    await waitFor(
      'client joined',
      async () =>
        (JSON.parse((await call(server, '/v1/agent/members', { token: BOOTSTRAP_SECRET })).body) as unknown[])
          .length === 2,
      15000,
    );
    const seen = await call(server, '/v1/agent/members', { token: viewer.SecretID });
    assert.deepEqual(
      (JSON.parse(seen.body) as { Name: string }[]).map((m) => m.Name),
      ['acl-server'],
    );
    assert.equal(seen.headers['x-consul-results-filtered-by-acls'], 'true');
    const anon = await call(server, '/v1/agent/members');
    assert.equal(anon.body, '[]');
    assert.equal(anon.headers['x-consul-results-filtered-by-acls'], undefined);

    const dup = await call(server, '/v1/acl/policy', {
      method: 'PUT',
      token: BOOTSTRAP_SECRET,
      body: { Name: 'ops', Rules: '' },
    });
    assert.equal(dup.body, 'Invalid Policy: A Policy with Name "ops" already exists');
    const bad = await call(server, '/v1/acl/policy', {
      method: 'PUT',
      token: BOOTSTRAP_SECRET,
      body: { Name: 'bad', Rules: 'node "x" { policy = "sometimes" }' },
    });
    assert.equal(bad.body, 'Invalid node policy: {"Name":"x","Policy":"sometimes"}');
    const unparsable = await call(server, '/v1/acl/policy', {
      method: 'PUT',
      token: BOOTSTRAP_SECRET,
      body: { Name: 'bad', Rules: 'node "x" {' },
    });
    assert.match(unparsable.body, /^Failed to parse ACL rules: /);
    const missing = await call(server, '/v1/acl/token', {
      method: 'PUT',
      token: BOOTSTRAP_SECRET,
      body: { Policies: [{ Name: 'nope' }] },
    });
    assert.equal(missing.body, 'No such ACL policy with name "nope"');
    const self = await call(server, `/v1/acl/token/${mgmt.AccessorID}`, {
      method: 'DELETE',
      token: BOOTSTRAP_SECRET,
    });
    assert.equal(self.body, "Deletion of the request's authorization token is not permitted");
  });

  it('the CLI sends CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE as X-Consul-Token and fails as Consul does without one', async () => {
    const addr = { CONSUL_HTTP_ADDR: `${server.ip}:8500` };
    const withEnv = await runCli(['info'], { ...addr, CONSUL_HTTP_TOKEN: BOOTSTRAP_SECRET });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    assert.match(withEnv.stdout, /\n\tacl = enabled\n/);
    const file = join(root, 'token');
    writeFileSync(file, `${ops.SecretID}\n`, { mode: 0o600 });
    const peers = await runCli(['operator', 'raft', 'list-peers'], {
      ...addr,
      CONSUL_HTTP_TOKEN: 'ignored-when-a-file-is-named',
      CONSUL_HTTP_TOKEN_FILE: file,
    });
    assert.equal(peers.code, 0, peers.stderr);
    const anon = await runCli(['info'], addr);
    assert.equal(anon.code, 1);
    assert.equal(
      anon.stderr,
      `Error querying agent: Unexpected response code: 403 (Permission denied: anonymous token lacks permission 'agent:read' on "acl-server". The anonymous token is used implicitly when a request does not specify a token.)\n`,
    );
    const none = await runCli(['members'], addr);
    assert.equal(none.code, 2, 'members exits 2 when everything was filtered out');
    const missing = await runCli(['members'], { ...addr, CONSUL_HTTP_TOKEN_FILE: join(root, 'absent') });
    assert.equal(
      missing.stderr,
      `Error retrieving members: Error loading token file: open ${join(root, 'absent')}: no such file or directory\n`,
    );
  });

  it('blocks anti-entropy without tokens; the agent token (node identity) syncs the node, the default token the service', async () => {
    await waitFor(
      'blocked logs',
      () =>
        /\[WARN\] {2}agent: Node info update blocked by ACLs: node=[0-9a-f-]{36} accessorID="anonymous token"\n/.test(
          client.out,
        ) &&
        client.out.includes(
          '[WARN]  agent: Service registration blocked by ACLs: service=web accessorID="anonymous token"\n',
        ),
      20000,
    );
    const before = await call(server, '/v1/catalog/service/web', { token: BOOTSTRAP_SECRET });
    assert.equal(before.body, '[]');

    nodeToken = await create<Token>('/v1/acl/token', {
      Description: 'acl-client agent',
      NodeIdentities: [{ NodeName: 'acl-client', Datacenter: 'dc1' }],
    });
    secrets.push(nodeToken.SecretID);
    const denyAnon = await call(client, '/v1/agent/token/agent', {
      method: 'PUT',
      body: { Token: nodeToken.SecretID },
    });
    assert.equal(denyAnon.status, 403);
    assert.equal(
      denyAnon.body,
      `Permission denied: anonymous token lacks permission 'agent:write' on "acl-client". The anonymous token is used implicitly when a request does not specify a token.`,
    );
    const unknown = await call(client, '/v1/agent/token/bogus', {
      method: 'PUT',
      token: BOOTSTRAP_SECRET,
      body: { Token: 'x' },
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body, 'Token "bogus" is unknown');
    const set = await call(client, '/v1/agent/token/agent', {
      method: 'PUT',
      token: BOOTSTRAP_SECRET,
      body: { Token: nodeToken.SecretID },
    });
    assert.equal(set.status, 200, set.body);
    await waitFor('node info synced', () => client.out.includes('[INFO]  agent: Synced node info\n'), 15000);
    assert.equal((await call(server, '/v1/catalog/service/web', { token: BOOTSTRAP_SECRET })).body, '[]');

    await create('/v1/acl/policy', { Name: 'web', Rules: 'service "web" {\n  policy = "write"\n}\n' });
    const webToken = await create<Token>('/v1/acl/token', { Policies: [{ Name: 'web' }] });
    secrets.push(webToken.SecretID);
    assert.equal(
      (
        await call(client, '/v1/agent/token/default', {
          method: 'PUT',
          token: BOOTSTRAP_SECRET,
          body: { Token: webToken.SecretID },
        })
      ).status,
      200,
    );
    await waitFor(
      'web registered',
      async () =>
        (
          JSON.parse(
            (await call(server, '/v1/catalog/service/web', { token: BOOTSTRAP_SECRET })).body,
          ) as unknown[]
        ).length === 1,
      15000,
    );
    const file = join(client.dataDir, 'acl-tokens.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
      default: webToken.SecretID,
      agent: nodeToken.SecretID,
    });

    // Persisted: after a restart the agent syncs with the same tokens, so nothing is blocked.
    client.kill('SIGTERM');
    await client.stopped();
    client.start();
    await waitFor('client back', () => client.out.includes('Consul agent running!'), 15000);
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(!client.out.includes('blocked by ACLs'), client.out);
  });

  it('registers config-file services with config_file_service_registration (a service identity); a reload does not retry what ACLs refused', async () => {
    const invalid = await call(server, '/v1/acl/token', {
      method: 'PUT',
      token: BOOTSTRAP_SECRET,
      body: { ServiceIdentities: [{ ServiceName: 'Api' }] },
    });
    assert.deepEqual(
      [invalid.status, invalid.body.trim()],
      [
        500,
        `Service identity "Api" has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed`,
      ],
    );
    // It covers every service in this agent's files: all of them register with it, none with the default token.
    filesToken = await create<Token>('/v1/acl/token', {
      ServiceIdentities: [{ ServiceName: 'web' }, { ServiceName: 'api' }],
    });
    secrets.push(filesToken.SecretID);
    const inCatalog = async (name: string) =>
      (
        JSON.parse(
          (await call(server, `/v1/catalog/service/${name}`, { token: BOOTSTRAP_SECRET })).body,
        ) as unknown[]
      ).length === 1;

    // A new service file: the default token (web only) may not register it, and the reload's sync says so.
    client.writeConfig({
      ...aclConfig,
      services: [
        { name: 'web', port: 80 },
        { name: 'api', port: 81 },
      ],
    });
    await reload();
    await waitFor(
      'api refused',
      () => client.out.includes('Service registration blocked by ACLs: service=api'),
      15000,
    );
    // The token comes with a reload; the refused service stays "in sync" until the next full sync.
    client.writeConfig({
      acl: { ...aclConfig.acl, tokens: { config_file_service_registration: filesToken.SecretID } },
      services: [
        { name: 'web', port: 80 },
        { name: 'api', port: 81 },
      ],
    });
    await reload();
    // Setting the agent token to the value it has is no change, so it asks for no full sync either.
    const same = await call(client, '/v1/agent/token/agent', {
      method: 'PUT',
      token: BOOTSTRAP_SECRET,
      body: { Token: nodeToken.SecretID },
    });
    assert.equal(same.status, 200);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await inCatalog('api'), false);
    // A full sync (here the one a start makes) registers it with the service identity's token.
    client.kill('SIGTERM');
    await client.stopped();
    client.start();
    await waitFor(
      'api and web registered',
      async () => (await inCatalog('api')) && (await inCatalog('web')),
      15000,
    );
  });

  it('a token the servers do not know blocks a registration as a refusal does: no AccessorID, and no failed sync to retry', async () => {
    const withFilesToken = (secret: string, services: unknown[]) => ({
      acl: { ...aclConfig.acl, tokens: { config_file_service_registration: secret } },
      services,
    });
    const kept = [
      { name: 'web', port: 80 },
      { name: 'api', port: 81 },
    ];
    // Not created yet, as on a first start before drover has made the agents' tokens.
    const from = client.out.length;
    client.writeConfig(
      withFilesToken('5b0c7a0e-9d7e-4c1f-8a2b-3c4d5e6f7a8b', [...kept, { name: 'db', port: 82 }]),
    );
    await reload();
    await waitFor(
      'db refused',
      () => client.out.slice(from).includes('Service registration blocked by ACLs: service=db accessorID=""'),
      15000,
    );
    assert.doesNotMatch(client.out.slice(from), /failed to sync remote state/);
    client.writeConfig(withFilesToken(filesToken.SecretID, kept));
    await reload();
  });

  it('answers DNS with what the anonymous token may read', async () => {
    await waitFor(
      'web passing in catalog',
      async () =>
        (
          JSON.parse(
            (await call(server, '/v1/health/service/web', { token: BOOTSTRAP_SECRET })).body,
          ) as unknown[]
        ).length === 1,
      15000,
    );
    assert.deepEqual(await dnsQuery('127.0.0.120', 'web.service.consul'), { rcode: 3, addresses: [] });
    assert.deepEqual(await dnsQuery('127.0.0.120', 'acl-client.node.consul'), { rcode: 3, addresses: [] });
    await create('/v1/acl/policy', {
      Name: 'dns',
      Rules: 'node_prefix "" {\n  policy = "read"\n}\nservice_prefix "" {\n  policy = "read"\n}\n',
    });
    await create(`/v1/acl/token/${ANONYMOUS}`, {
      Description: 'Anonymous Token',
      Policies: [{ Name: 'dns' }],
    });
    const answer = await waitFor(
      'dns answer',
      async () => {
        const r = await dnsQuery('127.0.0.120', 'web.service.consul');
        return r.rcode === 0 ? r : null;
      },
      10000,
    );
    assert.deepEqual(answer.addresses, ['127.0.0.121']);
    assert.deepEqual(await dnsQuery('127.0.0.120', 'acl-client.node.consul'), {
      rcode: 0,
      addresses: ['127.0.0.121'],
    });
  });

  it('keeps tokens, policies and the bootstrap in raft across a server restart', async () => {
    server.kill('SIGKILL');
    await server.stopped();
    server.start();
    await waitFor('leader again', async () => (await server.leader()) === '127.0.0.120:8300', 20000);
    const self = await waitFor(
      'ops token',
      async () => {
        const r = await call(server, '/v1/acl/token/self', { token: ops.SecretID });
        return r.status === 200 ? r : null;
      },
      15000,
    );
    assert.equal((JSON.parse(self.body) as Token).AccessorID, ops.AccessorID);
    const again = await call(server, '/v1/acl/bootstrap', { method: 'PUT' });
    assert.match(again.body, /^Permission denied: ACL bootstrap no longer allowed \(reset index: \d+\)$/);
  });
});

describe('stand-in ACLs across a leader change', () => {
  const ips = ['127.0.0.123', '127.0.0.124', '127.0.0.125'];
  const servers: Agent[] = [];
  before(async () => {
    const root = tempDir('standin-acl-raft-');
    for (const [i, ip] of ips.entries()) {
      servers.push(
        new Agent(
          {
            ip,
            name: `acl-s${i + 1}`,
            server: true,
            bootstrapExpect: 3,
            retryJoin: ips,
            extra: { acl: { enabled: true, default_policy: 'deny' } },
          },
          root,
        ).start(),
      );
    }
    await waitFor(
      'leader',
      async () => {
        const leaders = await Promise.all(servers.map((s) => s.leader()));
        return leaders.every((l) => l && l === leaders[0]);
      },
      30000,
    );
  });
  after(cleanup);

  it('keeps the bootstrap, tokens and policies on the servers that take over', async () => {
    const follower = servers[2]!;
    // Any server answers: a follower forwards the bootstrap to the leader.
    const r = await call(follower, '/v1/acl/bootstrap', { method: 'PUT' });
    assert.equal(r.status, 200, r.body);
    const mgmt = JSON.parse(r.body) as Token;
    const leaderAddr = await servers[0]!.leader();
    const leader = servers.find((s) => `${s.ip}:8300` === leaderAddr)!;
    leader.kill('SIGKILL');
    const rest = servers.filter((s) => s !== leader);
    await waitFor(
      'new leader',
      async () => {
        const l = await rest[0]!.leader();
        return l && l !== leaderAddr;
      },
      20000,
    );
    // ?consistent, as drover reads it: a new leader answers only once its barrier has applied
    // what the old leader committed (a default read may still see the older state).
    for (const s of rest) {
      const self = await call(s, '/v1/acl/token/self?consistent', { token: mgmt.SecretID });
      assert.equal(self.status, 200, self.body);
      assert.equal((JSON.parse(self.body) as Token).AccessorID, mgmt.AccessorID);
    }
    const again = await call(rest[0]!, '/v1/acl/bootstrap', { method: 'PUT' });
    assert.equal(again.status, 403);
    assert.equal(
      again.body,
      `Permission denied: ACL bootstrap no longer allowed (reset index: ${mgmt.CreateIndex})`,
    );
  });
});

describe('stand-in ACL settings checked at start', () => {
  after(cleanup);

  it('refuses an unknown down_policy when the agent starts, as NewACLResolver does', async () => {
    const a = new Agent(
      {
        ip: '127.0.0.126',
        name: 'acl-bad',
        server: true,
        bootstrapExpect: 1,
        extra: { acl: { enabled: true, down_policy: 'nope' } },
      },
      tempDir('standin-acl-bad-'),
    ).start();
    const { code } = await a.stopped();
    assert.equal(code, 1);
    assert.ok(a.out.includes('==> invalid ACL down policy "nope"\n'), a.out);
  });
});
