/**
 * TLS in the stand-in on 127.0.0.110-119, as Consul 1.20 does it: the builder's errors in
 * `consul validate`, tlsutil's start-up errors, a real HTTPS listener (client certificates
 * required with tls.https.verify_incoming, plain HTTP off with ports.http = -1), the CLI over
 * HTTPS, and internal RPC that drops plaintext under verify_incoming and checks
 * server.<dc>.<domain> with verify_server_hostname: a rolling migration with no election.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, cleanup, httpRequest, parseTable, runCli, sleep, tempDir, waitFor } from './harness.js';
import { httpsRequest, makeCa, makeCert, serverCert, type Ca, type CertFiles } from './tls-certs.js';

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

async function validate(
  cfg: Record<string, unknown>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = tempDir('standin-tls-validate-');
  writeFileSync(
    join(dir, 'consul.json'),
    JSON.stringify({ data_dir: '/consul/data', bind_addr: '10.0.0.1', ...cfg }),
  );
  return runCli(['validate', dir]);
}

/** Starts an agent that must fail at start; returns its exit code and output. */
async function failedStart(
  root: string,
  ip: string,
  extra: Record<string, unknown>,
): Promise<{ code: number | null; out: string }> {
  const a = new Agent(
    { ip, name: `bad-${Math.random().toString(36).slice(2, 8)}`, server: true, bootstrapExpect: 1, extra },
    root,
  ).start();
  const { code } = await a.stopped(10000);
  return { code, out: a.out };
}

/** One frame of the stand-in's RPC over conn; resolves the reply, or null when the server closes. */
function rpcCall(conn: net.Socket | tls.TLSSocket, method: string): Promise<unknown> {
  return new Promise((resolve) => {
    const body = Buffer.from(JSON.stringify({ id: 1, method, params: {} }));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    let got = Buffer.alloc(0);
    conn.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
        resolve(JSON.parse(got.subarray(4, 4 + got.readUInt32BE(0)).toString()));
        conn.destroy();
      }
    });
    conn.on('error', () => resolve(null));
    conn.on('close', () => resolve(null));
    conn.write(Buffer.concat([head, body]));
  });
}

function runOpenssl(args: string[]): Promise<string> {
  return Promise.resolve(execFileSync('openssl', args, { encoding: 'utf8' }));
}

function tlsBlock(ca: Ca, cert: CertFiles, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { defaults: { ca_file: ca.cert, cert_file: cert.cert, key_file: cert.key, ...over } };
}

describe('stand-in TLS: config checks', () => {
  let root: string;
  let ca: Ca;
  let cert: CertFiles;
  before(() => {
    root = tempDir('standin-tls-cfg-');
    ca = makeCa(root);
    cert = serverCert(ca, 'dc1-server-consul-0', '127.0.0.117');
  });
  after(cleanup);

  it('consul validate fails with the builder texts for keys in the wrong tls stanza', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { tls: { defaults: { verify_server_hostname: true } } },
        'verify_server_hostname is only valid in the tls.internal_rpc stanza',
      ],
      [
        { tls: { https: { verify_server_hostname: true } } },
        'verify_server_hostname is only valid in the tls.internal_rpc stanza',
      ],
      [{ tls: { grpc: { verify_outgoing: true } } }, 'verify_outgoing is not valid in the tls.grpc stanza'],
      [{ tls: { https: { use_auto_cert: true } } }, 'use_auto_cert is only valid in the tls.grpc stanza'],
      [{ server: true, auto_encrypt: { tls: true } }, 'auto_encrypt.tls can only be used on a client.'],
      [{ auto_encrypt: { allow_tls: true } }, 'auto_encrypt.allow_tls can only be used on a server.'],
    ];
    for (const [cfg, text] of cases) {
      const r = await validate(cfg);
      assert.equal(r.code, 1, JSON.stringify(cfg));
      assert.equal(r.stderr, `Config validation failed: ${text}\n`, JSON.stringify(cfg));
    }
  });

  it('warns when allow_tls runs without verify_incoming, and validate passes configs that only fail at start', async () => {
    const r = await validate({
      server: true,
      auto_encrypt: { allow_tls: true },
      tls: { internal_rpc: { verify_incoming: false } },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /if auto_encrypt\.allow_tls is turned on, tls\.internal_rpc\.verify_incoming should be enabled/,
    );
    const s = await validate({ tls: { defaults: { verify_incoming: true } } });
    assert.equal(s.code, 0, s.stderr);
  });

  it('the agent refuses to start with tlsutil texts when CA, cert or key are missing or wrong', async () => {
    const other = makeCert(ca, 'other', 'other', ['DNS:other']);
    const cases: [Record<string, unknown>, string][] = [
      [
        { tls: { defaults: { verify_incoming: true } } },
        'VerifyIncoming set but no CA certificates were provided',
      ],
      [
        { tls: { defaults: { verify_incoming: true, ca_file: ca.cert } } },
        'VerifyIncoming requires either a Cert and Key pair in the configuration file, or auto_encrypt/auto_config be enabled',
      ],
      [
        { tls: { defaults: { verify_outgoing: true } } },
        'VerifyOutgoing set but no CA certificates were provided',
      ],
      [
        { tls: { defaults: { ca_file: ca.cert, cert_file: cert.cert, key_file: other.key } } },
        'Failed to load cert/key pair: tls: private key does not match public key',
      ],
      [
        { tls: { defaults: { cert_file: join(root, 'missing.pem'), key_file: cert.key } } },
        `Failed to load cert/key pair: open ${join(root, 'missing.pem')}: no such file or directory`,
      ],
      [
        { tls: { defaults: { ca_file: join(root, 'nope.pem') } } },
        `Error loading from ${join(root, 'nope.pem')}: open ${join(root, 'nope.pem')}: no such file or directory`,
      ],
    ];
    for (const [extra, text] of cases) {
      const r = await failedStart(root, '127.0.0.117', extra);
      assert.equal(r.code, 1, `${JSON.stringify(extra)}: ${r.out}`);
      assert.ok(r.out.includes(`==> ${text}\n`), `${text} not in: ${r.out}`);
      assert.doesNotMatch(r.out, /BEGIN EC PRIVATE KEY/);
    }
  });
});

describe('stand-in TLS: the HTTPS API and the CLI', () => {
  let root: string;
  let ca: Ca;
  let cert: CertFiles;
  let cli: CertFiles;
  let stranger: Ca;
  let server: Agent;
  const ip = '127.0.0.110';
  const env = (more: Record<string, string> = {}): Record<string, string> => ({
    CONSUL_HTTP_ADDR: `https://${ip}:8501`,
    ...more,
  });

  before(async () => {
    root = tempDir('standin-tls-https-');
    ca = makeCa(root);
    cert = serverCert(ca, 'dc1-server-consul-0', ip);
    cli = makeCert(ca, 'dc1-cli-consul-0', 'cli.dc1.consul', ['DNS:cli.dc1.consul', 'DNS:localhost']);
    mkdirSync(join(root, 'stranger'));
    stranger = makeCa(join(root, 'stranger'), 'stranger-ca');
    server = new Agent(
      {
        ip,
        name: 'tls-https',
        server: true,
        bootstrapExpect: 1,
        extra: {
          ports: { http: -1, https: 8501 },
          tls: {
            ...tlsBlock(ca, cert, { verify_incoming: true, verify_outgoing: true }),
            https: { verify_incoming: true },
          },
        },
      },
      root,
    ).start();
    await waitFor(
      'https leader',
      async () =>
        (await httpsRequest(ip, 8501, '/v1/status/leader', { ca: ca.cert, client: cli })).body ===
        `"${ip}:8300"`,
      15000,
    );
  });
  after(cleanup);

  it('serves HTTPS with the configured cert and requires a client certificate under https verify_incoming', async () => {
    const ok = await httpsRequest(ip, 8501, '/v1/agent/self', { ca: ca.cert, client: cli });
    assert.equal(ok.status, 200);
    assert.equal(
      (JSON.parse(ok.body) as { Member: { Tags: Record<string, string> } }).Member.Tags.use_tls,
      '1',
    );
    await assert.rejects(
      httpsRequest(ip, 8501, '/v1/status/leader', { ca: ca.cert }),
      (e: NodeJS.ErrnoException) =>
        e.code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || /certificate required/.test(e.message),
    );
    await assert.rejects(
      httpsRequest(ip, 8501, '/v1/status/leader', { client: cli }),
      (e: NodeJS.ErrnoException) =>
        e.code === 'SELF_SIGNED_CERT_IN_CHAIN' || e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );
    const foreign = makeCert(stranger, 'foreign', 'client.dc1.consul', ['DNS:localhost']);
    await assert.rejects(httpsRequest(ip, 8501, '/v1/status/leader', { ca: ca.cert, client: foreign }));
  });

  it('answers plain HTTP on the TLS port as Go does, and has no plain HTTP listener with ports.http = -1', async () => {
    const r = await httpRequest(ip, 8501, '/v1/status/leader');
    assert.equal(r.status, 400);
    assert.equal(r.body, 'Client sent an HTTP request to an HTTPS server.\n');
    await assert.rejects(
      httpRequest(ip, 8500, '/v1/status/leader'),
      (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
    );
  });

  it('runs consul members/info over HTTPS with CONSUL_CACERT and CONSUL_CLIENT_CERT/KEY, failing as the real CLI does', async () => {
    const good = env({ CONSUL_CACERT: ca.cert, CONSUL_CLIENT_CERT: cli.cert, CONSUL_CLIENT_KEY: cli.key });
    const m = await runCli(['members'], good);
    assert.equal(m.code, 0, m.stderr);
    assert.deepEqual(
      parseTable(m.stdout, MEMBER_COLUMNS).map((x) => x.Node),
      ['tls-https'],
    );
    const i = await runCli(['info'], good);
    assert.equal(i.code, 0, i.stderr);
    const p = await runCli(['operator', 'raft', 'list-peers'], good);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /tls-https/);

    const noClient = await runCli(['members'], env({ CONSUL_CACERT: ca.cert }));
    assert.equal(noClient.code, 1);
    assert.equal(
      noClient.stderr,
      `Error retrieving members: Get "https://${ip}:8501/v1/agent/members?segment=_all": remote error: tls: certificate required\n`,
    );
    const noCa = await runCli(['info'], env({ CONSUL_CLIENT_CERT: cli.cert, CONSUL_CLIENT_KEY: cli.key }));
    assert.equal(
      noCa.stderr,
      `Error querying agent: Get "https://${ip}:8501/v1/agent/self": tls: failed to verify certificate: x509: certificate signed by unknown authority\n`,
    );
    const plain = await runCli(['info'], { CONSUL_HTTP_ADDR: `${ip}:8501` });
    assert.equal(
      plain.stderr,
      'Error querying agent: Unexpected response code: 400 (Client sent an HTTP request to an HTTPS server.\n)\n',
    );
  });
});

describe('stand-in TLS: internal RPC and a rolling migration', () => {
  let root: string;
  let ca: Ca;
  const ips = ['127.0.0.111', '127.0.0.112', '127.0.0.113'];
  const servers: Agent[] = [];
  const certs: CertFiles[] = [];

  async function term(a: Agent): Promise<string> {
    return (await a.raft()).term ?? '';
  }

  before(async () => {
    root = tempDir('standin-tls-rpc-');
    ca = makeCa(root);
    for (const [i, ip] of ips.entries()) {
      certs.push(serverCert(ca, `dc1-server-consul-${i}`, ip));
      servers.push(
        new Agent(
          { ip, name: `mig-${i + 1}`, server: true, bootstrapExpect: 3, retryJoin: ips },
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

  // The documented order: certificates first (a server without one cannot accept TLS), then
  // verify_outgoing everywhere, and verify_incoming only once every server dials TLS.
  it('turns TLS on server by server with consul reload (verify_incoming off first, then on) and never loses the leader', async () => {
    await waitFor(
      'three voters',
      async () => {
        const c = JSON.parse((await servers[0]!.http('/v1/operator/raft/configuration')).body) as {
          Servers: { Voter: boolean }[];
        };
        return c.Servers.filter((x) => x.Voter).length === 3;
      },
      20000,
    );
    const startTerm = await term(servers[0]!);
    let watching = true;
    const gaps: string[] = [];
    const watcher = (async () => {
      while (watching) {
        for (const s of servers) {
          try {
            if (!(await s.leader())) gaps.push(`${s.name}: no leader`);
          } catch (e) {
            gaps.push(`${s.name}: ${(e as Error).message}`);
          }
        }
        await sleep(50);
      }
    })();
    const roll = async (over: Record<string, unknown>): Promise<void> => {
      for (const [i, s] of servers.entries()) {
        // verify_server_hostname turns verify_outgoing on, so it comes with that step.
        const hostname =
          over.verify_outgoing === true ? { internal_rpc: { verify_server_hostname: true } } : {};
        s.writeConfig({ tls: { ...tlsBlock(ca, certs[i]!, over), ...hostname } });
        const r = await s.cli('reload');
        assert.equal(r.code, 0, r.stderr);
        await sleep(1500);
      }
    };
    await roll({ verify_incoming: false, verify_outgoing: false });
    await roll({ verify_incoming: false, verify_outgoing: true });
    await roll({ verify_incoming: true, verify_outgoing: true });
    await sleep(2000);
    watching = false;
    await watcher;
    assert.deepEqual(gaps, []);
    assert.equal(await term(servers[0]!), startTerm, 'an election happened during the migration');
    const w = await servers[0]!.http('/v1/kv/migrated', 'PUT', 'yes');
    assert.equal(w.body, 'true');
  });

  it('drops plaintext RPC under verify_incoming, with Consul log line, and verifies client certificates', async () => {
    const target = servers[1]!;
    const plain = await rpcCall(net.connect({ host: target.ip, port: 8300 }), 'Status.Peers');
    assert.equal(plain, null);
    await waitFor(
      'warning',
      () =>
        /\[WARN\] {2}agent\.server\.rpc: Non-TLS connection attempted with VerifyIncoming set: conn="from=127\.0\.0\.\d+:\d+"\n/.test(
          target.out,
        ),
      3000,
    );
    const anonymousTls = await rpcCall(
      tls.connect({
        host: target.ip,
        port: 8300,
        ca: readFileSync(ca.cert),
        servername: 'server.dc1.consul',
      }),
      'Status.Peers',
    );
    assert.equal(anonymousTls, null);
    const withCert = await rpcCall(
      tls.connect({
        host: target.ip,
        port: 8300,
        ca: readFileSync(ca.cert),
        servername: 'server.dc1.consul',
        cert: readFileSync(certs[0]!.cert),
        key: readFileSync(certs[0]!.key),
      }),
      'Status.Peers',
    );
    assert.deepEqual((withCert as { result: string[] }).result.sort(), ips.map((i) => `${i}:8300`).sort());
  });

  it('a client with verify_server_hostname reaches servers whose certificates name server.dc1.consul, and not others', async () => {
    const clientCert = makeCert(ca, 'dc1-client-consul-0', 'client.dc1.consul', [
      'DNS:client.dc1.consul',
      'DNS:localhost',
    ]);
    const good = new Agent(
      {
        ip: '127.0.0.114',
        name: 'mig-client',
        retryJoin: ips,
        extra: {
          tls: {
            ...tlsBlock(ca, clientCert, { verify_outgoing: true }),
            internal_rpc: { verify_server_hostname: true },
          },
        },
      },
      root,
    ).start();
    await waitFor(
      'client reads the catalog over TLS',
      async () => (await good.http('/v1/catalog/nodes')).status === 200,
      20000,
    );

    const lone = makeCert(ca, 'lone', 'lone', ['DNS:lone.example', 'IP:127.0.0.115']);
    const wrong = new Agent(
      {
        ip: '127.0.0.115',
        name: 'wrong-name',
        server: true,
        bootstrapExpect: 1,
        extra: { tls: tlsBlock(ca, lone) },
      },
      root,
    ).start();
    await waitFor('lone leader', async () => (await wrong.leader()) === '127.0.0.115:8300', 15000);
    const strict = new Agent(
      {
        ip: '127.0.0.116',
        name: 'strict-client',
        retryJoin: ['127.0.0.115'],
        extra: {
          tls: {
            ...tlsBlock(ca, clientCert, { verify_outgoing: true }),
            internal_rpc: { verify_server_hostname: true },
          },
        },
      },
      root,
    ).start();
    // Until the client has joined it knows no server at all (500 "No known Consul servers"), and
    // its first tries may race the server's start: the answer that matters is the one it keeps
    // getting once it reaches the server, and it must never be let in.
    const refusal =
      'rpc error making call: tls: failed to verify certificate: x509: certificate is valid for lone.example, not server.dc1.consul';
    let last = '';
    await waitFor(
      'the client refused for the server certificate name',
      async () => {
        const x = await strict.http('/v1/catalog/nodes');
        assert.notEqual(x.status, 200, 'a server whose certificate lacks server.dc1.consul was trusted');
        last = `${x.status} ${x.body}`;
        return x.status === 500 && x.body === refusal;
      },
      20000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last answer: ${last}`);
    });
  });
});

describe('stand-in TLS: auto_encrypt', () => {
  let root: string;
  let ca: Ca;
  const management = '8d3e6f0a-1b2c-4d5e-8f90-a1b2c3d4e5f6';
  const clientTls = (): Record<string, unknown> => ({
    tls: {
      defaults: { ca_file: ca.cert, verify_outgoing: true },
      internal_rpc: { verify_server_hostname: true },
    },
    auto_encrypt: { tls: true, ip_san: ['127.0.0.119'] },
    ports: { https: 8501 },
  });

  before(async () => {
    root = tempDir('standin-tls-ae-');
    ca = makeCa(root);
  });
  after(cleanup);

  it('signs a client certificate only with allow_tls, the same datacenter and node:write for the agent token', async () => {
    const noAllow = new Agent(
      {
        ip: '127.0.0.117',
        name: 'ae-plain',
        server: true,
        bootstrapExpect: 1,
        extra: {
          tls: tlsBlock(ca, serverCert(ca, 'plain-server', '127.0.0.117'), {
            verify_incoming: true,
            verify_outgoing: true,
          }),
        },
      },
      root,
    ).start();
    const server = new Agent(
      {
        ip: '127.0.0.118',
        name: 'ae-server',
        server: true,
        bootstrapExpect: 1,
        extra: {
          tls: {
            ...tlsBlock(ca, serverCert(ca, 'ae-server', '127.0.0.118'), {
              verify_incoming: true,
              verify_outgoing: true,
            }),
            internal_rpc: { verify_server_hostname: true },
          },
          auto_encrypt: { allow_tls: true },
          acl: { enabled: true, default_policy: 'deny', tokens: { initial_management: management } },
        },
      },
      root,
    ).start();
    await waitFor(
      'leaders',
      async () =>
        (await noAllow.leader()) === '127.0.0.117:8300' && (await server.leader()) === '127.0.0.118:8300',
      15000,
    );

    const attempt = async (
      dc: string,
      join: string,
      extra: Record<string, unknown>,
      text: string,
    ): Promise<void> => {
      const c = new Agent(
        {
          ip: '127.0.0.119',
          name: 'ae-client',
          retryJoin: [join],
          extra: { datacenter: dc, ...clientTls(), ...extra },
        },
        root,
      ).start();
      await waitFor(
        text,
        () =>
          c.out.includes(
            `[ERROR] agent.auto_config: AutoEncrypt.Sign RPC failed: addr=${join}:8300 error=${JSON.stringify(text)}\n`,
          ),
        15000,
      );
      await assert.rejects(
        httpRequest('127.0.0.119', 8500, '/v1/status/leader'),
        (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
      );
      c.kill();
      await c.stopped();
    };
    await attempt(
      'dc1',
      '127.0.0.117',
      {},
      'AutoEncrypt.AllowTLS must be enabled in order to use this endpoint',
    );
    // Without verify_server_hostname: with it a dc2 client already refuses server.dc1.consul.
    const noHostname = { tls: { defaults: { ca_file: ca.cert, verify_outgoing: true } } };
    await attempt(
      'dc2',
      '127.0.0.118',
      noHostname,
      "mismatched datacenter (client_dc='dc2' server_dc='dc1'); check client has same datacenter set as servers",
    );
    const aclOn = { acl: { enabled: true, default_policy: 'deny' } };
    await attempt(
      'dc1',
      '127.0.0.118',
      aclOn,
      `Permission denied: anonymous token lacks permission 'node:write' on "ae-client". The anonymous token is used implicitly when a request does not specify a token.`,
    );

    const made = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.118',
          port: 8500,
          path: '/v1/acl/token',
          method: 'PUT',
          headers: { 'X-Consul-Token': management },
        },
        (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ NodeIdentities: [{ NodeName: 'ae-client', Datacenter: 'dc1' }] }));
    });
    const agentToken = (JSON.parse(made) as { SecretID: string }).SecretID;
    const client = new Agent(
      {
        ip: '127.0.0.119',
        name: 'ae-client',
        retryJoin: ['127.0.0.118'],
        extra: {
          ...clientTls(),
          acl: { enabled: true, default_policy: 'deny', tokens: { agent: agentToken } },
        },
      },
      root,
    ).start();
    // The client reads through a verify_incoming server with the certificate it was given.
    await waitFor(
      'client up',
      async () => (await client.http('/v1/status/leader')).body === '"127.0.0.118:8300"',
      20000,
    );
    const nodes = await waitFor(
      'catalog over auto_encrypt TLS',
      async () => {
        const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.request(
            {
              host: '127.0.0.119',
              port: 8500,
              path: '/v1/catalog/nodes',
              headers: { 'X-Consul-Token': management },
            },
            (res) => {
              let b = '';
              res.on('data', (d: Buffer) => (b += d.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
            },
          );
          req.on('error', reject);
          req.end();
        });
        return r.status === 200 && r.body.includes('ae-client') ? r : null;
      },
      20000,
    );
    assert.match(nodes.body, /"Node":"ae-server"/);

    // Its HTTPS listener serves the signed certificate, which chains to the Connect CA's root.
    const roots = JSON.parse((await server.http('/v1/connect/ca/roots')).body) as {
      TrustDomain: string;
      Roots: { RootCert: string }[];
    };
    const rootFile = join(root, 'connect-root.pem');
    writeFileSync(rootFile, roots.Roots[0]!.RootCert);
    const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const s = tls.connect(
        { host: '127.0.0.119', port: 8501, ca: readFileSync(rootFile), checkServerIdentity: () => undefined },
        () => {
          resolve(s.getPeerCertificate());
          s.destroy();
        },
      );
      s.on('error', reject);
    });
    assert.equal(
      peer.subjectaltname,
      `URI:spiffe://${roots.TrustDomain}/agent/client/dc/dc1/id/ae-client, DNS:localhost, IP Address:127.0.0.1, IP Address:127.0.0.119`,
    );
    const certFile = join(root, 'ae-client.pem');
    writeFileSync(
      certFile,
      `-----BEGIN CERTIFICATE-----\n${peer.raw
        .toString('base64')
        .match(/.{1,64}/g)!
        .join('\n')}\n-----END CERTIFICATE-----\n`,
    );
    const verified = await runOpenssl(['verify', '-CAfile', rootFile, certFile]);
    assert.equal(verified, `${certFile}: OK\n`);
  });
});
