import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as consul from '../../src/remote/consul.js';
import { render } from '../../src/shell/cmd.js';
import { secret } from '../../src/shell/secret.js';

const shown = (c: Parameters<typeof render>[0]) => render(c, { redact: true });

describe('consul command builders', () => {
  it('runs the CLI inside the consul container', () => {
    assert.equal(shown(consul.info()), 'docker exec consul consul info');
    assert.equal(shown(consul.members()), 'docker exec consul consul members');
    assert.equal(shown(consul.raftListPeers()), 'docker exec consul consul operator raft list-peers');
    assert.equal(shown(consul.leave()), 'docker exec consul consul leave');
    assert.equal(shown(consul.reload()), 'docker exec consul consul reload');
    assert.equal(
      shown(consul.validate('/consul/config')),
      'docker exec consul consul validate /consul/config',
    );
  });

  it('force-leaves with and without -prune', () => {
    assert.equal(shown(consul.forceLeave('s3')), 'docker exec consul consul force-leave s3');
    assert.equal(
      shown(consul.forceLeave('s3', { prune: true })),
      'docker exec consul consul force-leave -prune s3',
    );
  });

  it('uses another container name when asked', () => {
    assert.equal(
      shown(consul.members({ container: 'consul-client' })),
      'docker exec consul-client consul members',
    );
  });

  it('validates a host config dir with the target image, read-only, in a named throwaway container', () => {
    // The consul binary as entrypoint: the image's entrypoint would chown the read-only mount.
    assert.equal(
      shown(
        consul.validateWithImage('hashicorp/consul:1.20.1', '/opt/consul/config.next', 'drover-validate-1', {
          user: '100:1000',
        }),
      ),
      'docker run --rm --name drover-validate-1 --network host --user 100:1000 --entrypoint consul -v /opt/consul/config.next:/consul/config:ro hashicorp/consul:1.20.1 validate /consul/config',
    );
    assert.equal(
      shown(consul.validateWithImage('consul:1', '/srv/my configs', 'drover-validate-2')),
      `docker run --rm --name drover-validate-2 --network host --entrypoint consul -v '/srv/my configs:/consul/config:ro' consul:1 validate /consul/config`,
    );
  });

  it('removes only created or exited validation containers, by name prefix, and scratch dirs over an hour old', () => {
    const c = consul.removeStaleValidations();
    assert.ok(c.kind === 'exec');
    assert.deepEqual(c.argv.slice(-2), ['drover-validate-', 'drover-validate.']);
    assert.match(
      String(c.argv[2]),
      /find \/tmp -maxdepth 1 -type d -name "\$2\*" -mmin \+60 -exec rm -rf -- \{\} \+/,
    );
    assert.match(String(c.argv[2]), /--filter "name=\^\$1" --filter status=created --filter status=exited/);
  });
});
