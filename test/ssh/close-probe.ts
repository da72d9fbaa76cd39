/**
 * Run as its own process by connection-lifecycle.test.ts: connects, runs a command in the
 * session and one on a channel, speaks TCP through a forwarded channel, closes, and then must
 * exit by itself. A handle left open (socket, timer, keepalive) keeps it alive past the test's
 * bound. Arguments: a JSON ConnectionSpec, then the port of a TCP echo server on the address.
 */
import { exec } from '../../src/shell/cmd.js';
import { connect } from '../../src/ssh/node-ssh-transport.js';
import type { ConnectionSpec } from '../../src/ssh/transport.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as ConnectionSpec;
const echoPort = Number(process.argv[3]);
const transport = await connect(spec);
const [inSession, onChannel] = await Promise.all([
  transport.exec(exec('echo', 'one')),
  transport.exec(exec('echo', 'two')),
]);
const echoed = await transport.tcpExchange?.({
  host: spec.address,
  port: echoPort,
  send: Buffer.from('ping\n'),
  complete: (b) => b.includes('\n'),
});
await transport.close();
process.stdout.write(`${inSession.stdout}${onChannel.stdout}${echoed?.toString() ?? ''}`);
