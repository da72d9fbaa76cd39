import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsulApi, ConsulUnreachableError } from '../../src/consul/api/api.js';
import { ConsulOutputError } from '../../src/consul/api/output-error.js';
import { Secret } from '../../src/shell/secret.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import type { HttpRequest, HttpResponse, Transport } from '../../src/ssh/transport.js';
import { FakeClock } from '../../src/util/fake-clock.js';

test('asks the agent at the given address through the host connection, with a timeout', async () => {
  const t = new RecordingTransport('s1')
    .onHttp('GET 10.0.0.2:8500/v1/status/leader', { body: '"10.0.0.1:8300"' })
    .onHttp('GET 10.0.0.2:8500/v1/status/peers', { body: '["10.0.0.1:8300","10.0.0.2:8300"]' });
  const api = new ConsulApi(t, { host: '10.0.0.2', timeoutSeconds: 3 });
  assert.equal(await api.leader(), '10.0.0.1:8300');
  assert.deepEqual(await api.peers(), ['10.0.0.1:8300', '10.0.0.2:8300']);
  assert.deepEqual(
    t.httpCalls.map((c) => [c.method, c.host, c.port, c.path, c.timeoutSeconds]),
    [
      ['GET', '10.0.0.2', 8500, '/v1/status/leader', 3],
      ['GET', '10.0.0.2', 8500, '/v1/status/peers', 3],
    ],
  );
});

test('defaults to the agent on 127.0.0.1:8500 of the connected host', async () => {
  const t = new RecordingTransport('c1').onHttp('GET 127.0.0.1:8500/v1/status/leader', { body: '""' });
  assert.equal(await new ConsulApi(t).leader(), '');
});

test('reads raft configuration stale, so a leaderless server still answers', async () => {
  const t = new RecordingTransport('s1').onHttp('GET 127.0.0.1:8500/v1/operator/raft/configuration?stale', {
    body: JSON.stringify({
      Servers: [{ ID: 'a', Node: 's1', Address: '10.0.0.1:8300', Leader: false, Voter: true }],
      Index: 5,
    }),
  });
  const config = await new ConsulApi(t).raftConfiguration({ stale: true });
  assert.equal(config.servers[0]?.node, 's1');
});

test('autopilot health answers 429 when unhealthy; that is data, not an error', async () => {
  const body = JSON.stringify({ Healthy: false, FailureTolerance: 0, Servers: [] });
  const t = new RecordingTransport('s1').onHttp('GET 127.0.0.1:8500/v1/operator/autopilot/health', {
    status: 429,
    body,
  });
  const health = await new ConsulApi(t).autopilotHealth();
  assert.equal(health.healthy, false);
});

test('every request carries the ACL token it was given; a 403 then says the token lacks the right', async () => {
  const token = new Secret('6a1f0c6e-2b8d-4c59-9d3a-51c9b7e2f4a0');
  const t = new RecordingTransport('s1').onHttp('GET 127.0.0.1:8500/v1/agent/self', {
    status: 403,
    body: 'Permission denied\n',
  });
  await assert.rejects(new ConsulApi(t, { token }).self(), (e: unknown) => {
    assert.ok(e instanceof ConsulOutputError);
    assert.match(e.message, /\(drover's ACL token lacks the right; see docs\/security\.md\)/);
    assert.ok(!e.message.includes(token.reveal()));
    return true;
  });
  assert.equal(t.httpCalls[0]?.token, token);
});

test('an unexpected status names the endpoint, the agent and the reason', async () => {
  const t = new RecordingTransport('s1')
    .onHttp('GET 127.0.0.1:8500/v1/agent/self', { status: 403, body: 'Permission denied\n' })
    .onHttp('GET 127.0.0.1:8500/v1/agent/members', { status: 500, body: 'rpc error: No cluster leader' });
  const api = new ConsulApi(t);
  await assert.rejects(api.self(), (e: unknown) => {
    assert.ok(e instanceof ConsulOutputError);
    assert.equal(
      e.message,
      'GET /v1/agent/self: HTTP 403 from 127.0.0.1:8500 via s1 (the agent wants an ACL token: set consul_acl_management_token or DROVER_ACL_TOKEN): Permission denied',
    );
    return true;
  });
  await assert.rejects(api.members(), /GET \/v1\/agent\/members: HTTP 500 .*No cluster leader/);
});

test('a refused connection becomes ConsulUnreachableError with the cause kept', async () => {
  const refused = new Error('connect ECONNREFUSED 10.0.0.3:8500');
  const t = new RecordingTransport('s1').onHttp(/status\/leader/, () => {
    throw refused;
  });
  await assert.rejects(new ConsulApi(t, { host: '10.0.0.3' }).leader(), (e: unknown) => {
    assert.ok(e instanceof ConsulUnreachableError);
    assert.match(e.message, /no answer from 10\.0\.0\.3:8500 via s1: connect ECONNREFUSED/);
    assert.equal(e.cause, refused);
    return true;
  });
});

test('a transport that never answers is cut off at the timeout', async () => {
  const hanging: Transport = {
    host: 'frozen',
    exec: () => new Promise(() => undefined),
    http: (_: HttpRequest) => new Promise<HttpResponse>(() => undefined),
    close: async () => undefined,
  };
  const clock = new FakeClock();
  await assert.rejects(
    new ConsulApi(hanging, { timeoutSeconds: 0.2, clock }).leader(),
    /no answer from 127\.0\.0\.1:8500 via frozen within 0\.2s/,
  );
  assert.deepEqual(clock.sleeps, [200], 'one wait, of the timeout');
});

test('an answer before the timeout wins', async () => {
  const clock = new FakeClock();
  const quick: Transport = {
    host: 's1',
    exec: () => new Promise(() => undefined),
    http: async () => ({ status: 200, headers: {}, body: '"10.0.0.1:8300"' }),
    close: async () => undefined,
  };
  assert.equal(await new ConsulApi(quick, { timeoutSeconds: 0.2, clock }).leader(), '10.0.0.1:8300');
});
