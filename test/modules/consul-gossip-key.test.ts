import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFile } from '../../src/remote/fs.js';
import { consulGossipKeyModule, GossipKeyRefusedError } from '../../src/modules/consul-gossip-key.js';
import { render } from '../../src/shell/cmd.js';
import { Secret, secret } from '../../src/shell/secret.js';
import { factsAsked, planContext } from './fixture.js';

const KEY = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';
const OTHER = 'Zm9vYmFyYmF6cXV4cXV1eHp6enp6enp6enp6enp6enp=';
const args = { data_dir: '/opt/consul/data' };

describe('consul_gossip_key plan (facts in, change out)', () => {
  it('reads the keyring file in the data dir', () => {
    assert.deepEqual(factsAsked(consulGossipKeyModule, args), {
      ring: {
        read: {
          effect: 'read',
          sends: render(readFile('/opt/consul/data/serf/local.keyring'), { redact: true }),
          timeoutSeconds: 30,
        },
      },
    });
  });

  it('a first start takes the key; the primary key passes', () => {
    const ctx = planContext({ vars: { consul_encrypt: secret(KEY) } });
    assert.deepEqual(consulGossipKeyModule.plan(args, { ring: undefined }, ctx), {
      changed: false,
      summary: 'gossip key: no keyring yet, the agent takes the key on its first start',
      data: { standing: 'new', installed_keys: 0 },
    });
    const ring = [new Secret(KEY), new Secret(OTHER)];
    assert.equal(consulGossipKeyModule.plan(args, { ring }, ctx).data?.['standing'], 'primary');
  });

  it('a key the agent never had is refused, without quoting either key', () => {
    const ctx = planContext({ vars: { consul_encrypt: secret(KEY) } });
    assert.throws(
      () => consulGossipKeyModule.plan(args, { ring: [new Secret(OTHER)] }, ctx),
      (err: unknown) =>
        err instanceof GossipKeyRefusedError &&
        err.message.startsWith('s1: the gossip key given') &&
        !err.message.includes(KEY) &&
        !err.message.includes(OTHER),
    );
  });
});
