import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listFiles, readFile, removeFiles } from '../../src/remote/fs.js';
import { TaskFailedError } from '../../src/errors.js';
import { consulServicesModule, type ConsulServicesArgs } from '../../src/modules/consul-services.js';
import { render } from '../../src/shell/cmd.js';
import { changeOn, moduleContext } from './context.js';
import { FakeFiles } from './fake-files.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = '/opt/consul/config';
const shown = (c: Parameters<typeof render>[0]) => render(c, { redact: true });

const WEB = {
  name: 'web',
  port: 8080,
  tags: ['v1'],
  meta: { team: 'edge' },
  checks: [{ http: 'http://127.0.0.1:8080/health', interval: '10s', timeout: '2s' }],
};
const API = { name: 'api', port: 9090, checks: [{ tcp: '127.0.0.1:9090', interval: '5s' }] };

/** A recorded host whose config dir holds `files`, with listing and removal answered from them. */
function host(options: { check?: boolean } = {}) {
  const ctx = moduleContext({
    baseDir: ROOT,
    diff: true,
    ...(options.check !== undefined && { check: options.check }),
  });
  const files = new FakeFiles(ctx.transport);
  for (const name of ['web', 'api', 'job', 'web-2'])
    files.serve(`${DIR}/drover-service-${name}.json`, { mode: '0644' });
  ctx.transport.onExec(shown(listFiles(DIR, 'drover-service-', '.json')), () => ({
    stdout: [...files.files.keys()]
      .filter((p) => p.startsWith(`${DIR}/drover-service-`) && p.endsWith('.json'))
      .map((p) => `${p.slice(DIR.length + 1)}\n`)
      .join(''),
  }));
  ctx.transport.onExec(/^rm -f -- /, (command) => {
    for (const p of command.split(' ').slice(3)) files.files.delete(p);
    return {};
  });
  return { ctx, files };
}

async function run(h: ReturnType<typeof host>, args: Partial<ConsulServicesArgs>) {
  return changeOn(consulServicesModule, { dir: DIR, services: [], ...args }, h.ctx);
}

describe('consul_services', () => {
  it('writes one validated definition per service, named drover-service-ID.json', async () => {
    const h = host();
    const change = await run(h, { services: [WEB, API] });
    assert.equal(change.changed, true);
    assert.equal(
      change.summary,
      `create ${DIR}/drover-service-web.json (mode 0644); create ${DIR}/drover-service-api.json (mode 0644)`,
    );
    const web = JSON.parse(h.files.files.get(`${DIR}/drover-service-web.json`)!.content) as unknown;
    assert.deepEqual(web, {
      service: {
        name: 'web',
        port: 8080,
        tags: ['v1'],
        meta: { team: 'edge' },
        checks: [{ http: 'http://127.0.0.1:8080/health', interval: '10s', timeout: '2s' }],
      },
    });
    const api = JSON.parse(h.files.files.get(`${DIR}/drover-service-api.json`)!.content) as unknown;
    assert.deepEqual(api, {
      service: {
        name: 'api',
        port: 9090,
        tags: [],
        meta: {},
        checks: [{ tcp: '127.0.0.1:9090', interval: '5s' }],
      },
    });
    assert.deepEqual(change.data?.['written'], ['drover-service-web.json', 'drover-service-api.json']);
  });

  it('is idempotent: the same services again change nothing', async () => {
    const h = host();
    await run(h, { services: [WEB, API] });
    const before = h.ctx.transport.commands.length;
    const again = await run(h, { services: [WEB, API] });
    assert.equal(again.changed, false);
    assert.equal(again.summary, '2 services up to date');
    assert.deepEqual(
      h.ctx.transport.commands.slice(before),
      [
        shown(readFile(`${DIR}/drover-service-web.json`)),
        shown(readFile(`${DIR}/drover-service-api.json`)),
        shown(listFiles(DIR, 'drover-service-', '.json')),
      ],
      'two reads and the listing, no write',
    );
  });

  it('removes definitions it wrote that are no longer listed, and only those', async () => {
    const h = host();
    await run(h, { services: [WEB, API] });
    h.files.files.set(`${DIR}/consul.json`, { content: '{}', mode: '640', owner: 'root', group: 'root' });
    h.files.files.set(`${DIR}/my-own-service.json`, {
      content: '{}',
      mode: '644',
      owner: 'root',
      group: 'root',
    });
    const change = await run(h, { services: [WEB] });
    assert.equal(change.changed, true);
    assert.equal(change.summary, `remove ${DIR}/drover-service-api.json`);
    assert.deepEqual(change.data?.['removed'], ['drover-service-api.json']);
    assert.ok(h.ctx.transport.commands.includes(shown(removeFiles(`${DIR}/drover-service-api.json`))));
    assert.deepEqual([...h.files.files.keys()].filter((p) => !p.endsWith('.bak')).sort(), [
      `${DIR}/consul.json`,
      `${DIR}/drover-service-web.json`,
      `${DIR}/my-own-service.json`,
    ]);
    const diff = change.diff?.find((d) => d.path.endsWith('api.json'));
    assert.equal(diff?.after, '');
    assert.match(diff?.before ?? '', /"name": "api"/);
  });

  it('an empty list removes every drover-written definition', async () => {
    const h = host();
    await run(h, { services: [WEB, API] });
    const change = await run(h, { services: [] });
    assert.deepEqual(change.data?.['removed'], ['drover-service-api.json', 'drover-service-web.json']);
  });

  it('check mode plans without writing or removing', async () => {
    const h = host();
    await run(h, { services: [WEB, API] });
    const checkHost = { ctx: { ...h.ctx, check: true }, files: h.files };
    const before = [...h.files.files.keys()].sort();
    const change = await run(checkHost, { services: [{ ...WEB, port: 8081 }] });
    assert.equal(change.changed, true);
    assert.match(
      change.summary,
      /^update .*drover-service-web\.json \(mode 0644\); remove .*drover-service-api\.json$/,
    );
    assert.deepEqual([...h.files.files.keys()].sort(), before);
    assert.match(change.diff?.[0]?.after ?? '', /"port": 8081/);
  });

  it('refuses script checks unless allowed, and checks without a kind or interval', async () => {
    const h = host();
    const script = { name: 'job', checks: [{ args: ['/bin/true'], interval: '10s' }] };
    await assert.rejects(run(h, { services: [script] }), (e: Error) => {
      assert.ok(e instanceof TaskFailedError);
      assert.match(e.message, /service "job" check 1: script checks \(args\) are off by default/);
      return true;
    });
    const allowed = await run(host(), { services: [script], allow_script_checks: true });
    assert.equal(allowed.changed, true);
    await assert.rejects(
      run(h, { services: [{ name: 'x', checks: [{ interval: '10s' }] }] }),
      /needs exactly one of http, tcp, ttl \(found none\)/,
    );
    await assert.rejects(
      run(h, { services: [{ name: 'x', checks: [{ tcp: 'a:1' }] }] }),
      /a tcp check needs an interval/,
    );
    await assert.rejects(
      run(h, { services: [{ name: 'x', checks: [{ ttl: '30s', interval: '1s' }] }] }),
      /a ttl check has no interval/,
    );
  });

  it('the schema catches bad values before anything is written, naming the service and key', async () => {
    const h = host();
    await assert.rejects(
      run(h, {
        services: [
          { name: 'web', meta: { 'consul-x': 'y' }, checks: [{ http: 'not a url', interval: '10s' }] },
        ],
      }),
      (e: Error) => {
        assert.ok(e instanceof TaskFailedError);
        assert.match(
          e.message,
          /service "web" rendered a definition that schemas\/consul-service\.schema\.json rejects/,
        );
        assert.match(e.message, /\.service\.meta/);
        assert.match(e.message, /\.service\.checks\[0\]\.http/);
        return true;
      },
    );
    assert.equal(h.ctx.transport.calls.filter((c) => c.stdin !== undefined).length, 0, 'nothing written');
  });

  it('two services with one ID are an error', async () => {
    await assert.rejects(
      run(host(), { services: [WEB, { name: 'web', port: 1 }] }),
      /services "web" and "web" have the same ID/,
    );
    const ok = await run(host(), { services: [WEB, { name: 'web', id: 'web-2', port: 1 }] });
    assert.deepEqual(ok.data?.['files'], ['drover-service-web.json', 'drover-service-web-2.json']);
  });
});
