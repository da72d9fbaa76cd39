import type { Duplex } from 'node:stream';

/** Writes `send`, then collects bytes until `complete` says the answer is whole (or the peer closes). */
export function exchangeOverChannel(
  channel: Duplex,
  send: Buffer,
  complete: (received: Buffer) => boolean,
  maxBytes: number,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    channel.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length > maxBytes) reject(new Error(`answer larger than ${maxBytes} bytes`));
      else if (complete(received)) resolve(received);
    });
    channel.on('error', reject);
    channel.on('close', () =>
      complete(received) ? resolve(received) : reject(new Error('connection closed before a whole answer')),
    );
    channel.write(send);
  });
}
