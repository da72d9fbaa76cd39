import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { httpOverChannel } from '../../src/ssh/http-over-channel.js';
import { createCa } from '../../src/tls/certificate-authority.js';
import { createServerCert } from '../../src/tls/server-certificate.js';

/** A loopback address of this test's own, as a Consul server's address in the lab would be. */
const ADDRESS = '127.0.0.131';

/**
 * What an SSH direct-tcpip channel is to httpOverChannel: a Duplex that is not a net.Socket.
 * Here it carries a real TCP connection to a real Node HTTPS server on loopback.
 */
async function forwardedChannel(port: number): Promise<Duplex> {
  const socket = connect({ host: ADDRESS, port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return Duplex.from({ readable: socket, writable: socket });
}

describe('HTTPS over a forwarded channel', async () => {
  const ca = await createCa();
  const otherCa = await createCa();
  const cert = await createServerCert(ca, { dc: 'dc1', ipAddresses: [ADDRESS] });
  let server: Server;
  let port = 0;
  const seen: string[] = [];

  before(async () => {
    // As Consul's HTTPS listener with https.verify_incoming = false: the server cert, no client cert asked.
    server = createHttpsServer(
      { cert: cert.certPem, key: cert.key.reveal(), minVersion: 'TLSv1.2' },
      (req, res) => {
        seen.push(`${req.method} ${req.url} host=${req.headers.host}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify('10.213.0.11:8300'));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, ADDRESS, resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = async (tls: { ca: string; servername: string }) =>
    httpOverChannel(
      await forwardedChannel(port),
      { host: ADDRESS, port, path: '/v1/status/leader', tls },
      5000,
    );

  it('speaks TLS to the agent, checked against the CA and the server name', async () => {
    const answer = await get({ ca: ca.certPem, servername: 'server.dc1.consul' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, '"10.213.0.11:8300"');
    assert.equal(seen.at(-1), `GET /v1/status/leader host=${ADDRESS}:${port}`);
  });

  it('accepts the agent on its own host by `localhost`, which every server certificate carries', async () => {
    assert.equal((await get({ ca: ca.certPem, servername: 'localhost' })).status, 200);
  });

  it('refuses an agent whose certificate another CA signed', async () => {
    await assert.rejects(get({ ca: otherCa.certPem, servername: 'server.dc1.consul' }), (err: Error) => {
      assert.match(err.message, /unable to verify|self[- ]signed|unable to get local issuer/i);
      return true;
    });
  });

  it('refuses a certificate for another datacenter', async () => {
    await assert.rejects(
      get({ ca: ca.certPem, servername: 'server.dc2.consul' }),
      /does not match certificate's altnames/,
    );
  });

  it('without tls, a plain request to the HTTPS listener gets no answer (the TLS server drops it)', async () => {
    const count = seen.length;
    await assert.rejects(
      httpOverChannel(await forwardedChannel(port), { host: ADDRESS, port, path: '/v1/status/leader' }, 5000),
      /socket hang up|ECONNRESET/,
    );
    assert.equal(seen.length, count, 'the request never reached the handler');
  });
});
