import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ACL_MANAGEMENT_VAR_OF_SESSION, ACL_TOKEN_VAR_OF_SESSION } from '../../src/consul/api/endpoint.js';
import { keepSnapshot } from '../../src/consul/snapshot/store.js';
import { GateError } from '../../src/errors.js';
import { consulSnapshotModule } from '../../src/modules/consul-snapshot.js';
import { consulSnapshotRestoreModule } from '../../src/modules/consul-snapshot-restore.js';
import { secret } from '../../src/shell/secret.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';
import { archive } from '../consul/snapshot-fixture.js';
import { moduleContext } from './context.js';

const MANAGEMENT = '0b7e5c1a-6d2f-4e8a-9c3b-1f5a7d9e2c40';
const OPERATOR = '3c9a1e5f-7b2d-4f6a-8e0c-2d4f6a8c0e12';

/** s1..s3 servers of datacenter lab at 127.0.1.11-13; the task runs on s1; the inventory in a temp dir. */
function vars(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-snapmod-'));
  return {
    inventory_hostname: 's1',
    inventory_file: join(dir, 'prod.yaml'),
    groups: { all: ['s1', 's2', 's3'], servers: ['s1', 's2', 's3'], clients: [] },
    hostvars: Object.fromEntries(
      ['s1', 's2', 's3'].map((h, i) => [h, { bind_addr: `127.0.1.${11 + i}`, consul_datacenter: 'lab' }]),
    ),
    ...extra,
  };
}

/** The WAN pool as a server sees it: three alive servers of lab with these builds. */
const wan = (builds: string[]) =>
  JSON.stringify(
    builds.map((b, i) => ({
      Name: `s${i + 1}.lab`,
      Addr: `127.0.1.${11 + i}`,
      Port: 8302,
      Tags: { role: 'consul', dc: 'lab', build: `${b}:0a1b2c3d` },
      Status: 1,
    })),
  );

function agent(o: { builds?: string[]; snapshot?: { status: number; bytes?: Buffer; body?: string } }) {
  const t = new RecordingTransport('s1');
  t.onHttp(/GET .*\/v1\/agent\/members\?wan=1$/, {
    status: 200,
    body: wan(o.builds ?? ['1.20.1', '1.20.1', '1.20.1']),
  });
  const snap = o.snapshot ?? { status: 200, bytes: archive() };
  t.onHttp(/GET .*\/v1\/snapshot$/, {
    status: snap.status,
    headers: snap.status === 200 ? { 'x-consul-index': '42', 'content-type': 'application/x-gzip' } : {},
    ...(snap.bytes ? { bytes: snap.bytes } : { body: snap.body ?? '' }),
  });
  return t;
}

describe('consul_snapshot module', () => {
  it('keeps a checked snapshot of the datacenter beside the inventory, taken with the management token', async () => {
    const t = agent({});
    const v = vars({
      [ACL_TOKEN_VAR_OF_SESSION]: secret(OPERATOR),
      [ACL_MANAGEMENT_VAR_OF_SESSION]: secret(MANAGEMENT),
    });
    const out = await consulSnapshotModule.run({}, moduleContext({ transport: t, vars: v }));
    const dir = join(String(v['inventory_file']).replace(/prod\.yaml$/, ''), 'prod.snapshots');
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 2, files.join(' '));
    assert.match(files[0]!, /^consul-lab-1\.20\.1-42-\d{8}T\d{6}Z\.snap$/);
    assert.equal(out.changed, true);
    assert.equal(out.summary, `snapshot of lab at index 42 (Consul 1.20.1) saved to ${join(dir, files[0]!)}`);
    const get = t.httpCalls.find((c) => c.path === '/v1/snapshot');
    assert.equal(get?.host, '127.0.0.1');
    assert.equal(get?.token?.reveal(), MANAGEMENT, 'snapshots need acl:write');
  });

  it('names it after the newest server, and fails, keeping nothing, when the leader gives none', async () => {
    const mixed = await consulSnapshotModule.run(
      {},
      moduleContext({ transport: agent({ builds: ['1.20.1', '1.20.2', '1.20.1'] }), vars: vars() }),
    );
    assert.match(mixed.summary, /\(Consul 1\.20\.2\)/);
    const v = vars();
    await assert.rejects(
      consulSnapshotModule.run(
        {},
        moduleContext({
          transport: agent({ snapshot: { status: 500, body: 'No cluster leader' } }),
          vars: v,
        }),
      ),
      /GET \/v1\/snapshot.*HTTP 500: No cluster leader/,
    );
    assert.throws(
      () => readdirSync(String(v['inventory_file']).replace(/prod\.yaml$/, 'prod.snapshots')),
      /ENOENT/,
    );
    await assert.rejects(
      consulSnapshotModule.run(
        {},
        moduleContext({
          transport: agent({ snapshot: { status: 200, body: '<html>gateway</html>' } }),
          vars: vars(),
        }),
      ),
      /failed to decompress snapshot/,
    );
  });

  it('only says where it would go in check mode', async () => {
    const t = agent({});
    const out = await consulSnapshotModule.run(
      { dir: '/var/backups/consul' },
      moduleContext({ transport: t, vars: vars(), check: true }),
    );
    assert.equal(out.summary, 'would save a snapshot of lab to /var/backups/consul');
    assert.equal(t.httpCalls.length, 0);
  });
});

describe('consul_snapshot_restore module', () => {
  async function kept(version: string, datacenter = 'lab'): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'drover-snaprest-'));
    return (await keepSnapshot(dir, { datacenter, version, index: 42, takenAt: new Date() }, archive())).file;
  }

  function cluster(o: { builds?: string[] } = {}) {
    const t = agent({ builds: o.builds ?? ['1.20.2', '1.20.2', '1.20.2'] });
    let restored = false;
    t.onHttp(/PUT .*\/v1\/snapshot$/, () => {
      restored = true;
      return { status: 200, body: '' };
    });
    let reads = 0;
    t.onHttp(/GET .*\/v1\/operator\/autopilot\/health$/, () => {
      reads++;
      // The followers install the leader's new snapshot a moment after the PUT answers.
      const index = restored && reads > 2 ? 57 : 40;
      return {
        status: 200,
        body: JSON.stringify({
          Healthy: true,
          FailureTolerance: 1,
          Servers: [1, 2, 3].map((n) => ({
            ID: `id${n}`,
            Name: `s${n}`,
            Address: `127.0.1.${10 + n}:8300`,
            SerfStatus: 'alive',
            Version: '1.20.2',
            Leader: n === 1,
            LastContact: '0s',
            LastTerm: 3,
            LastIndex: n === 1 ? 57 : index,
            Healthy: true,
            Voter: true,
            StableSince: '2026-12-08T01:00:00Z',
          })),
        }),
      };
    });
    return t;
  }

  it('sends the snapshot to the leader and waits until every server has passed its index', async () => {
    const t = cluster();
    const file = await kept('1.20.1');
    const out = await consulSnapshotRestoreModule.run(
      { file },
      moduleContext({ transport: t, vars: vars() }),
    );
    assert.equal(out.summary, `restored ${file} (index 42) into lab; its 3 servers hold it`);
    const put = t.httpCalls.find((c) => c.method === 'PUT');
    assert.equal(put?.path, '/v1/snapshot');
    assert.ok(put?.bytes && put.bytes.length > 0, 'the archive goes as bytes');
    assert.ok(t.httpCalls.filter((c) => c.path.startsWith('/v1/operator/autopilot/health')).length >= 3);
  });

  it('refuses, sending nothing, a snapshot taken by a newer Consul than a server runs, or of another datacenter', async () => {
    const older = cluster({ builds: ['1.20.2', '1.20.1', '1.20.2'] });
    await assert.rejects(
      consulSnapshotRestoreModule.run(
        { file: await kept('1.20.2') },
        moduleContext({ transport: older, vars: vars() }),
      ),
      (err: unknown) =>
        err instanceof GateError &&
        /was taken with Consul 1\.20\.2, and a server of lab runs 1\.20\.1/.test(err.message),
    );
    assert.equal(older.httpCalls.filter((c) => c.method === 'PUT').length, 0);
    const other = cluster();
    await assert.rejects(
      consulSnapshotRestoreModule.run(
        { file: await kept('1.20.1', 'east') },
        moduleContext({ transport: other, vars: vars() }),
      ),
      /is a snapshot of east, which this inventory does not have \(lab\); --datacenter DC --force/,
    );
    await assert.rejects(
      consulSnapshotRestoreModule.run(
        { file: await kept('1.20.1', 'east'), datacenter: 'lab' },
        moduleContext({ transport: other, vars: vars() }),
      ),
      /is a snapshot of east, not lab; --force restores it all the same/,
    );
    assert.equal(other.httpCalls.filter((c) => c.method === 'PUT').length, 0);
    const forced = await consulSnapshotRestoreModule.run(
      { file: await kept('1.20.3'), force: true },
      moduleContext({ transport: cluster(), vars: vars() }),
    );
    assert.match(forced.summary, /^restored /);
  });
});
