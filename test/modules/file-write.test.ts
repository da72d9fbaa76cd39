import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FileState } from '../../src/facts/file-state.js';
import { copyModule } from '../../src/modules/copy.js';
import {
  convergingFile,
  describeFileWrite,
  fileWriteSteps,
  sha256,
  type DesiredFile,
} from '../../src/modules/file-write.js';
import { templateModule } from '../../src/modules/template.js';
import { readFile, setAttributes, writeFileAtomic, writeFileIfChanged } from '../../src/remote/fs.js';
import { WriteRefusedError } from '../../src/runner/step-executor.js';
import { render, type Cmd } from '../../src/shell/cmd.js';
import { secret } from '../../src/shell/secret.js';
import { moduleContext, perform } from './context.js';
import { FakeFiles } from './fake-files.js';
import { asked, planContext, shown } from './fixture.js';

const DEST = '/opt/consul/config/consul.json';
const KEY = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';

const want: DesiredFile = {
  dest: DEST,
  content: '{"encrypt": "secret-key"}\n',
  shown: '{"encrypt": "<redacted>"}\n',
  mode: '0640',
  owner: 'consul',
};
const attrs = { mode: '640', uid: '100', owner: 'consul', gid: '100', group: 'consul' };
const present = (content: string, more: Partial<typeof attrs> = {}): FileState => ({
  exists: true,
  content,
  ...attrs,
  ...more,
});

/** The one-step write names a random temp file: equal up to that name. */
const sameWrite = (cmd: Cmd): string =>
  render(cmd, { redact: true }).replace(/ [0-9a-f]{12} (\S+)$/, ' TMP $1');

describe('the one-file write, as facts and a plan', () => {
  it('asks for the file in check mode, and otherwise writes it if the bytes differ, in one step', () => {
    const fact = asked(convergingFile(want));
    assert.deepEqual(fact?.read, { effect: 'read', sends: render(readFile(DEST), { redact: true }) });
    assert.equal(fact?.write?.effect, 'write');
    assert.equal(fact?.write?.stdin, want.content, 'the clear bytes go on stdin, never in argv');
    assert.equal(
      fact?.write?.sends.replace(/ [0-9a-f]{12} (\S+)$/, ' TMP $1'),
      sameWrite(writeFileIfChanged(DEST, sha256(want.content), want)),
    );
  });

  it('a missing file is created, with a redacted diff', () => {
    assert.deepEqual(describeFileWrite(want, { exists: false }, planContext()), {
      changed: true,
      summary: `create ${DEST} (mode 0640, owner consul)`,
      diff: [{ path: DEST, before: null, after: want.shown }],
      data: { path: DEST, changed: true, checksum: sha256(want.content) },
    });
  });

  it('other content is an update whose diff redacts the old secret too', () => {
    const change = describeFileWrite(
      { ...want, extraSecrets: ['old-key'] },
      present('{"encrypt": "old-key"}\n'),
      planContext(),
    );
    assert.equal(change.summary, `update ${DEST} (mode 0640, owner consul)`);
    assert.deepEqual(change.diff, [{ path: DEST, before: '{"encrypt": "<redacted>"}\n', after: want.shown }]);
  });

  it('right content with a wrong mode is a fix of the mode alone, without a diff', () => {
    const change = describeFileWrite(want, present(want.content, { mode: '644' }), planContext());
    assert.equal(change.summary, `fix mode 644 -> 0640 of ${DEST}`);
    assert.deepEqual(change.diff, []);
  });

  it('the same file is up to date', () => {
    assert.deepEqual(describeFileWrite(want, present(want.content), planContext()), {
      changed: false,
      summary: `${DEST} is up to date`,
      data: { path: DEST, changed: false, checksum: sha256(want.content) },
    });
  });
});

describe('the two-step write (several files planned before any is written)', () => {
  it('rewrites atomically when the content differs, on stdin', () => {
    assert.deepEqual(fileWriteSteps(want, { exists: false }).map(shown), [
      { effect: 'write', sends: render(writeFileAtomic(DEST, want), { redact: true }), stdin: want.content },
    ]);
  });

  it('only fixes the attributes when the content is right, and does nothing when all is', () => {
    const fix = setAttributes(DEST, want);
    assert.ok(fix);
    assert.deepEqual(fileWriteSteps(want, present(want.content, { mode: '644' })).map(shown), [
      { effect: 'write', sends: render(fix, { redact: true }) },
    ]);
  });
});

let baseDir: string;
before(async () => {
  baseDir = await mkdtemp(join(tmpdir(), 'drover-file-write-'));
  await mkdir(join(baseDir, 'templates'));
  await writeFile(
    join(baseDir, 'templates', 'agent.json.hbs'),
    '{"node": "{{node_name}}", "encrypt": "{{key}}"}\n',
  );
});
after(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

describe('template and copy: what is wanted, then the same plan in check mode and out of it', () => {
  const vars = { node_name: 's1', key: secret(KEY) };

  it('template renders the bytes with secrets in clear and the shown text redacted', async () => {
    const wanted = await templateModule.desired!(
      { src: 'templates/agent.json.hbs', dest: DEST, mode: '0640' },
      planContext({ vars, baseDir }),
    );
    assert.deepEqual(wanted, {
      dest: DEST,
      content: `{"node": "s1", "encrypt": "${KEY}"}\n`,
      shown: '{"node": "s1", "encrypt": "<redacted>"}\n',
      mode: '0640',
    });
  });

  it('copy of a secret is written in clear, shown redacted, and its text is a secret of the diff', async () => {
    const wanted = await copyModule.desired!({ content: secret('tok-123\n'), dest: '/opt/t' }, planContext());
    assert.deepEqual(wanted, {
      dest: '/opt/t',
      content: 'tok-123\n',
      shown: '<redacted>',
      extraSecrets: ['tok-123\n'],
    });
  });

  it('drover plan shows what deploy does: the same facts give the same summary and diff in both modes', async () => {
    const wanted = await templateModule.desired!(
      { src: 'templates/agent.json.hbs', dest: DEST },
      planContext({ vars, baseDir }),
    );
    for (const have of [{ exists: false } as const, present('{}\n'), present(wanted.content)]) {
      const inCheck = templateModule.plan(wanted, { file: have }, planContext({ vars, check: true }));
      const applied = templateModule.plan(wanted, { file: have }, planContext({ vars }));
      assert.deepEqual(inCheck, applied);
      assert.equal(inCheck.steps, undefined, 'the converging write made it; nothing is left to run');
    }
  });

  it('in check mode the converging write is never run: the executor refuses it before sending it', async () => {
    const ctx = moduleContext({ vars, baseDir, check: true });
    const files = new FakeFiles(ctx.transport).serve(DEST, {});
    const wanted = await templateModule.desired!(
      { src: 'templates/agent.json.hbs', dest: DEST },
      planContext({ vars, baseDir }),
    );
    const request = templateModule.facts(wanted, planContext()).file;
    assert.ok(typeof request === 'object' && request.kind === 'converging');
    await assert.rejects(ctx.steps.run(request.write), WriteRefusedError);
    assert.deepEqual(ctx.transport.calls, []);

    const { outcome, pendingWrite } = await perform(
      templateModule,
      { src: 'templates/agent.json.hbs', dest: DEST },
      ctx,
    );
    assert.equal(outcome.summary, `create ${DEST}`);
    assert.equal(pendingWrite, true);
    assert.deepEqual(ctx.transport.commands, [render(readFile(DEST), { redact: true })]);
    assert.equal(files.files.has(DEST), false);
  });
});
