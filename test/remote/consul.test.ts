import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, utimesSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as consul from '../../src/remote/consul.js';
import { exec, render, type Cmd } from '../../src/shell/cmd.js';
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

  it('validates in a scratch dir made afresh, swept when abandoned, and removed whatever happens (run in sh)', () => {
    const run = (cmd: Cmd, stdin = '') => {
      assert.ok(cmd.kind === 'exec');
      const argv = cmd.argv.map(String);
      // No docker here: the sweep's docker calls fail quietly, as best effort may.
      const r = spawnSync(argv[0]!, argv.slice(1), { input: stdin, env: { PATH: '/usr/bin:/bin' } });
      return { code: r.status, err: r.stderr.toString() };
    };
    const name = () => consul.validateDir(`t${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    // The validation sees the staged config, private to it, and its exit code is the step's.
    const dir = name();
    const sees = exec(
      'sh',
      '-c',
      'grep -q "\\"ok\\"" "$0/consul.json" && [ "$(stat -c %a "$0")" = 700 ] && exit 7',
      dir,
    );
    assert.deepEqual(run(consul.validateInScratchDir(sees, dir), '{"ok": 1}'), { code: 7, err: '' });
    assert.equal(existsSync(dir), false, 'removed after the validation');
    // A stage that fails (an owner the host does not know) exits 122 and leaves no dir.
    const bad = name();
    const r = run(consul.validateInScratchDir(exec('true'), bad, { owner: 'no-such-user-here' }), '{}');
    assert.equal(r.code, consul.STAGE_FAILED_CODES.stage);
    assert.equal(existsSync(bad), false);
    // A dir someone else made under the name is refused (121) and left alone.
    const theirs = name();
    mkdirSync(theirs);
    assert.equal(
      run(consul.validateInScratchDir(exec('true'), theirs)).code,
      consul.STAGE_FAILED_CODES.mkdir,
    );
    assert.equal(existsSync(theirs), true);
    rmSync(theirs, { recursive: true });
    // What an abandoned validation left: swept once an hour old, a younger one kept.
    const old = name();
    const young = name();
    mkdirSync(old);
    mkdirSync(young);
    const hoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, hoursAgo, hoursAgo);
    assert.equal(run(consul.validateInScratchDir(exec('true'), name()), '{}').code, 0);
    assert.equal(existsSync(old), false);
    assert.equal(existsSync(young), true);
    rmSync(young, { recursive: true });
  });
});
