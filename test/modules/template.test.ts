import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, TaskFailedError } from '../../src/errors.js';
import { templateModule } from '../../src/modules/template.js';
import { secret } from '../../src/shell/secret.js';
import { changeOn, moduleContext } from './context.js';
import { FakeFiles } from './fake-files.js';

const KEY = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';
const OLD_KEY = 'Zm9vYmFyYmF6cXV4cXV1eHp6enp6enp6enp6enp6enp=';
const DEST = '/opt/consul/config/consul.json';
const TEMPLATE = '{\n  "node_name": "{{node_name}}",\n  "encrypt": "{{gossip_key}}",\n  "server": true\n}\n';

let baseDir: string;
before(async () => {
  baseDir = await mkdtemp(join(tmpdir(), 'drover-template-'));
  await mkdir(join(baseDir, 'templates'));
  await mkdir(join(baseDir, 'schemas'));
  await writeFile(join(baseDir, 'templates', 'server.json.hbs'), TEMPLATE);
  await writeFile(
    join(baseDir, 'templates', 'broken.json.hbs'),
    '{"a": 1,\n "encrypt": "{{gossip_key}}",}\n',
  );
  await writeFile(join(baseDir, 'templates', 'unquoted.json.hbs'), '{"encrypt": {{gossip_key}} }\n');
  await writeFile(join(baseDir, 'templates', 'quote-in-secret.json.hbs'), '{"token": "{{token}}"}\n');
  await writeFile(join(baseDir, 'templates', 'typo.json.hbs'), '{"node": "{{nodename}}"}\n');
  await writeFile(
    join(baseDir, 'schemas', 'agent.schema.json'),
    JSON.stringify({
      type: 'object',
      additionalProperties: false,
      required: ['node_name', 'encrypt'],
      properties: {
        node_name: { type: 'string' },
        encrypt: { type: 'string' },
        server: { type: 'boolean' },
        ports: { type: 'object', properties: { http: { type: 'integer' } } },
      },
    }),
  );
  await writeFile(
    join(baseDir, 'templates', 'bad-port.json.hbs'),
    '{"node_name": "s1", "encrypt": "{{gossip_key}}", "ports": {"http": "8500"}}',
  );
});
after(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

const vars = () => ({ node_name: 's1', gossip_key: secret(KEY) });
const rendered = TEMPLATE.replace('{{node_name}}', 's1').replace('{{gossip_key}}', KEY);
const args = { src: 'templates/server.json.hbs', dest: DEST, mode: '0640', owner: 'consul' };

describe('template module', () => {
  it('creates a missing file atomically in one command, shows a redacted diff, and is idempotent', async () => {
    const ctx = moduleContext({ vars: vars(), baseDir });
    const files = new FakeFiles(ctx.transport).serve(DEST, { mode: '0640', owner: 'consul' });

    const change = await changeOn(templateModule, args, ctx);
    assert.equal(change.changed, true);
    assert.equal(change.summary, `create ${DEST} (mode 0640, owner consul)`);
    assert.deepEqual(change.diff, [{ path: DEST, before: null, after: rendered.replace(KEY, '<redacted>') }]);
    const checksum = createHash('sha256').update(rendered).digest('hex');
    assert.deepEqual(change.data, { path: DEST, changed: true, checksum });
    assert.equal(change.steps, undefined, 'written while planning');

    assert.equal(ctx.transport.calls.length, 1, 'one command compares and writes');
    const write = ctx.transport.calls[0]!;
    assert.match(
      write.command,
      /^sh -c .*sha256sum.*set -C.* sh \/opt\/consul\/config\/consul\.json 640 consul '' [0-9a-f]{64} [0-9a-f]{12} 137$/s,
    );
    assert.equal(write.stdin, rendered, 'the clear text goes only to the host, on stdin');
    assert.ok(!write.command.includes(KEY), 'never in argv');
    assert.equal(files.files.get(DEST)?.content, rendered);

    const again = await changeOn(templateModule, args, ctx);
    assert.equal(again.changed, false);
    assert.equal(again.steps, undefined);
    assert.deepEqual(again.data, { path: DEST, changed: false, checksum });
  });

  it('in check mode plans from a read and writes nothing', async () => {
    const ctx = moduleContext({ vars: vars(), baseDir, check: true });
    new FakeFiles(ctx.transport).serve(DEST, { mode: '0640', owner: 'consul' });
    const change = await changeOn(templateModule, args, ctx);
    assert.equal(change.changed, true);
    assert.deepEqual(ctx.transport.commands.length, 1);
    assert.match(ctx.transport.commands[0]!, /cat -- "\$1"/);
  });

  it('never shows an old secret that is no longer in any variable', async () => {
    const ctx = moduleContext({ vars: vars(), baseDir });
    const files = new FakeFiles(ctx.transport).serve(DEST, { mode: '0640', owner: 'consul' });
    files.files.set(DEST, {
      content: `{\n  "node_name": "s1",\n  "encrypt":"${OLD_KEY}",\n  "server": true\n}\n`,
      mode: '640',
      owner: 'consul',
      group: 'consul',
    });
    const change = await changeOn(templateModule, args, ctx);
    assert.equal(change.changed, true);
    assert.match(change.summary, /^update /);
    const shown = JSON.stringify(change);
    assert.ok(!shown.includes(OLD_KEY), 'old key redacted');
    assert.ok(!shown.includes(KEY), 'new key redacted');
    assert.equal(
      change.diff?.[0]?.before,
      '{\n  "node_name": "s1",\n  "encrypt":"<redacted>",\n  "server": true\n}\n',
    );
  });

  it('fixes only the mode when the content is right', async () => {
    const ctx = moduleContext({ vars: vars(), baseDir });
    const files = new FakeFiles(ctx.transport).serve(DEST, { mode: '0640', owner: 'consul' });
    files.files.set(DEST, { content: rendered, mode: '644', owner: 'consul', group: 'consul' });
    const change = await changeOn(templateModule, args, ctx);
    assert.equal(change.summary, `fix mode 644 -> 0640 of ${DEST}`);
    assert.deepEqual(change.diff, []);
    assert.equal(files.files.get(DEST)?.mode, '640');
    assert.equal(files.files.get(DEST)?.content, rendered);
    assert.equal((await changeOn(templateModule, args, ctx)).changed, false);
  });

  it('validates rendered JSON against the schema before touching the host', async () => {
    const ctx = moduleContext({ vars: vars(), baseDir });
    await assert.rejects(
      changeOn(
        templateModule,
        { src: 'templates/bad-port.json.hbs', dest: DEST, validate_schema: 'schemas/agent.schema.json' },
        ctx,
      ),
      (err: unknown) => {
        assert.ok(err instanceof TaskFailedError);
        assert.match(err.message, /template templates\/bad-port\.json\.hbs/);
        assert.match(err.message, /schemas\/agent\.schema\.json/);
        assert.match(err.message, /ports\.http: must be an integer/);
        assert.ok(!err.message.includes(KEY));
        return true;
      },
    );
    assert.deepEqual(ctx.transport.calls, [], 'nothing ran on the host');
  });

  it('passes validation for a good config', async () => {
    const ctx = moduleContext({ vars: vars(), baseDir });
    new FakeFiles(ctx.transport).serve(DEST, {});
    const change = await changeOn(
      templateModule,
      { src: 'templates/server.json.hbs', dest: DEST, validate_schema: 'schemas/agent.schema.json' },
      ctx,
    );
    assert.equal(change.changed, true);
  });

  it('reports invalid JSON with its line, without quoting any part of a secret', async () => {
    const ctx = moduleContext({ vars: { ...vars(), token: secret('ab"cd-1234-5678') }, baseDir });
    const attempt = (src: string) =>
      changeOn(templateModule, { src, dest: DEST, validate_schema: 'schemas/agent.schema.json' }, ctx).then(
        () => assert.fail('should have failed'),
        (err: unknown) => {
          assert.ok(err instanceof TaskFailedError);
          assert.ok(!err.message.includes(KEY.slice(0, 6)), err.message);
          assert.ok(!err.message.includes('ab"cd'), err.message);
          return err.message;
        },
      );
    assert.match(
      await attempt('templates/broken.json.hbs'),
      /broken\.json\.hbs did not render valid JSON: .*\(line 2, column \d+\)/,
    );
    // V8 would quote `..."encrypt": pUqJrV...` here; the message must come from the redacted text.
    assert.match(
      await attempt('templates/unquoted.json.hbs'),
      /unquoted\.json\.hbs did not render valid JSON: .*<redacted>/,
    );
    assert.match(
      await attempt('templates/quote-in-secret.json.hbs'),
      /a secret value breaks the JSON syntax/,
    );
    assert.deepEqual(ctx.transport.calls, []);
  });

  it('names the template and the variable when one is missing', async () => {
    const ctx = moduleContext({ vars: vars(), baseDir });
    await assert.rejects(
      changeOn(templateModule, { src: 'templates/typo.json.hbs', dest: DEST }, ctx),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /templates\/typo\.json\.hbs.*"nodename" is not defined/);
        return true;
      },
    );
    await assert.rejects(
      changeOn(templateModule, { src: 'templates/nope.hbs', dest: DEST }, ctx),
      /templates\/nope\.hbs: template file not found/,
    );
  });
});
