/**
 * ACLs across two WAN-joined datacenters in the stand-in, on 127.0.0.191-196, with Consul's
 * texts: the bootstrap only in the primary (500 `ACL support disabled` in a secondary), global
 * writes sent by a secondary to the primary, a secondary resolving tokens in the primary until
 * its leader has replicated them, `/v1/acl/replication` (errors while the replication token is
 * unknown or lacks acl:write), node identities valid only in their datacenter, and local tokens.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, cleanup, consulCall, tempDir, waitFor } from './harness.js';

const S1 = '127.0.0.191';
const S2 = '127.0.0.194';
const C2 = '127.0.0.195';
const MANAGEMENT = '5d1c3a8e-8b1f-4f0e-9a55-0c7d6e2b4a10';
const REPLICATION = '7a2b9c4d-1e3f-4a5b-8c6d-2e4f6a8b0c12';
const READ_ONLY = '9c4d1e3f-7a2b-4c5d-8e6f-0a2b4c6d8e14';
const C2_AGENT = '1e3f7a2b-9c4d-4e5f-8a6b-4c6d8e0a2b16';

const call = (ip: string, path: string, o: Parameters<typeof consulCall>[2] = {}) => consulCall(ip, path, o);

interface ReplicationStatus {
  Enabled: boolean;
  Running: boolean;
  SourceDatacenter: string;
  ReplicationType: string;
  ReplicatedTokenIndex: number;
  LastSuccess: string;
  LastError: string;
  LastErrorMessage: string;
}

const replication = async (ip: string): Promise<ReplicationStatus> => {
  const r = await call(ip, '/v1/acl/replication');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as ReplicationStatus;
};

describe('stand-in ACLs across datacenters', () => {
  let s1: Agent;
  let s2: Agent;
  let c2: Agent;
  const acl = (extra: Record<string, unknown> = {}) => ({
    enabled: true,
    default_policy: 'deny',
    enable_token_persistence: true,
    ...extra,
  });

  before(async () => {
    const root = tempDir('standin-acl-dc-');
    const wan = { retry_interval_wan: '1s', primary_datacenter: 'dc1' };
    s1 = new Agent(
      {
        ip: S1,
        name: 's1',
        server: true,
        bootstrapExpect: 1,
        extra: { ...wan, retry_join_wan: [S2], acl: acl() },
      },
      root,
    );
    s2 = new Agent(
      {
        ip: S2,
        name: 's2',
        server: true,
        bootstrapExpect: 1,
        extra: {
          ...wan,
          datacenter: 'dc2',
          acl: acl({ enable_token_replication: true, tokens: { replication: REPLICATION } }),
        },
      },
      root,
    );
    c2 = new Agent(
      {
        ip: C2,
        name: 'c2',
        retryJoin: [S2],
        extra: { datacenter: 'dc2', primary_datacenter: 'dc1', acl: acl() },
      },
      root,
    );
    for (const a of [s1, s2, c2]) a.start();
    await waitFor(
      'leaders in both datacenters',
      async () => (await s1.leader()) !== '' && (await s2.leader()) !== '',
      20000,
    );
  });
  after(cleanup);

  it('bootstraps only in the primary; a secondary answers 500 ACL support disabled', async () => {
    const second = await call(S2, '/v1/acl/bootstrap', {
      method: 'PUT',
      body: { BootstrapSecret: MANAGEMENT },
    });
    assert.deepEqual([second.status, second.body.trim()], [500, 'ACL support disabled']);
    const first = await call(S1, '/v1/acl/bootstrap', {
      method: 'PUT',
      body: { BootstrapSecret: MANAGEMENT },
    });
    assert.equal(first.status, 200, first.body);
  });

  it('resolves tokens in the primary while nothing is replicated, and says why replication fails', async () => {
    await waitFor(
      'the management token works in dc2',
      async () => (await call(S2, '/v1/agent/self', { token: MANAGEMENT })).status === 200,
      20000,
    );
    const denied = await call(S2, '/v1/agent/self', { token: READ_ONLY });
    assert.deepEqual([denied.status, denied.body.trim()], [403, 'ACL not found']);
    await waitFor('a replication error', async () => (await replication(S2)).LastErrorMessage !== '', 20000);
    const status = await replication(S2);
    assert.equal(
      status.LastErrorMessage,
      'failed to retrieve remote ACL policies: rpc error making call: ACL not found',
    );
    assert.deepEqual(
      [status.Enabled, status.Running, status.SourceDatacenter, status.ReplicationType],
      [true, true, 'dc1', 'tokens'],
    );
    const primary = await replication(S1);
    assert.deepEqual(
      [primary.Enabled, primary.SourceDatacenter, primary.LastSuccess],
      [false, '', '0001-01-01T00:00:00Z'],
    );
  });

  it('sends global writes made in a secondary to the primary, and replicates them back', async () => {
    const write = (path: string, body: unknown) => call(S2, path, { method: 'PUT', token: MANAGEMENT, body });
    const policy = await write('/v1/acl/policy', {
      Name: 'replication',
      Rules: 'acl = "write"\noperator = "write"\nservice_prefix "" { policy = "read" }',
    });
    assert.equal(policy.status, 200, policy.body);
    const token = await write('/v1/acl/token', {
      SecretID: REPLICATION,
      Policies: [{ Name: 'replication' }],
    });
    assert.equal(token.status, 200, token.body);
    const { AccessorID } = JSON.parse(token.body) as { AccessorID: string };
    const inPrimary = await call(S1, `/v1/acl/token/${AccessorID}`, { token: MANAGEMENT });
    assert.equal(inPrimary.status, 200, 'the token lives in the primary');
    // The replicator backs off after its errors (2, 4, 8 s ...), as Consul's does.
    await waitFor(
      'replication caught up',
      async () => {
        const s = await replication(S2);
        return s.ReplicatedTokenIndex > 0 && s.LastSuccess > s.LastError;
      },
      40000,
    );
    const listed = await call(S2, '/v1/acl/tokens', { token: MANAGEMENT });
    assert.ok(listed.body.includes(AccessorID), 'dc2 holds the replicated token');
  });

  it('gives node identities effect only in their datacenter', async () => {
    const create = (body: unknown) => call(S1, '/v1/acl/token', { method: 'PUT', token: MANAGEMENT, body });
    assert.equal(
      (await create({ SecretID: C2_AGENT, NodeIdentities: [{ NodeName: 'c2', Datacenter: 'dc2' }] })).status,
      200,
    );
    const other = '3f7a2b9c-4d1e-4f5a-8b6c-6d8e0a2b4c18';
    assert.equal(
      (await create({ SecretID: other, NodeIdentities: [{ NodeName: 'c2', Datacenter: 'dc1' }] })).status,
      200,
    );
    await waitFor(
      'both tokens replicated to dc2',
      async () => {
        const self = (secret: string) => call(S2, '/v1/acl/token/self', { token: secret });
        return (await self(other)).status === 200 && (await self(C2_AGENT)).status === 200;
      },
      20000,
    );
    const setAgentToken = async (token: string) => {
      const r = await call(C2, '/v1/agent/token/agent', {
        method: 'PUT',
        token: MANAGEMENT,
        body: { Token: token },
      });
      assert.equal(r.status, 200, r.body);
    };
    const otherAccessor = JSON.parse((await call(S1, '/v1/acl/token/self', { token: other })).body)
      .AccessorID as string;
    await setAgentToken(other);
    await waitFor(
      'the dc1 identity refused in dc2',
      async () => c2.out.includes('Node info update blocked by ACLs') && c2.out.includes(otherAccessor),
      20000,
    );
    await setAgentToken(C2_AGENT);
    await waitFor(
      'c2 writes its node with its dc2 identity',
      async () => {
        const nodes = await call(S2, '/v1/catalog/nodes', { token: MANAGEMENT });
        return nodes.body.includes('"c2"');
      },
      20000,
    );
  });

  it('keeps local tokens in their datacenter; a replication token without acl:write stops replication', async () => {
    const local = await call(S2, '/v1/acl/token', {
      method: 'PUT',
      token: MANAGEMENT,
      body: { Local: true, Policies: [{ Name: 'replication' }] },
    });
    assert.equal(local.status, 200, local.body);
    const { AccessorID } = JSON.parse(local.body) as { AccessorID: string };
    assert.equal((await call(S1, `/v1/acl/token/${AccessorID}`, { token: MANAGEMENT })).status, 403);
    assert.equal((await call(S2, `/v1/acl/token/${AccessorID}`, { token: MANAGEMENT })).status, 200);

    const read = await call(S1, '/v1/acl/policy', {
      method: 'PUT',
      token: MANAGEMENT,
      body: { Name: 'acl-read', Rules: 'acl = "read"' },
    });
    assert.equal(read.status, 200, read.body);
    const readToken = await call(S1, '/v1/acl/token', {
      method: 'PUT',
      token: MANAGEMENT,
      body: { SecretID: READ_ONLY, Policies: [{ Name: 'acl-read' }] },
    });
    assert.equal(readToken.status, 200, readToken.body);
    const set = await call(S2, '/v1/agent/token/replication', {
      method: 'PUT',
      token: MANAGEMENT,
      body: { Token: READ_ONLY },
    });
    assert.equal(set.status, 200, set.body);
    await waitFor(
      'the redaction error',
      async () => (await replication(S2)).LastErrorMessage.startsWith('failed to retrieve unredacted tokens'),
      20000,
    );
    assert.equal(
      (await replication(S2)).LastErrorMessage,
      'failed to retrieve unredacted tokens - replication token in use does not grant acl:write',
    );
  });
});
