import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeResponse, encodeQuery, lookupA, tcpMessageComplete } from '../../src/consul/api/dns.js';
import { ConsulOutputError } from '../../src/consul/api/output-error.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';

/** A response as Consul sends it: the question echoed, then A records with a compressed owner name. */
function response(id: number, rcode: number, ips: string[]): Buffer {
  const q = encodeQuery('web.service.consul', id);
  const head = Buffer.from(q.subarray(0, 12));
  head.writeUInt16BE(0x8400 | 0x0100 | rcode, 2);
  head.writeUInt16BE(ips.length, 6);
  const answers = ips.map((ip) =>
    Buffer.concat([
      Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4]),
      Buffer.from(ip.split('.').map(Number)),
    ]),
  );
  return Buffer.concat([head, q.subarray(12), ...answers]);
}

test('encodes an A query with recursion desired', () => {
  const q = encodeQuery('web.service.consul', 0x1234);
  assert.equal(q.toString('hex'), '12340100000100000000000003776562077365727669636506636f6e73756c0000010001');
  assert.throws(() => encodeQuery('a..b', 1), /not a DNS name/);
});

test('decodes answers, compressed names and rcodes', () => {
  assert.deepEqual(decodeResponse(response(7, 0, ['10.0.0.1', '10.0.0.2']), 7), {
    rcode: 0,
    addresses: ['10.0.0.1', '10.0.0.2'],
  });
  assert.deepEqual(decodeResponse(response(7, 3, []), 7), { rcode: 3, addresses: [] });
  assert.throws(() => decodeResponse(response(7, 0, []), 8), /id mismatch/);
  assert.throws(() => decodeResponse(response(7, 0, ['10.0.0.1']).subarray(0, 40), 7), /truncated/);
});

test('a TCP message is complete once its two-byte length is satisfied', () => {
  assert.equal(tcpMessageComplete(Buffer.from([0])), false);
  assert.equal(tcpMessageComplete(Buffer.from([0, 3, 1, 2])), false);
  assert.equal(tcpMessageComplete(Buffer.from([0, 3, 1, 2, 3])), true);
});

test('lookupA needs a transport that can open TCP channels', async () => {
  const t = new RecordingTransport('h1');
  await assert.rejects(lookupA({ channel: t, host: '127.0.0.1' }, 'web.service.consul'), (e: Error) => {
    assert.ok(e instanceof ConsulOutputError);
    assert.equal(
      e.message,
      'DNS web.service.consul A @127.0.0.1:8600 via h1: this connection cannot open TCP channels',
    );
    return true;
  });
});
