/**
 * Run as its own process by connection-lifecycle.test.ts: connects (through the test's proxy),
 * runs one command, says `ready`, and on a line on stdin (sent once the test has frozen the
 * peer) closes the transport, says `closed`, and then must exit by itself. A socket that waits
 * for a frozen peer to close its side keeps it alive past the test's bound.
 * Argument: a JSON ConnectionSpec.
 */
import { exec } from '../../src/shell/cmd.js';
import { connect } from '../../src/ssh/node-ssh-transport.js';
import type { ConnectionSpec } from '../../src/ssh/transport.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as ConnectionSpec;
const transport = await connect(spec);
await transport.exec(exec('echo', 'one'));
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.pause();
await transport.close();
process.stdout.write('closed\n');
