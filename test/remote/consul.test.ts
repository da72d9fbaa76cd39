import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as consul from '../../src/remote/consul.js';
import { exec, render, type Cmd } from '../../src/shell/cmd.js';
import { REDACTED, secret } from '../../src/shell/secret.js';
import { sessionCommand, ShellSession } from '../../src/ssh/shell-session.js';

/** A builder's command as people see it; a call without a token has no stdin to show. */
const shown = (c: Cmd | consul.ConsulCall) => render('kind' in c ? c : c.cmd, { redact: true });

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

  it('carries no stdin without a token, so the commands above are all there is', () => {
    const calls = [
      consul.info(),
      consul.members(),
      consul.raftListPeers(),
      consul.leave(),
      consul.forceLeave('s3', { prune: true }),
      consul.reload({ httpsPort: 8501 }),
      consul.validate('/consul/config'),
      consul.cli(['kv', 'get', 'x']),
    ];
    for (const call of calls) assert.equal(call.stdin, undefined, shown(call));
    assert.deepEqual(consul.callOptions(consul.reload(), { timeoutSeconds: 5 }), { timeoutSeconds: 5 });
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

const TOKEN = '3f9c2a71-5d4e-4b8a-9c1f-0e6d7b2a8c45';

/** The wrapper as the builders write it: people see it in logs, plans and errors. */
const WRAPPER = `sh -c 'IFS= read -r CONSUL_HTTP_TOKEN || { echo "drover: no ACL token line on stdin" >&2; exit 125; }; export CONSUL_HTTP_TOKEN; exec "$@"' sh`;

describe('consul command builders with an ACL token', () => {
  it('feed the token on stdin, never in argv: not even the clear (wire) rendering holds it', () => {
    const call = consul.forceLeave('old', { prune: true }, { container: 'consul-s', token: secret(TOKEN) });
    assert.equal(shown(call), `docker exec -i consul-s ${WRAPPER} consul force-leave -prune old`);
    assert.ok(!render(call.cmd, { redact: false }).includes(TOKEN));
    assert.equal(call.stdin?.reveal(), `${TOKEN}\n`);
    // The stdin is a Secret: any rendering of the call shows none of it.
    assert.equal(String(call.stdin), REDACTED);
    assert.ok(!JSON.stringify(call).includes(TOKEN));
    assert.deepEqual(consul.callOptions(call, { timeoutSeconds: 30 }), {
      timeoutSeconds: 30,
      stdin: call.stdin,
    });
  });

  it('keep the HTTPS settings in docker exec -e beside the token on stdin', () => {
    const call = consul.reload({ httpsPort: 8501, token: secret(TOKEN) });
    assert.equal(
      shown(call),
      `docker exec -i -e CONSUL_CACERT=${consul.CONTAINER_CA_FILE} -e CONSUL_HTTP_ADDR=https://127.0.0.1:8501 consul ${WRAPPER} consul reload`,
    );
  });
});

describe('the token wrapper, run for real in a local sh (a fake docker that runs what it would exec)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-cli-token-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const DOCKER_ARGV = join(dir, 'docker-argv');
  const script = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  };
  // `docker exec [-i] [-e K=V]... NAME CMD...` minus the container: CMD runs here, env and stdin as given.
  script(
    'docker',
    [
      '#!/bin/sh',
      'printf "%s\\n" "$@" > "$DOCKER_ARGV"',
      'shift',
      'while :; do case $1 in -i) shift ;; -e) export "$2"; shift 2 ;; *) break ;; esac; done',
      'shift',
      'exec "$@"',
      '',
    ].join('\n'),
  );
  // The CLI: what it got in argv and env, and which processes here show the token in their argv
  // while it runs (only builtins between reading /proc and matching, so none of them is counted).
  script(
    'consul',
    [
      '#!/bin/sh',
      'echo "argv: $*"',
      'echo "token: $CONSUL_HTTP_TOKEN"',
      'for f in /proc/[0-9]*/cmdline; do',
      '  line=$(tr "\\000" " " < "$f" 2>/dev/null) || continue',
      '  case $line in *"$CONSUL_HTTP_TOKEN"*) echo "in argv: $f $line" ;; esac',
      'done',
      '',
    ].join('\n'),
  );
  const env = { PATH: `${dir}:/usr/bin:/bin`, DOCKER_ARGV };
  const call = consul.forceLeave('old', { prune: true }, { token: secret(TOKEN) });

  const check = (r: { status: number | null; stdout: unknown; stderr: unknown }) => {
    assert.equal(r.status, 0, String(r.stderr));
    assert.equal(String(r.stdout), `argv: force-leave -prune old\ntoken: ${TOKEN}\n`);
    assert.ok(!readFileSync(DOCKER_ARGV, 'utf8').includes(TOKEN), "the token is not in docker's argv");
  };

  it('on a channel (the stdin piped to the command)', () => {
    check(spawnSync('sh', ['-c', render(call.cmd, { redact: false })], { input: call.stdin?.reveal(), env }));
  });

  it('in the shell session (the stdin a here-document of the text the session reads)', async () => {
    // The session as sshd starts it: `sh` reading drover's lines from its stdin, never argv.
    const child = spawn('sh', ['-c', sessionCommand()], { stdio: 'pipe', env });
    const session = new ShellSession({
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      close: () => child.kill('SIGKILL'),
    });
    try {
      const r = await session.run(call.cmd, call.stdin?.reveal(), 10000);
      check({ status: r.code, stdout: r.stdout, stderr: r.stderr });
    } finally {
      session.close();
    }
  });

  it('refuses to run the CLI without a token line (a caller that forgot callOptions)', () => {
    const r = spawnSync('sh', ['-c', render(call.cmd, { redact: false })], { input: '', env });
    assert.equal(r.status, consul.TOKEN_LINE_MISSING_CODE);
    assert.equal(String(r.stdout), '', 'the CLI did not run');
    assert.match(String(r.stderr), /no ACL token line on stdin/);
  });
});
