import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACL_TOKEN_VAR_OF_SESSION } from '../../src/consul/api/endpoint.js';
import { CommandFailedError, TaskFailedError } from '../../src/errors.js';
import { consulCliModule, consulCliOptions } from '../../src/modules/consul-cli.js';
import { CONTAINER_CA_FILE } from '../../src/remote/consul.js';
import { secret } from '../../src/shell/secret.js';
import { moduleContext, perform, planOn } from './context.js';

const TOKEN = '2c7e9a41-8f3b-4d6e-a1c0-5b9d8e7f6a34';
const WRAPPER = `sh -c 'IFS= read -r CONSUL_HTTP_TOKEN || { echo "drover: no ACL token line on stdin" >&2; exit 125; }; export CONSUL_HTTP_TOKEN; exec "$@"' sh`;

describe('consul_cli module', () => {
  it('runs the subcommand in the agent container named by the vars, with no token when there is none', async () => {
    const ctx = moduleContext({ vars: { consul_container_name: 'consul-s1' } });
    ctx.transport.onExec('docker exec consul-s1 consul reload', {
      stdout: 'Configuration reload triggered\n',
    });
    const change = await planOn(consulCliModule, { argv: ['reload'] }, ctx);
    assert.equal(change.summary, 'run consul reload in consul-s1');
    assert.equal(change.changed, true);
    const { data } = await perform(consulCliModule, { argv: ['reload'] }, ctx);
    assert.deepEqual(data, {
      cmd: 'docker exec consul-s1 consul reload',
      rc: 0,
      stdout: 'Configuration reload triggered',
      stderr: '',
    });
    assert.equal(ctx.transport.calls[0]?.stdin, undefined);
  });

  it("feeds the session's ACL token on stdin, never in the command, and scrubs it from what it registers", async () => {
    const ctx = moduleContext({ vars: { [ACL_TOKEN_VAR_OF_SESSION]: secret(TOKEN) } });
    ctx.transport.onExec(/consul members$/, { stdout: `s1 alive (token ${TOKEN})\n` });
    const { data } = await perform(consulCliModule, { argv: ['members'], read_only: true }, ctx);
    const [call] = ctx.transport.calls;
    assert.equal(call?.command, `docker exec -i consul ${WRAPPER} consul members`);
    assert.equal(call?.secretStdin?.reveal(), `${TOKEN}\n`);
    assert.equal(call?.stdin, '<redacted>');
    assert.ok(!JSON.stringify(data).includes(TOKEN), JSON.stringify(data));
    assert.equal(data['stdout'], 's1 alive (token <redacted>)');
  });

  it('speaks HTTPS to the agent when its plain HTTP is off, with the CA beside its config', () => {
    const off = { consul_tls_enable: true, consul_tls_http: 'off', consul_tls_https_port: 9501 };
    assert.deepEqual(consulCliOptions(off), { container: 'consul', httpsPort: 9501 });
    assert.deepEqual(consulCliOptions({ ...off, consul_tls_https_port: undefined }), {
      container: 'consul',
      httpsPort: 8501,
    });
    // The plain listener on loopback is what the CLI reaches by default.
    assert.deepEqual(consulCliOptions({ consul_tls_enable: true, consul_tls_http: 'loopback' }), {
      container: 'consul',
    });
  });

  it('fails on a non-zero exit with the redacted command and the agent text', async () => {
    const off = {
      consul_tls_enable: true,
      consul_tls_http: 'off',
      [ACL_TOKEN_VAR_OF_SESSION]: secret(TOKEN),
    };
    const ctx = moduleContext({ vars: off });
    ctx.transport.onExec(/consul reload$/, {
      code: 1,
      stderr:
        'Error reloading: Unexpected response code: 403 (Permission denied: token with AccessorID ...)\n',
    });
    await assert.rejects(perform(consulCliModule, { argv: ['reload'] }, ctx), (err: unknown) => {
      assert.ok(err instanceof CommandFailedError);
      assert.equal(
        err.command,
        `docker exec -i -e CONSUL_CACERT=${CONTAINER_CA_FILE} -e CONSUL_HTTP_ADDR=https://127.0.0.1:8501 consul ${WRAPPER} consul reload`,
      );
      assert.match(err.message, /403 \(Permission denied/);
      assert.ok(!err.message.includes(TOKEN));
      return true;
    });
  });

  it('is not run in check mode unless read_only', async () => {
    const ctx = moduleContext({ check: true });
    const { outcome, pendingWrite } = await perform(consulCliModule, { argv: ['reload'] }, ctx);
    assert.equal(pendingWrite, true);
    assert.equal(outcome.summary, 'would run consul reload in consul (not run in check mode)');
    assert.deepEqual(ctx.transport.calls, []);
  });

  it('refuses a secret word (it would be on the host command line) and a leading "consul"', async () => {
    const ctx = moduleContext();
    await assert.rejects(
      planOn(
        consulCliModule,
        { argv: ['acl', 'token', 'read', '-id', secret(TOKEN) as unknown as string] },
        ctx,
      ),
      (err: unknown) =>
        err instanceof TaskFailedError &&
        /argv\[4\] is a secret/.test(err.message) &&
        !err.message.includes(TOKEN),
    );
    await assert.rejects(
      planOn(consulCliModule, { argv: ['consul', 'reload'] }, ctx),
      /argv is what follows "consul": write \[reload\]/,
    );
  });
});
