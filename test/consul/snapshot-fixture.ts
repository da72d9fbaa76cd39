/** Consul snapshot archives for tests, written independently of drover's reader. */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** A ustar archive as Go's archive/tar writes one (independent of drover's reader). */
export function tar(files: [string, Buffer][]): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, data] of files) {
    const h = Buffer.alloc(512);
    h.write(name, 0);
    h.write('0000600\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\x0000', 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const STATE = Buffer.from('{"kvs":[{"key":"app/config","value":"dGVzdA=="}]}');

export function meta(size = STATE.length): Buffer {
  const m = {
    Version: 1,
    ID: '2-42-1765155000000',
    Index: 42,
    Term: 2,
    Peers: 'ka4=',
    Configuration: { Servers: [{ Suffrage: 0, ID: 'a577b288', Address: '10.213.0.11:8300' }] },
    ConfigurationIndex: 1,
    Size: size,
  };
  return Buffer.from(`${JSON.stringify(m)}\n`);
}

export function archive(
  o: { state?: Buffer; sums?: string; extra?: [string, Buffer]; meta?: Buffer } = {},
): Buffer {
  const state = o.state ?? STATE;
  const m = o.meta ?? meta();
  const sums = o.sums ?? `${sha(m)}  meta.json\n${sha(STATE)}  state.bin\n`;
  const files: [string, Buffer][] = [
    ['meta.json', m],
    ['state.bin', state],
    ['SHA256SUMS', Buffer.from(sums)],
  ];
  if (o.extra) files.push(o.extra);
  return gzipSync(tar(files));
}
