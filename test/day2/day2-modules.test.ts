import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateGossipKey } from '../../src/consul/agent/gossip-key.js';
import { GateError, TaskFailedError } from '../../src/errors.js';
import { consulConfigCheckModule } from '../../src/modules/consul-config-check.js';
import { consulKeyringModule } from '../../src/modules/consul-keyring.js';
import { consulMemberModule } from '../../src/modules/consul-member.js';
import { Secret } from '../../src/shell/secret.js';
import { moduleContext, perform } from '../modules/context.js';

const dir = mkdtempSync(join(tmpdir(), 'drover-cfg-'));
writeFileSync(
  join(dir, 'agent.json.hbs'),
  '{"datacenter": {{json dc}}, "log_level": {{json level}}, "encrypt": {{json key}} }',
);
const current = (o: Record<string, unknown>) => ({
  stdout: `present 640 0 root 0 root\n${JSON.stringify(o)}`,
});

describe('consul_config_check', () => {
  const key = new Secret(generateGossipKey());
  const vars = (dc: string, level: string) => ({ dc, level, key });

  it('classifies a log_level change as reload-safe and validates it in the image first', async () => {
    const ctx = moduleContext({ vars: vars('dc1', 'debug'), baseDir: dir });
    ctx.transport
      .onExec(/^sh -c 'if \[ -f/, current({ datacenter: 'dc1', log_level: 'info', encrypt: key.reveal() }))
      .onExec(
        /^sh -c 'cprefix=\$1 .*' sh drover-validate- drover-validate\. \/tmp\/drover-validate\.[0-9a-f]{12} 100 1000 docker run --rm --name drover-validate-[0-9a-f]{12} --network host --user 100:1000 --entrypoint consul -v \/tmp\/drover-validate\.[0-9a-f]{12}:\/consul\/config:ro img:1 validate \/consul\/config$/s,
        {},
      );
    const c = await perform(
      consulConfigCheckModule,
      {
        src: 'agent.json.hbs',
        dest: '/opt/c/consul.json',
        validate_image: 'img:1',
        owner: '100',
        group: '1000',
      },
      ctx,
    );
    assert.equal(c.data['class'], 'reload');
    assert.equal(c.data['reload'], true);
    assert.equal(c.data['restart'], false);
    assert.equal(c.data['validated'], true);
    assert.equal(c.outcome.changed, false, 'validating changes nothing');
    assert.match(c.outcome.summary, /consul validate passed in img:1$/);
    const commands = ctx.transport.commands;
    assert.equal(commands.length, 2, 'the config read, then one validation step');
    // One dir, named afresh for this run, in every part of the step.
    const dirs = new Set(commands.join('\n').match(/\/tmp\/drover-validate\.[0-9a-f]+/g));
    assert.equal(dirs.size, 1);
    // Staged from stdin, so consul validate (run as the agent's user) reads what the agent would.
    assert.ok(ctx.transport.calls[1]?.stdin?.includes('"debug"'));
    assert.ok(!commands.join('\n').includes(key.reveal()), 'the key never appears in a command');
  });

  it('refuses a dangerous change unless forced; check mode validates nothing', async () => {
    const ctx = moduleContext({ vars: vars('dc2', 'info'), baseDir: dir, check: true });
    ctx.transport.onExec(
      /^sh -c 'if \[ -f/,
      current({ datacenter: 'dc1', log_level: 'info', encrypt: key.reveal() }),
    );
    await assert.rejects(
      perform(
        consulConfigCheckModule,
        { src: 'agent.json.hbs', dest: '/opt/c/consul.json', validate_image: 'img:1' },
        ctx,
      ),
      (err: Error) =>
        err instanceof GateError && /datacenter: the agent would join another datacenter/.test(err.message),
    );
    const forced = await perform(
      consulConfigCheckModule,
      { src: 'agent.json.hbs', dest: '/opt/c/consul.json', force: true, validate_image: 'img:1' },
      ctx,
    );
    assert.equal(forced.data['class'], 'dangerous');
    assert.equal(forced.data['validated'], false);
    assert.doesNotMatch(forced.outcome.summary, /validate passed/);
    assert.equal(ctx.transport.commands.length, 2, 'only the config was read, twice');
  });

  it('fails, redacted, when consul validate rejects the new config; a failed stage says so', async () => {
    const ctx = moduleContext({ vars: vars('dc1', 'loud'), baseDir: dir });
    let code = 1;
    ctx.transport
      .onExec(/^sh -c 'if \[ -f/, current({ datacenter: 'dc1', log_level: 'info', encrypt: key.reveal() }))
      .onExec(/^sh -c 'cprefix=/, () => ({
        code,
        stderr: code === 1 ? `Invalid log level: loud (encrypt ${key.reveal()})` : 'chown: invalid user',
      }));
    const check = () =>
      perform(
        consulConfigCheckModule,
        { src: 'agent.json.hbs', dest: '/opt/c/consul.json', validate_image: 'img:1' },
        ctx,
      );
    await assert.rejects(
      check(),
      (err: Error) =>
        err instanceof TaskFailedError &&
        /fails `consul validate` in img:1/.test(err.message) &&
        /Invalid log level/.test(err.message) &&
        !err.message.includes(key.reveal()),
    );
    code = 122;
    await assert.rejects(
      check(),
      (err: Error) =>
        err instanceof TaskFailedError &&
        /cannot stage the config for consul validate: chown: invalid user/.test(err.message),
    );
  });
});

describe('consul_keyring', () => {
  const oldKey = new Secret(generateGossipKey());
  const newKey = new Secret(generateGossipKey());
  const pools = (keys: Record<string, number>, primary: Record<string, number>, n = 3) =>
    JSON.stringify([{ WAN: false, Datacenter: 'dc1', Keys: keys, PrimaryKeys: primary, NumNodes: n }]);

  it('installs a key not yet everywhere, through the HTTP body, and skips when done', async () => {
    const ctx = moduleContext();
    let installed = false;
    ctx.transport.onHttp(/^GET 127\.0\.0\.1:8500\/v1\/operator\/keyring$/, () => ({
      status: 200,
      body: pools(
        { [oldKey.reveal()]: 3, ...(installed ? { [newKey.reveal()]: 3 } : {}) },
        { [oldKey.reveal()]: 3 },
      ),
    }));
    ctx.transport.onHttp(/^POST 127\.0\.0\.1:8500\/v1\/operator\/keyring$/, (req) => {
      assert.deepEqual(JSON.parse(req.body ?? ''), { Key: newKey.reveal() });
      installed = true;
      return { status: 200, body: '' };
    });
    const c = await perform(consulKeyringModule, { op: 'install', key: newKey, expect_members: 3 }, ctx);
    assert.equal(c.outcome.changed, true);
    // Registered: the standing after the change, read again.
    assert.equal(c.data['installed_everywhere'], true);
    assert.deepEqual(
      ctx.transport.httpCalls.map((x) => x.method),
      ['GET', 'POST', 'GET'],
    );
    const again = await perform(consulKeyringModule, { op: 'install', key: newKey }, ctx);
    assert.equal(again.outcome.changed, false);
    assert.ok(!JSON.stringify({ s: c.outcome.summary, d: c.data }).includes(newKey.reveal()));
  });

  it('plans the change in check mode without sending it', async () => {
    const ctx = moduleContext({ check: true });
    ctx.transport.onHttp(/^GET/, {
      status: 200,
      body: pools({ [oldKey.reveal()]: 3 }, { [oldKey.reveal()]: 3 }),
    });
    const c = await perform(consulKeyringModule, { op: 'install', key: newKey }, ctx);
    assert.equal(c.outcome.changed, true);
    assert.equal(c.pendingWrite, true);
    assert.deepEqual(
      ctx.transport.httpCalls.map((x) => x.method),
      ['GET'],
    );
  });

  it('refuses when fewer members answer than the inventory has', async () => {
    const ctx = moduleContext();
    ctx.transport.onHttp(/^GET/, {
      status: 200,
      body: pools({ [oldKey.reveal()]: 2 }, { [oldKey.reveal()]: 2 }, 2),
    });
    await assert.rejects(
      perform(consulKeyringModule, { op: 'install', key: newKey, expect_members: 3 }, ctx),
      /only 2 of 3/,
    );
  });
});

describe('consul_member', () => {
  // A 1-server, 1-client cluster; the task runs on the client c1 (its own agent just started).
  const vars = {
    inventory_hostname: 'c1',
    groups: { all: ['s1', 'c1'], servers: ['s1'], clients: ['c1'] },
    hostvars: { s1: { bind_addr: '10.213.0.11' }, c1: { bind_addr: '10.213.0.12' } },
  };
  const member = (status: number) =>
    JSON.stringify([
      { Name: 's1', Addr: '10.213.0.11', Port: 8301, Tags: { role: 'consul', port: '8300' }, Status: 1 },
      ...(status
        ? [{ Name: 'c1', Addr: '10.213.0.12', Port: 8301, Tags: { role: 'node' }, Status: status }]
        : []),
    ]);

  it('alive: waits, a conversation of reads, until a server lists the node alive', async () => {
    const ctx = moduleContext({ vars });
    const answers = [0, 0, 1];
    ctx.transport.onHttp(/GET 10\.213\.0\.11:8500\/v1\/agent\/members/, () => ({
      status: 200,
      body: member(answers.shift() ?? 1),
    }));
    const change = await consulMemberModule.run({ state: 'alive', timeout: 10 }, ctx);
    assert.equal(change.changed, false);
    assert.equal(consulMemberModule.kind, 'conversation');
    assert.equal(change.summary, 'c1 is alive at 10.213.0.12');
    assert.deepEqual(answers, []);
  });

  it('alive: fails when the node does not come back in time (e.g. a wrong gossip key)', async () => {
    const ctx = moduleContext({ vars });
    ctx.transport.onHttp(/GET 10\.213\.0\.11:8500\/v1\/agent\/members/, { status: 200, body: member(0) });
    await assert.rejects(consulMemberModule.run({ state: 'alive', timeout: 0.5 }, ctx), (err: unknown) => {
      assert.ok(err instanceof TaskFailedError);
      assert.match(err.message, /c1 not alive at 10\.213\.0\.12 within 0\.5s \(last: missing at -\)/);
      return true;
    });
  });

  it('alive: in check mode only says what it would wait for', async () => {
    const ctx = moduleContext({ vars, check: true });
    const change = await consulMemberModule.run({ state: 'alive' }, ctx);
    assert.match(change.summary, /^would wait until c1 is alive/);
    assert.deepEqual(ctx.transport.calls, []);
  });
});
