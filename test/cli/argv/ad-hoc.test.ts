/**
 * `drover exec` and `drover logs` in-process against recorded hosts: what each prints, its exit
 * code, and the merge of several hosts' logs by docker's stamps (whose fractions docker trims).
 * test/e2e/exec-logs.test.ts runs both against real hosts and containers.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { parseDockerLine } from '../../../src/app/container-logs.js';
import { ExitCode } from '../../../src/errors.js';
import { CLUSTER, Hosts, scratch } from './harness.js';

const KEY = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';
const files = scratch({
  'cluster.yaml': CLUSTER.replace(
    'consul_gossip_encryption: false',
    `consul_encrypt: ${JSON.stringify(KEY)}`,
  ),
});
after(files.remove);
const inv = files.path('cluster.yaml');

describe('drover exec', () => {
  it('prints each host’s lines with its host, then a recap of exit codes; 2 when one fails', async () => {
    const hosts = new Hosts((t) =>
      t.onExec(
        /^hostname$/,
        t.host === 's2' ? { code: 1, stderr: 'no name\n' } : { stdout: `${t.host}\nsecond ${KEY}\n` },
      ),
    );
    const r = await hosts.drover(['exec', '-i', inv, 'servers', '--', 'hostname']);
    assert.equal(r.code, ExitCode.taskFailed);
    assert.match(r.stdout, /^s1 \| s1\ns1 \| second <redacted>$/m);
    assert.match(r.stderr, /^s2 \| no name$/m);
    assert.ok(!r.stdout.includes(KEY), 'a secret of the inventory is scrubbed from what hosts print');
    assert.match(r.stdout, /^EXEC RECAP\ns1 {2}exit 0\ns2 {2}exit 1\ns3 {2}exit 0$/m);
    assert.equal(hosts.transports.has('c1'), false, 'only the pattern’s hosts are asked');
  });

  it('scrubs the gossip key kept beside the inventory, and any private key a host prints', async () => {
    const dir = scratch({ 'beside.yaml': CLUSTER.replace('consul_gossip_encryption: false, ', '') });
    try {
      writeFileSync(dir.path('beside.gossip.key'), `${KEY}\n`, { mode: 0o600 });
      const pem = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB0x\n-----END EC PRIVATE KEY-----';
      const hosts = new Hosts((t) => t.onExec(/^cat /, { stdout: `{"encrypt": "${KEY}"}\n${pem}\n` }));
      const r = await hosts.drover(['exec', '-i', dir.path('beside.yaml'), 's1', '--', 'cat', 'x']);
      assert.equal(r.code, ExitCode.ok, r.stderr);
      assert.ok(!r.stdout.includes(KEY) && !r.stdout.includes('MHcCAQEEIB0x'), r.stdout);
      assert.match(r.stdout, /^s1 \| \{"encrypt": "<redacted>"\}$/m);
      assert.match(r.stdout, /^s1 \| -----BEGIN EC PRIVATE KEY----- <redacted>$/m);
    } finally {
      dir.remove();
    }
  });

  it('an unreachable host is exit 4; -o json holds every host; no command is a usage error', async () => {
    const hosts = new Hosts((t) => t.onExec('true', {}), ['s3']);
    const r = await hosts.drover(['exec', '-i', inv, 'servers', '-o', 'json', '--', 'true']);
    assert.equal(r.code, ExitCode.unreachable);
    const json = JSON.parse(r.stdout) as {
      hosts: Record<string, { rc?: number; unreachable?: boolean }>;
      exit: number;
    };
    assert.deepEqual(json.hosts['s1'], { rc: 0, stdout: '', stderr: '' });
    assert.equal(json.hosts['s3']?.unreachable, true);
    assert.equal(json.exit, ExitCode.unreachable);
    assert.equal(
      (await new Hosts().drover(['exec', '-i', inv, 'nothing-like-this', '--', 'true'])).code,
      ExitCode.usage,
    );
  });

  it('--container runs in the agent container; consul ... the way drover runs the consul CLI', async () => {
    const hosts = new Hosts((t) => t.onExec(/^docker exec consul /, { stdout: 'ok\n' }));
    const r = await hosts.drover(['exec', '-i', inv, 's1', '--container', '--', 'consul', 'members']);
    assert.equal(r.code, ExitCode.ok, r.stderr);
    assert.deepEqual(hosts.transports.get('s1')?.commands, ['docker exec consul consul members']);
  });
});

describe('drover logs', () => {
  it('merges the hosts’ lines by docker’s stamps, fractions of any length', async () => {
    const logs: Record<string, string> = {
      s1: '2026-12-08T01:00:00.5Z [INFO] s1 first\n2026-12-08T01:00:02Z [INFO] s1 third\n',
      s2: '2026-12-08T01:00:00.123456789Z [INFO] s2 zeroth\n2026-12-08T01:00:01.000000001Z [WARN] s2 second\n',
    };
    const hosts = new Hosts((t) =>
      t.onExec(/^docker logs --timestamps --tail=20 consul$/, { stdout: logs[t.host] ?? '' }),
    );
    const r = await hosts.drover(['logs', '-i', inv, 's1:s2', '-n', '20']);
    assert.equal(r.code, ExitCode.ok, r.stderr);
    assert.equal(
      r.stdout,
      [
        's2 | [INFO] s2 zeroth',
        's1 | [INFO] s1 first',
        's2 | [WARN] s2 second',
        's1 | [INFO] s1 third',
        '',
      ].join('\n'),
    );
    const warn = await hosts.drover(['logs', '-i', inv, 's1:s2', '-n', '20', '--grep', 'WARN']);
    assert.equal(warn.stdout, 's2 | [WARN] s2 second\n');
  });

  it('a host whose log cannot be read is named, and makes the exit 2; bad flags are usage errors', async () => {
    const hosts = new Hosts((t) =>
      t.onExec(
        /^docker logs /,
        t.host === 's1'
          ? { stdout: '2026-12-08T01:00:00Z hi\n' }
          : { code: 1, stderr: 'Error: No such container: consul\n' },
      ),
    );
    const r = await hosts.drover(['logs', '-i', inv, 's1:s2']);
    assert.equal(r.code, ExitCode.taskFailed);
    assert.equal(r.stdout, 's1 | hi\n');
    assert.match(r.stderr, /^warning: s2: Error: No such container: consul$/m);
    assert.equal((await new Hosts().drover(['logs', '-i', inv, '--grep', '('])).code, ExitCode.usage);
    assert.equal((await new Hosts().drover(['logs', '-i', inv, '--since', 'soon'])).code, ExitCode.usage);
  });

  it('reads docker’s stamp, padded to nanoseconds so that text order is time order', () => {
    assert.deepEqual(parseDockerLine('h', '2026-12-08T01:00:00.5Z x y'), {
      host: 'h',
      at: '2026-12-08T01:00:00.500000000Z',
      text: 'x y',
    });
    assert.deepEqual(parseDockerLine('h', 'no stamp'), { host: 'h', at: '', text: 'no stamp' });
    assert.equal(parseDockerLine('h', ''), undefined);
  });
});
