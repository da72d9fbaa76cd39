/**
 * `drover members [--prune]` in-process: the report, exit 2 while a ghost is listed, and the
 * prune under the deploy lock with an audit line on the server it ran through.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ExitCode } from '../../../src/errors.js';
import type { RecordingTransport } from '../../../src/ssh/recording-transport.js';
import { CLUSTER, Hosts, scratch } from './harness.js';
import { APPEND_AUDIT, auditLines, freeLock, RELEASE, TAKE } from './lock-host.js';

const files = scratch({ 'cluster.yaml': CLUSTER });
after(files.remove);
const inv = files.path('cluster.yaml');

const member = (name: string, addr: string, status: number, role = 'consul') => ({
  Name: name,
  Addr: addr,
  Port: 8301,
  Status: status,
  Tags: { role },
});
const NODES = [
  member('s1', '10.9.0.1', 1),
  member('s2', '10.9.0.2', 1),
  member('s3', '10.9.0.3', 1),
  member('c1', '10.9.0.4', 1, 'node'),
];
/** A server whose member list has a failed ghost `old` until it is force-left. */
function clusterWithGhost(t: RecordingTransport): void {
  let ghost = true;
  freeLock(t);
  t.onExec(APPEND_AUDIT, { code: 0 });
  t.onExec(/consul force-leave -prune old$/, () => {
    ghost = false;
    return { code: 0 };
  });
  t.onHttp(/\/v1\/agent\/members$/, () => ({
    body: JSON.stringify(ghost ? [...NODES, member('old', '10.9.0.9', 4)] : NODES),
  }));
}

describe('drover members', () => {
  it('lists the ghost and exits 2, with the hint to prune', async () => {
    const r = await new Hosts(clusterWithGhost).drover(['members', '-i', inv]);
    assert.equal(r.code, ExitCode.taskFailed);
    assert.match(r.stdout, /old/);
    assert.match(r.stderr, /\(drover members --prune removes the prunable ghosts\)/);
  });

  it('--prune without --yes and without a terminal is a usage error; nothing is pruned', async () => {
    const hosts = new Hosts(clusterWithGhost);
    const r = await hosts.drover(['members', '-i', inv, '--prune']);
    assert.equal(r.code, ExitCode.usage);
    assert.ok(!hosts.transport('s1').commands.some((c) => c.includes('force-leave')));
  });

  it('--prune --yes: under the lock, and the server it ran through gets an audit line', async () => {
    const hosts = new Hosts(clusterWithGhost);
    const r = await hosts.drover(['members', '-i', inv, '--prune', '--yes', '-o', 'json']);
    assert.equal(r.code, ExitCode.ok, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { ok: boolean }).ok, true);
    assert.match(r.stderr, /^pruned old \(10\.9\.0\.9\) via s1$/m);
    const s1 = hosts.transport('s1');
    const at = (re: RegExp | string) =>
      s1.commands.findIndex((c) => (typeof re === 'string' ? c === re : re.test(c)));
    assert.ok(at(TAKE) >= 0 && at(TAKE) < at(/force-leave/), 'the lock is taken before the prune');
    assert.ok(at(/force-leave/) < at(RELEASE), 'and released after it');
    const [entry, ...more] = auditLines(s1);
    assert.deepEqual(more, []);
    assert.deepEqual(entry?.['changed'], ['force-leave -prune old']);
    assert.equal(entry?.['result'], 'ok');
    assert.equal(entry?.['command'], `drover members -i ${inv} --prune --yes -o json`);
  });
});

describe('drover members on a cluster with ACLs set up elsewhere', () => {
  const TOKEN = '6a1f0c6e-2b8d-4c59-9d3a-51c9b7e2f4a0';
  const secured = scratch({
    'secured.yaml': CLUSTER.replace(
      'vars: { consul_gossip_encryption: false, consul_tls_enable: false }',
      `vars: { consul_gossip_encryption: false, consul_tls_enable: false, consul_acl_management_token: "${TOKEN}" }`,
    ),
    // The same cluster, its token from a secret manager's command.
    'by-command.yaml': CLUSTER.replace(
      'vars: { consul_gossip_encryption: false, consul_tls_enable: false }',
      `vars: { consul_gossip_encryption: false, consul_tls_enable: false, consul_acl_management_token: { command: "echo ${TOKEN}" } }`,
    ),
  });
  after(secured.remove);

  for (const file of ['secured.yaml', 'by-command.yaml']) {
    it(`every API call carries the inventory's token, which no output shows (${file})`, async () => {
      const hosts = new Hosts((t) =>
        t.onHttp(/\/v1\/agent\/members$/, (req) =>
          req.token?.reveal() === TOKEN
            ? { body: JSON.stringify(NODES) }
            : { status: 403, body: 'Permission denied: anonymous token lacks permission' },
        ),
      );
      const r = await hosts.drover(['members', '-i', secured.path(file), '-o', 'json']);
      assert.equal(r.code, ExitCode.ok, r.stderr);
      const calls = hosts.transport('s1').httpCalls;
      assert.ok(calls.length > 0);
      assert.ok(calls.every((c) => c.token?.reveal() === TOKEN));
      assert.ok(!`${r.stdout}${r.stderr}`.includes(TOKEN), 'the token is never printed');
    });
  }
});
