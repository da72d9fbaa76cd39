/**
 * `drover completion bash`: the script sourced in a real bash, asked as bash asks on Tab
 * (COMP_WORDS, COMP_CWORD, then the function), drover answering through `__complete`; and the
 * answers themselves for what bash cannot show here (zsh and fish are not on this machine: their
 * scripts are checked to ask the same command).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Hosts } from './argv/harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'drover-completion-'));
const inventory = join(dir, 'prod.yaml');
writeFileSync(
  inventory,
  'all:\n  children:\n    servers:\n      hosts:\n        s1: { address: 10.9.0.1 }\n        s2: { address: 10.9.0.2 }\n    clients:\n      hosts:\n        c1: { address: 10.9.0.4 }\n',
);
writeFileSync(join(dir, 'other.yaml'), 'all: {}\n');
// `drover` on bash's PATH: this checkout's source, as `npx drover` would run it.
const bin = join(dir, 'bin');
execFileSync('mkdir', ['-p', bin]);
writeFileSync(
  join(bin, 'drover'),
  `#!/bin/sh\nexec "${process.execPath}" --import ${import.meta.resolve('tsx')} "${join(ROOT, 'src', 'cli', 'main.ts')}" "$@"\n`,
);
chmodSync(join(bin, 'drover'), 0o755);

async function script(shell: string): Promise<string> {
  const r = await new Hosts().drover(['completion', shell]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** What bash offers after `drover LINE<Tab>` (LINE ending in a space completes a new word). */
async function tab(line: string): Promise<string[]> {
  const words = ['drover', ...line.split(' ')];
  const file = join(dir, 'drover.bash');
  writeFileSync(file, await script('bash'));
  const program = [
    `source ${JSON.stringify(file)}`,
    `COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    '_drover',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const out = execFileSync('bash', ['-c', program], {
    cwd: dir,
    env: { PATH: `${bin}:${process.env['PATH']}`, HOME: dir },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return out.split('\n').filter((l) => l !== '');
}

describe('drover completion', () => {
  it('bash: commands, subcommands and options', async () => {
    assert.deepEqual(await tab('ro'), ['rollback', 'rotate-gossip-key', 'rotate-tls']);
    assert.deepEqual(await tab('snapshot '), ['save', 'restore', 'inspect']);
    assert.deepEqual(await tab('deploy --li'), ['--limit', '--list-tasks', '--list-hosts']);
  });

  it('bash: inventory files after -i, host and group names from it after --limit and for reset-node', async () => {
    assert.deepEqual(
      (await tab('deploy -i ')).sort(),
      ['bin', 'drover.bash', 'other.yaml', 'prod.yaml'].sort(),
    );
    assert.deepEqual(await tab('deploy -i prod.yaml --limit s'), ['s1', 's2', 'servers']);
    assert.deepEqual(await tab('restart -i prod.yaml --limit servers:!s'), [
      'servers:!s1',
      'servers:!s2',
      'servers:!servers',
    ]);
    assert.deepEqual(await tab('reset-node -i prod.yaml '), ['s1', 's2', 'c1']);
    assert.deepEqual(
      await tab('reset-node -i missing.yaml '),
      [],
      'an inventory that does not load completes nothing',
    );
  });

  it('zsh and fish ask the same command, and an unknown shell is a usage error', async () => {
    for (const shell of ['zsh', 'fish']) assert.match(await script(shell), /drover __complete -- /);
    assert.equal((await new Hosts().drover(['completion', 'tcsh'])).code, 64);
  });
});
