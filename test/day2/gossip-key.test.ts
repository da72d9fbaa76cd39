import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  generateGossipKey,
  isValidGossipKey,
  keyringStanding,
  parseKeyringFile,
} from '../../src/consul/agent/gossip-key.js';
import {
  gossipKeyFile,
  readKeyFile,
  resolveGossipKey,
  writeKeyFile,
} from '../../src/app/gossip-key-source.js';
import { ConfigError, GateError, UsageError } from '../../src/errors.js';
import type { Inventory } from '../../src/inventory/types.js';
import { consulGossipKeyModule } from '../../src/modules/consul-gossip-key.js';
import { Secret } from '../../src/shell/secret.js';
import { StepExecutor } from '../../src/runner/step-executor.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { changeOn, moduleContext } from '../modules/context.js';

const K1 = generateGossipKey();
const K2 = generateGossipKey();

function inventory(file: string, vars: Record<string, unknown> = {}): Inventory {
  const host = {
    name: 's1',
    address: '10.0.0.1',
    groups: ['all', 'servers'],
    vars: { address: '10.0.0.1', ...vars },
  };
  return {
    file,
    hosts: new Map([['s1', host]]),
    groups: new Map([
      ['servers', { name: 'servers', vars: {}, children: [], directHosts: ['s1'], hosts: ['s1'] }],
    ]),
    warnings: [],
  };
}

describe('gossip keys', () => {
  it('generates 32-byte base64 keys and validates the format', () => {
    assert.equal(Buffer.from(K1, 'base64').length, 32);
    assert.ok(isValidGossipKey(K1));
    assert.ok(!isValidGossipKey('not-a-key'));
    assert.ok(!isValidGossipKey(Buffer.alloc(20).toString('base64')));
    assert.notEqual(K1, K2);
  });

  it('reads keyring files and places a wanted key against them', () => {
    assert.deepEqual(parseKeyringFile(JSON.stringify([K1, K2])), [K1, K2]);
    assert.equal(parseKeyringFile('{"x":1}'), undefined);
    assert.equal(keyringStanding(undefined, K1), 'new');
    assert.equal(keyringStanding([K1, K2], K1), 'primary');
    assert.equal(keyringStanding([K1, K2], K2), 'installed');
    assert.equal(keyringStanding([K1], K2), 'foreign');
    assert.equal(keyringStanding([K1], undefined), 'unwanted');
    assert.equal(keyringStanding(undefined, undefined), 'off');
  });
});

describe('gossip key source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-key-'));

  it('names the key file after the inventory', () => {
    assert.equal(gossipKeyFile('/x/inventories/lab.yaml'), '/x/inventories/lab.gossip.key');
  });

  it('creates a key once (mode 0600), then always reads the same one; never overwrites', async () => {
    const inv = inventory(join(dir, 'a.yaml'));
    const first = await resolveGossipKey(inv, { create: true, env: {} });
    assert.equal(first.source, 'new');
    const file = gossipKeyFile(inv.file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const again = await resolveGossipKey(inv, { create: true, env: {} });
    assert.equal(again.source, 'file');
    assert.equal(again.key?.reveal(), first.key?.reveal());
    await assert.rejects(writeKeyFile(file, new Secret(K2)), UsageError);
    assert.ok(!first.notes.join('').includes(first.key?.reveal() ?? 'x'), 'notes never hold the key');
  });

  it('plan (create: false) does not write a file', async () => {
    const inv = inventory(join(dir, 'b.yaml'));
    const r = await resolveGossipKey(inv, { create: false, env: {} });
    assert.equal(r.source, 'new');
    assert.equal(await readKeyFile(gossipKeyFile(inv.file)), undefined);
  });

  it('prefers the inventory, then DROVER_GOSSIP_KEY; refuses bad keys and open key files', async () => {
    const inv = inventory(join(dir, 'c.yaml'), { consul_encrypt: new Secret(K1) });
    assert.equal(
      (await resolveGossipKey(inv, { create: true, env: { DROVER_GOSSIP_KEY: K2 } })).key?.reveal(),
      K1,
    );
    const plain = inventory(join(dir, 'd.yaml'));
    const fromEnv = await resolveGossipKey(plain, { create: true, env: { DROVER_GOSSIP_KEY: K2 } });
    assert.equal(fromEnv.source, 'env');
    await assert.rejects(
      resolveGossipKey(plain, { create: true, env: { DROVER_GOSSIP_KEY: 'nope' } }),
      ConfigError,
    );
    const open = join(dir, 'e.gossip.key');
    writeFileSync(open, `${K1}\n`);
    chmodSync(open, 0o644);
    await assert.rejects(
      resolveGossipKey(inventory(join(dir, 'e.yaml')), { create: true, env: {} }),
      /readable by others/,
    );
  });

  it('adopts the key the running cluster uses instead of making a new one', async () => {
    const inv = inventory(join(dir, 'f.yaml'), { consul_data_dir: '/d' });
    const t = new RecordingTransport('s1').onExec(/local\.keyring/, {
      stdout: `present 600 0 root 0 root\n${JSON.stringify([K2])}`,
    });
    const r = await resolveGossipKey(inv, { create: true, env: {}, connect: async () => readsOf(t) });
    assert.equal(r.source, 'cluster');
    assert.equal((await readKeyFile(gossipKeyFile(inv.file)))?.reveal(), K2);
  });

  it('keeps an unencrypted running cluster unencrypted, with a warning', async () => {
    const inv = inventory(join(dir, 'g.yaml'));
    const t = new RecordingTransport('s1')
      .onExec(/local\.keyring/, { stdout: 'absent\n' })
      .onExec(/node-id/, { code: 0 });
    const r = await resolveGossipKey(inv, { create: true, env: {}, connect: async () => readsOf(t) });
    assert.equal(r.source, 'unencrypted-cluster');
    assert.equal(r.key, undefined);
    assert.match(r.notes.join(''), /gossip encryption is off/);
  });

  it('consul_encrypt_enable-style opt out: consul_gossip_encryption: false', async () => {
    const r = await resolveGossipKey(inventory(join(dir, 'h.yaml'), { consul_gossip_encryption: false }), {
      create: true,
      env: {},
    });
    assert.equal(r.source, 'disabled');
  });
});

describe('consul_gossip_key module', () => {
  const ring = (keys: string[]) => ({ stdout: `present 600 0 root 0 root\n${JSON.stringify(keys)}` });

  it('passes a first start and a matching key, read-only', async () => {
    const ctx = moduleContext({ vars: { consul_encrypt: new Secret(K1) } });
    ctx.transport.onExec(/local\.keyring/, { stdout: 'absent\n' });
    const c = await changeOn(consulGossipKeyModule, { data_dir: '/d' }, ctx);
    assert.equal(c.changed, false);
    assert.equal(c.steps, undefined);
    assert.equal(c.data?.['standing'], 'new');
    const ctx2 = moduleContext({ vars: { consul_encrypt: new Secret(K1) } });
    ctx2.transport.onExec(/local\.keyring/, ring([K1, K2]));
    assert.equal(
      (await changeOn(consulGossipKeyModule, { data_dir: '/d' }, ctx2)).data?.['standing'],
      'primary',
    );
  });

  it('refuses a changed key with a pointer to rotation, and never shows a key', async () => {
    const ctx = moduleContext({ vars: { consul_encrypt: new Secret(K2) } });
    ctx.transport.onExec(/local\.keyring/, ring([K1]));
    await assert.rejects(changeOn(consulGossipKeyModule, { data_dir: '/d' }, ctx), (err: Error) => {
      assert.ok(err instanceof GateError);
      assert.match(err.message, /rotate-gossip-key/);
      assert.ok(!err.message.includes(K1) && !err.message.includes(K2));
      return true;
    });
  });

  it('refuses a half-done rotation', async () => {
    const ctx = moduleContext({ vars: { consul_encrypt: new Secret(K2) } });
    ctx.transport.onExec(/local\.keyring/, ring([K1, K2]));
    await assert.rejects(changeOn(consulGossipKeyModule, { data_dir: '/d' }, ctx), /half done/);
  });
});

/** The host as the session's reader offers it: read steps only. */
const readsOf = (t: RecordingTransport) => new StepExecutor(t, true, () => []);
