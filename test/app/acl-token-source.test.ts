/**
 * Where the ACL management token comes from (src/app/acl-token-source.ts): the var (a Secret,
 * `{ env: NAME }`, `{ command }`), DROVER_ACL_TOKEN, the 0600 file beside the inventory; and
 * how a bootstrap's token is kept, in temp dirs.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  ACL_TOKEN_ENV,
  aclDir,
  AclTokenSource,
  managementTokenFile,
  prepareAclTokens,
} from '../../src/app/acl-token-source.js';
import { ConfigError, InterruptedError, UsageError } from '../../src/errors.js';
import type { Host, Inventory } from '../../src/inventory/types.js';
import { Secret } from '../../src/shell/secret.js';
import { derivedTokenSecret } from '../../src/consul/api/acl.js';

const TOKEN = '8f14e45f-ceea-467f-a0e6-0b5d8c2a1f30';
const OTHER = '1679091c-5a88-4faf-8fb1-0c9f3e2d4b17';

function inventory(
  file: string,
  s1: Record<string, unknown> = {},
  s2: Record<string, unknown> = s1,
): Inventory {
  const host = (name: string, vars: Record<string, unknown>): Host => ({
    name,
    address: name,
    groups: ['all'],
    vars: { address: name, ...vars },
  });
  return {
    file,
    hosts: new Map([
      ['s1', host('s1', s1)],
      ['s2', host('s2', s2)],
    ]),
    groups: new Map([
      [
        'servers',
        { name: 'servers', vars: {}, children: [], directHosts: ['s1', 's2'], hosts: ['s1', 's2'] },
      ],
    ]),
    warnings: [],
  };
}

const made: string[] = [];
/** A temp dir of this file's, removed when the file's tests end. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
after(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const freshInventoryFile = (): string => join(tempDir('drover-acl-src-'), 'prod.yaml');
const mode = (path: string): number => statSync(path).mode & 0o777;
const NO_ENV = {};
const source = (
  vars: Record<string, unknown> = {},
  env: Record<string, string> = NO_ENV,
  file = freshInventoryFile(),
) => new AclTokenSource(inventory(file, vars), { env, commandTimeoutSeconds: 5 });

/** A ConfigError whose message matches `re` and holds no token text. */
const configError = (re: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ConfigError, String(err));
  assert.match(err.message, re);
  assert.ok(!err.message.includes(TOKEN) && !err.message.includes(OTHER), err.message);
  return true;
};

describe('the ACL management token: where it comes from', () => {
  it('names the file beside the inventory', () => {
    assert.equal(aclDir('inventories/lab.yaml'), 'inventories/lab.acl');
    assert.equal(managementTokenFile('inventories/lab.yaml'), 'inventories/lab.acl/management.token');
  });

  it('takes the var first, then DROVER_ACL_TOKEN, then the file', async () => {
    const file = freshInventoryFile();
    mkdirSync(aclDir(file), { mode: 0o700 });
    writeFileSync(managementTokenFile(file), `${OTHER}\n`, { mode: 0o600 });
    const fromVar = source(
      { consul_acl_management_token: new Secret(TOKEN) },
      { [ACL_TOKEN_ENV]: OTHER },
      file,
    );
    assert.equal(fromVar.origin.kind, 'inventory');
    assert.equal((await fromVar.read())?.reveal(), TOKEN);
    const fromEnv = source({}, { [ACL_TOKEN_ENV]: ` ${TOKEN}\n` }, file);
    assert.deepEqual(
      [fromEnv.origin.kind, fromEnv.origin.where],
      ['env', 'environment variable DROVER_ACL_TOKEN'],
    );
    assert.equal((await fromEnv.read())?.reveal(), TOKEN);
    // CI passes an unset secret as an empty string: that is no token, so the file is next.
    const fromFile = source({}, { [ACL_TOKEN_ENV]: '' }, file);
    assert.equal(fromFile.origin.kind, 'file');
    assert.equal((await fromFile.read())?.reveal(), OTHER);
    assert.equal(inspect(await fromFile.read()), '<redacted>');
  });

  it('reads { env: NAME } as given in the var, and refuses it unset', async () => {
    const file = freshInventoryFile();
    const ok = source({ consul_acl_management_token: { env: 'MY_TOKEN' } }, { MY_TOKEN: TOKEN }, file);
    assert.equal(ok.origin.where, `environment variable MY_TOKEN (${file}: consul_acl_management_token)`);
    assert.equal((await ok.read())?.reveal(), TOKEN);
    await assert.rejects(
      source({ consul_acl_management_token: { env: 'MY_TOKEN' } }).read(),
      configError(/MY_TOKEN .*is not set or empty/),
    );
  });

  it('refuses a value that is no token, a var that differs between hosts, and a var of another shape', async () => {
    await assert.rejects(
      source({ consul_acl_management_token: new Secret('two words') }).read(),
      configError(/consul_acl_management_token: is not a Consul ACL token \(one word, no spaces\)/),
    );
    const file = freshInventoryFile();
    assert.throws(
      () =>
        new AclTokenSource(
          inventory(
            file,
            { consul_acl_management_token: new Secret(TOKEN) },
            { consul_acl_management_token: new Secret(OTHER) },
          ),
          { env: NO_ENV },
        ),
      configError(/differs between hosts; one management token serves the whole cluster/),
    );
    assert.throws(
      () => source({ consul_acl_management_token: { file: '/x' } }),
      configError(/must be the token, \{ env: NAME \} or \{ command: "\.\.\." \}/),
    );
  });
});

/** `gone`, or the process's state letter (`Z` for a zombie) once it is no longer running, polled for 2 s. */
async function waitForExit(pid: number): Promise<string> {
  let state = '';
  for (let i = 0; i < 20; i++) {
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /, '')
        .slice(0, 1);
    } catch {
      return 'gone';
    }
    if (state === 'Z' || state === 'X') return state;
    await new Promise((r) => setTimeout(r, 100));
  }
  return state;
}

/** Waits (bounded, 5 s) until `file` has content: a command wrote its pid. */
async function waitForFile(file: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (existsSync(file) && readFileSync(file, 'utf8').trim() !== '') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${file} was never written`);
}

describe('the ACL management token from a command', () => {
  const fromCommand = (command: string, timeout = 5) =>
    new AclTokenSource(inventory(freshInventoryFile(), { consul_acl_management_token: { command } }), {
      env: NO_ENV,
      commandTimeoutSeconds: timeout,
    });

  it('takes the first line of its output, once', async () => {
    const dir = tempDir('drover-acl-cmd-');
    const count = join(dir, 'runs');
    const s = fromCommand(`echo run >> ${count}; printf '%s\\n%s\\n' ${TOKEN} trailing-noise`);
    assert.equal(s.origin.kind, 'command');
    assert.ok(!s.origin.where.includes('printf'), 'the command itself is never shown');
    assert.equal((await s.read())?.reveal(), TOKEN);
    assert.equal((await s.read())?.reveal(), TOKEN);
    assert.equal(readFileSync(count, 'utf8'), 'run\n');
  });

  it('on failure shows the exit and the first line of stderr only, cut short and scrubbed', async () => {
    const s = fromCommand(
      `echo ${TOKEN}; echo "vault: permission denied for ${TOKEN} $(printf 'x%.0s' $(seq 300))" >&2; echo "second line" >&2; exit 3`,
    );
    await assert.rejects(s.read(), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        /\(its command\): exited with 3: vault: permission denied for <redacted> x+$/,
      );
      assert.ok(!err.message.includes('second line'));
      assert.ok(err.message.length < 400, err.message);
      return true;
    });
    await assert.rejects(fromCommand('true').read(), configError(/printed no token/));
    await assert.rejects(fromCommand("echo 'not a token'").read(), configError(/is not a Consul ACL token/));
    // Consul still takes a non-UUID initial management token (deprecated): so does drover.
    assert.equal((await fromCommand('echo legacy-master-token').read())?.reveal(), 'legacy-master-token');
  });

  it('is bounded in time, and what it started is killed with it', async () => {
    const dir = tempDir('drover-acl-cmd-');
    const pidFile = join(dir, 'pid');
    const started = Date.now();
    await assert.rejects(
      fromCommand(`sleep 30 & echo $! > ${pidFile}; wait`, 0.5).read(),
      configError(/did not finish within 0\.5s/),
    );
    assert.ok(Date.now() - started < 5000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Gone, or a zombie until whoever inherited it reaps it: killed either way.
    const state = await waitForExit(pid);
    assert.ok(state === 'gone' || state === 'Z', `the sleep the command started is ${state}`);
  });

  it('is stopped by Ctrl-C (the abort signal), with what it started', async () => {
    const dir = tempDir('drover-acl-cmd-');
    const pidFile = join(dir, 'pid');
    const ctrlC = new AbortController();
    const s = new AclTokenSource(
      inventory(freshInventoryFile(), {
        consul_acl_management_token: { command: `sleep 30 & echo $! > ${pidFile}; wait` },
      }),
      { env: NO_ENV, commandTimeoutSeconds: 20, signal: ctrlC.signal },
    );
    const started = Date.now();
    const reading = s.read();
    await waitForFile(pidFile);
    ctrlC.abort();
    await assert.rejects(reading, (err: unknown) => err instanceof InterruptedError);
    assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
    const state = await waitForExit(Number(readFileSync(pidFile, 'utf8')));
    assert.ok(state === 'gone' || state === 'Z', `the sleep the command started is ${state}`);
  });

  it('is bounded even when something it started leaves its group and holds the output open', async () => {
    const dir = tempDir('drover-acl-cmd-');
    const pidFile = join(dir, 'pid');
    const started = Date.now();
    try {
      await assert.rejects(
        fromCommand(`setsid sleep 30 & echo $! > ${pidFile}; wait`, 0.5).read(),
        configError(/did not finish within 0\.5s/),
      );
      assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    } finally {
      // That one escaped the group on purpose: this test ends it, by its pid.
      const pid = Number(readFileSync(pidFile, 'utf8'));
      if (pid > 0) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('the ACL management token file', () => {
  it('is absent at first; keep writes it 0600 in a 0700 folder, atomically, and reads it back', async () => {
    const s = source();
    assert.equal(await s.read(), undefined);
    assert.equal(await s.keep(new Secret(TOKEN)), 'written');
    assert.equal(readFileSync(s.file, 'utf8'), `${TOKEN}\n`);
    assert.equal(mode(s.file), 0o600);
    assert.equal(mode(join(s.file, '..')), 0o700);
    assert.deepEqual(readdirSync(join(s.file, '..')), ['management.token'], 'no temp file is left');
    assert.equal((await s.read())?.reveal(), TOKEN);
    assert.equal(await s.keep(new Secret(TOKEN)), 'unchanged');
  });

  it('never replaces a different token, not even when two runs keep theirs at once', async () => {
    const file = freshInventoryFile();
    const a = source({}, NO_ENV, file);
    const b = source({}, NO_ENV, file);
    const outcomes = await Promise.allSettled([a.keep(new Secret(TOKEN)), b.keep(new Secret(OTHER))]);
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected');
    assert.ok(refused?.status === 'rejected' && refused.reason instanceof UsageError, String(refused));
    assert.match(
      String(refused.reason.message),
      /holds another ACL management token; drover never replaces it/,
    );
    const kept = readFileSync(a.file, 'utf8').trim();
    assert.ok(kept === TOKEN || kept === OTHER);
    await assert.rejects(
      source({}, NO_ENV, file).keep(new Secret(kept === TOKEN ? OTHER : TOKEN)),
      UsageError,
    );
    assert.deepEqual(readdirSync(join(a.file, '..')), ['management.token']);
  });

  it('refuses a file others may read, with the chmod to run', async () => {
    const file = freshInventoryFile();
    mkdirSync(aclDir(file), { mode: 0o700 });
    const tokenFile = managementTokenFile(file);
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    chmodSync(tokenFile, 0o640);
    await assert.rejects(
      source({}, NO_ENV, file).read(),
      configError(
        new RegExp(
          `group or others have access to the ACL management token \\(mode 640\\): run chmod 600 ${tokenFile}$`,
        ),
      ),
    );
    chmodSync(tokenFile, 0o600);
    assert.equal((await source({}, NO_ENV, file).read())?.reveal(), TOKEN);
    writeFileSync(tokenFile, 'gar bage\n');
    await assert.rejects(source({}, NO_ENV, file).read(), configError(/is not a Consul ACL token/));
  });

  it('keeps nothing on disk when the token comes from elsewhere: the same is fine, another refused', async () => {
    const s = source({}, { [ACL_TOKEN_ENV]: TOKEN });
    assert.equal(await s.keep(new Secret(TOKEN)), 'unchanged');
    await assert.rejects(s.keep(new Secret(OTHER)), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(
        err.message,
        /comes from environment variable DROVER_ACL_TOKEN, which holds another token/,
      );
      assert.ok(!err.message.includes(OTHER) && !err.message.includes(TOKEN));
      return true;
    });
    assert.equal(existsSync(s.file), false);
    await assert.rejects(source().keep(new Secret('nope')), configError(/not a Consul ACL token/));
  });
});

describe('ACLs drover sets up: the management token made once, the agents’ tokens derived from it', () => {
  const env = {};

  it('makes a management token when there is none, and writes it only when told to keep it', async () => {
    const dir = tempDir('drover-acl-prepare-');
    const file = join(dir, 'inv.yaml');
    const inv = inventory(file, { consul_acl_enable: true });
    const prepared = await prepareAclTokens(inv, { env, makeIfMissing: true });
    const token = prepared.inventory.hosts.get('s1')?.vars['drover_acl_token'];
    assert.ok(token instanceof Secret);
    assert.match(token.reveal(), /^[0-9a-f-]{36}$/);
    assert.equal(existsSync(managementTokenFile(file)), false, 'nothing written before keepNew');
    assert.match(prepared.note ?? '', /deploy will make one and write it to .*management\.token/);
    assert.ok(prepared.keepNew);
    assert.match(await prepared.keepNew(), /wrote a new ACL management token/);
    assert.equal(readFileSync(managementTokenFile(file), 'utf8'), `${token.reveal()}\n`);
    assert.equal(statSync(managementTokenFile(file)).mode & 0o777, 0o600);
    // The next run reads it, derives the same tokens, and has nothing new to keep.
    const again = await prepareAclTokens(inv, { env, makeIfMissing: true });
    assert.equal(again.keepNew, undefined);
    const v1 = prepared.inventory.hosts.get('s1')?.vars ?? {};
    const v2 = again.inventory.hosts.get('s1')?.vars ?? {};
    for (const k of [
      'drover_acl_token',
      'drover_acl_agent_token',
      'drover_acl_services_token',
      'drover_acl_dns_token',
    ])
      assert.equal((v2[k] as Secret).reveal(), (v1[k] as Secret).reveal(), k);
  });

  it('gives every host its own agent and services tokens and all of them one DNS token, none equal to the management token', async () => {
    const dir = tempDir('drover-acl-derive-');
    const inv = inventory(join(dir, 'inv.yaml'), {
      consul_acl_enable: true,
      consul_acl_management_token: TOKEN,
    });
    const { inventory: out } = await prepareAclTokens(inv, { env });
    const vars = (h: string) => out.hosts.get(h)?.vars ?? {};
    const secret = (h: string, k: string) => (vars(h)[k] as Secret).reveal();
    assert.notEqual(secret('s1', 'drover_acl_agent_token'), secret('s2', 'drover_acl_agent_token'));
    assert.notEqual(secret('s1', 'drover_acl_services_token'), secret('s2', 'drover_acl_services_token'));
    assert.notEqual(secret('s1', 'drover_acl_services_token'), secret('s1', 'drover_acl_agent_token'));
    assert.equal(secret('s1', 'drover_acl_dns_token'), secret('s2', 'drover_acl_dns_token'));
    assert.notEqual(secret('s1', 'drover_acl_agent_token'), TOKEN);
    assert.equal(inspect(vars('s1')).includes(secret('s1', 'drover_acl_agent_token')), false);
    // Without consul_acl_enable a given token is only carried, and no agent token is derived.
    const plain = await prepareAclTokens(
      inventory(join(dir, 'p.yaml'), { consul_acl_management_token: TOKEN }),
      { env },
    );
    assert.equal(plain.inventory.hosts.get('s1')?.vars['drover_acl_agent_token'], undefined);
    // A command that only reads never makes a token.
    const none = await prepareAclTokens(inventory(join(dir, 'n.yaml'), { consul_acl_enable: true }), { env });
    assert.equal(none.inventory.hosts.get('s1')?.vars['drover_acl_token'], undefined);
  });

  it("with consul_acl_tokens false, keeps the token for the set-up only: drover's calls carry none", async () => {
    const dir = tempDir('drover-acl-tokenless-');
    const inv = inventory(join(dir, 'inv.yaml'), {
      consul_acl_enable: true,
      consul_acl_default_policy: 'allow',
      consul_acl_tokens: false,
      consul_acl_management_token: TOKEN,
    });
    const vars = (await prepareAclTokens(inv, { env })).inventory.hosts.get('s1')?.vars ?? {};
    assert.equal(vars['drover_acl_token'], undefined);
    assert.equal((vars['drover_acl_management_token'] as Secret).reveal(), TOKEN);
    // Agents without tokens under deny could not even register themselves: refused up front.
    const deny = inventory(join(dir, 'deny.yaml'), {
      consul_acl_enable: true,
      consul_acl_tokens: false,
      consul_acl_management_token: TOKEN,
    });
    await assert.rejects(prepareAclTokens(deny, { env }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /s1: consul_acl_tokens.*needs consul_acl_default_policy: allow/);
      return true;
    });
  });

  it('refuses a service name that is still a template: its services token could not name it', async () => {
    const dir = tempDir('drover-acl-svc-');
    const templated = inventory(join(dir, 'inv.yaml'), {
      consul_acl_enable: true,
      consul_acl_management_token: TOKEN,
      consul_services: [{ name: 'web' }, { name: '{{app_name}}' }],
    });
    await assert.rejects(prepareAclTokens(templated, { env }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /inv\.yaml: s1: consul_services\[1\]\.name: is a template/);
      return true;
    });
    // Without ACLs drover sets up, the name is rendered later as before.
    const plain = inventory(join(dir, 'plain.yaml'), { consul_services: [{ name: '{{app_name}}' }] });
    await prepareAclTokens(plain, { env });
  });

  it('with several datacenters, wants the primary named, the same everywhere, before anything is made', async () => {
    const dir = tempDir('drover-acl-dcs-');
    const file = join(dir, 'inv.yaml');
    const refused = async (inv: Inventory, message: RegExp): Promise<void> => {
      await assert.rejects(prepareAclTokens(inv, { env, makeIfMissing: true }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, message);
        return true;
      });
      assert.equal(existsSync(aclDir(file)), false);
    };
    const east = { consul_acl_enable: true, consul_datacenter: 'east' };
    const west = { consul_acl_enable: true, consul_datacenter: 'west' };
    await refused(
      inventory(file, east, west),
      /consul_acl_datacenter: is not set, and ACLs are on in several datacenters \(east, west\)/,
    );
    await refused(
      inventory(file, { ...east, consul_acl_datacenter: 'east' }, west),
      /consul_acl_datacenter: differs between hosts \("east", ""\)/,
    );
  });

  it('gives the servers outside the primary datacenter the replication token, derived from the management token', async () => {
    const dir = tempDir('drover-acl-replication-');
    const both = {
      consul_acl_enable: true,
      consul_acl_datacenter: 'east',
      consul_acl_management_token: TOKEN,
    };
    const inv = inventory(
      join(dir, 'inv.yaml'),
      { ...both, consul_datacenter: 'east' },
      { ...both, consul_datacenter: 'west' },
    );
    const hosts = (await prepareAclTokens(inv, { env })).inventory.hosts;
    assert.equal(hosts.get('s1')?.vars['drover_acl_replication_token'], undefined);
    const replication = hosts.get('s2')?.vars['drover_acl_replication_token'] as Secret;
    assert.equal(replication.reveal(), derivedTokenSecret(new Secret(TOKEN), 'replication').reveal());
    assert.notEqual(replication.reveal(), TOKEN);
  });

  it('with the primary in another inventory, needs its management token: no bootstrap can happen here', async () => {
    const dir = tempDir('drover-acl-elsewhere-');
    const file = join(dir, 'inv.yaml');
    const west = { consul_acl_enable: true, consul_datacenter: 'west', consul_acl_datacenter: 'east' };
    await assert.rejects(
      prepareAclTokens(inventory(file, west), { env, makeIfMissing: true }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          /the ACL system lives in east \(consul_acl_datacenter\), which this inventory does not describe/,
        );
        return true;
      },
    );
    assert.equal(existsSync(aclDir(file)), false);
    const given = await prepareAclTokens(inventory(file, { ...west, consul_acl_management_token: TOKEN }), {
      env,
    });
    assert.ok(given.inventory.hosts.get('s1')?.vars['drover_acl_replication_token'] instanceof Secret);
  });
});
