/**
 * Gossip encryption on 127.0.0.21-24: matching keys join, a wrong key or no key stays out
 * (and the logs say why), the first key is persisted in the data dir, and keys rotate with
 * `consul keyring` without restarts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, cleanup, parseTable, runCli, sleep, tempDir, waitFor } from './harness.js';

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

async function keygen(): Promise<string> {
  const r = await runCli(['keygen']);
  assert.equal(r.code, 0);
  return r.stdout.trim();
}

describe('stand-in gossip encryption', () => {
  let root: string;
  let key1: string;
  let key2: string;
  let server: Agent;
  let friend: Agent;

  async function names(via: Agent): Promise<string[]> {
    const r = await via.cli('members', '-status=alive');
    return parseTable(r.stdout, MEMBER_COLUMNS).map((m) => m.Node ?? '');
  }

  before(async () => {
    root = tempDir('standin-encrypt-');
    key1 = await keygen();
    key2 = await keygen();
    server = new Agent(
      { ip: '127.0.0.21', name: 'enc-server', server: true, bootstrapExpect: 1, encrypt: key1 },
      root,
    ).start();
    friend = new Agent(
      { ip: '127.0.0.22', name: 'enc-friend', retryJoin: ['127.0.0.21'], encrypt: key1 },
      root,
    ).start();
    await waitFor('leader', async () => (await server.leader()) === '127.0.0.21:8300', 15000);
    await waitFor('friend joined', async () => (await names(server)).includes('enc-friend'), 15000);
  });

  after(cleanup);

  it('generates distinct 32-byte base64 keys', () => {
    assert.notEqual(key1, key2);
    assert.equal(Buffer.from(key1, 'base64').length, 32);
    assert.match(key1, /^[A-Za-z0-9+/]{43}=$/);
  });

  it('reports serf_lan encrypted = true and persists the key in serf/local.keyring', async () => {
    const info = await friend.info();
    assert.equal(info.serf_lan?.encrypted, 'true');
    assert.deepEqual(JSON.parse(readFileSync(join(server.dataDir, 'serf', 'local.keyring'), 'utf8')), [key1]);
  });

  it('keeps a node with another key out, and both sides log why', async () => {
    const stranger = new Agent(
      { ip: '127.0.0.23', name: 'enc-stranger', retryJoin: ['127.0.0.21'], encrypt: key2 },
      root,
    ).start();
    const plain = new Agent({ ip: '127.0.0.24', name: 'enc-plain', retryJoin: ['127.0.0.21'] }, root).start();
    await waitFor(
      'the stranger to have tried',
      () => /No installed keys could decrypt the message/.test(stranger.out),
      10000,
    );
    await waitFor(
      'the plain node to have tried',
      () => /Remote state is encrypted and encryption is not configured/.test(plain.out),
      10000,
    );
    await sleep(2000);
    assert.deepEqual((await names(server)).sort(), ['enc-friend', 'enc-server']);
    assert.match(server.out, /No installed keys could decrypt the message/);
    assert.match(server.out, /Encryption is configured but remote state is not encrypted/);
    assert.match(stranger.out, /Join cluster failed, will retry/);
    // Retrying every second must not flood the server's log with one line per attempt.
    const complaints = server.out
      .split('\n')
      .filter((l) => l.includes('No installed keys could decrypt')).length;
    assert.ok(complaints <= 2, `server logged the bad key ${complaints} times`);
    plain.kill();
  });

  it('rotates keys with consul keyring so the other node can join, without restarts', async () => {
    const list = await server.cli('keyring', '-list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(
        `^==> Gathering installed encryption keys\\.\\.\\.\\n\\nWAN:\\n  ${escape(key1)} \\[1/1\\]\\n\\ndc1 \\(LAN\\):\\n  ${escape(key1)} \\[2/2\\]\\n$`,
      ),
    );
    const install = await server.cli('keyring', `-install=${key2}`);
    assert.equal(install.code, 0, install.stderr);
    const use = await server.cli('keyring', '-use', key2);
    assert.equal(use.code, 0, use.stderr);
    await waitFor(
      'stranger joined after rotation',
      async () => (await names(server)).includes('enc-stranger'),
      10000,
    );
    const after = await friend.cli('keyring', '-list');
    assert.match(after.stdout, new RegExp(`${escape(key2)} \\[3/3\\]`));
  });

  it('removes the old key, and removing it again succeeds on every member (memberlist: nothing to remove is no error)', async () => {
    const first = await server.cli('keyring', '-remove', key1);
    assert.equal(first.code, 0, first.stderr);
    const again = await server.cli('keyring', '-remove', key1);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    const list = await server.cli('keyring', '-list');
    assert.doesNotMatch(list.stdout, new RegExp(escape(key1)));
    const primary = await server.cli('keyring', '-remove', key2);
    assert.notEqual(primary.code, 0);
    assert.match(primary.stderr + primary.stdout, /Removing the primary key is not allowed/);
  });

  it('ignores a changed encrypt key after the first start, with a warning', async () => {
    friend.kill('SIGKILL');
    await friend.stopped();
    const key3 = await keygen();
    friend.writeConfig({ encrypt: key3 });
    friend.start();
    await waitFor(
      'warning',
      () => /WARNING: LAN keyring exists but -encrypt given, using keyring/.test(friend.out),
      10000,
    );
    // The keyring still holds key1 and key2 (primary key2), so the node is back in the cluster.
    await waitFor('friend alive again', async () => (await names(server)).includes('enc-friend'), 15000);
    const ring = JSON.parse(readFileSync(join(friend.dataDir, 'serf', 'local.keyring'), 'utf8')) as string[];
    assert.ok(!ring.includes(key3));
  });
});

function escape(s: string): string {
  return s.replace(/[+/=]/g, (c) => `\\${c}`);
}
