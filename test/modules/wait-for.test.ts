import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InterruptedError, TaskFailedError } from '../../src/errors.js';
import { waitForModule } from '../../src/modules/wait-for.js';
import { moduleContext } from './context.js';

describe('wait_for module', () => {
  it('is a conversation of reads: it runs in check mode too, and never changes anything', async () => {
    const ctx = moduleContext({ check: true });
    ctx.transport.onExec(/\/dev\/tcp/, { code: 0 });
    const outcome = await waitForModule.run({ port: 8500, timeout: 1 }, ctx);
    assert.equal(waitForModule.kind, 'conversation');
    assert.equal(outcome.changed, false);
    assert.equal(outcome.summary, 'wait for port 127.0.0.1:8500 to accept connections');
    assert.deepEqual(outcome.data, { elapsed_seconds: 0, attempts: 1 });
    assert.equal(ctx.transport.calls.length, 1);
  });

  it('polls the TCP check on the host until the port opens', async () => {
    const ctx = moduleContext();
    let tries = 0;
    ctx.transport.onExec(/^sh -c .*\/dev\/tcp.* sh 10\.213\.0\.11 8301$/s, () => ({
      code: ++tries < 3 ? 1 : 0,
    }));
    const change = waitForModule.run({ port: 8301, host: '10.213.0.11', timeout: 5, interval: 0.02 }, ctx);
    const data = (await change).data!;
    assert.equal(data['attempts'], 3);
    assert.equal(tries, 3);
  });

  it('gives up after the timeout, bounded in tries, naming what it waited for', async () => {
    const ctx = moduleContext();
    ctx.transport.onExec(/\/dev\/tcp/, { code: 1 });
    const started = ctx.clock.now();
    const change = waitForModule.run({ port: 8500, timeout: 0.3, interval: 0.05 }, ctx);
    await assert.rejects(change, (err: unknown) => {
      assert.ok(err instanceof TaskFailedError);
      assert.equal(
        err.message,
        's1: timed out after 0.3s waiting for port 127.0.0.1:8500 to accept connections (last: connection refused)',
      );
      return true;
    });
    // On the fake clock: it waited out the timeout, no less and not much more.
    const elapsed = ctx.clock.now() - started;
    assert.ok(elapsed >= 250 && elapsed <= 300, `took ${elapsed}ms`);
    assert.ok(ctx.transport.calls.length <= Math.ceil(0.3 / 0.05) + 1, `${ctx.transport.calls.length} tries`);
  });

  it('waits for an HTTP status through the transport, retrying errors and wrong statuses', async () => {
    const ctx = moduleContext();
    const answers: (number | Error)[] = [new Error('Connection refused'), 503, 500, 200];
    ctx.transport.onHttp('GET 127.0.0.1:8500/v1/status/leader', () => {
      const next = answers.shift() ?? 200;
      if (next instanceof Error) throw next;
      return { status: next, body: next === 200 ? '"10.213.0.11:8300"' : '' };
    });
    const outcome = await waitForModule.run(
      { port: 8500, http_path: '/v1/status/leader', timeout: 5, interval: 0.01 },
      ctx,
    );
    assert.equal(outcome.summary, 'wait for http://127.0.0.1:8500/v1/status/leader to answer 200');
    const data = outcome.data!;
    assert.equal(data['attempts'], 4);
    assert.equal(ctx.transport.httpCalls[0]?.path, '/v1/status/leader');
    assert.ok((ctx.transport.httpCalls[0]?.timeoutSeconds ?? 99) <= 5);
  });

  it('reports the last HTTP status when it never becomes ready', async () => {
    const ctx = moduleContext();
    ctx.transport.onHttp(/autopilot/, { status: 429 });
    const change = waitForModule.run(
      { port: 8500, http_path: '/v1/operator/autopilot/health', status: 200, timeout: 0.1, interval: 0.02 },
      ctx,
    );
    await assert.rejects(change, /\(last: HTTP 429\)/);
  });

  it('on a timeout shows the last lines of the diagnose command, e.g. why the agent did not start', async () => {
    const ctx = moduleContext();
    ctx.transport.onHttp(/leader/, { status: 500 }).onExec('docker logs --tail 15 consul', {
      stderr: `==> config: ReadFile failed on /consul/config/consul.json: open /consul/config/consul.json: permission denied\n`,
    });
    const change = waitForModule.run(
      {
        port: 8500,
        http_path: '/v1/status/leader',
        timeout: 0.05,
        interval: 0.02,
        diagnose: ['docker', 'logs', '--tail', '15', 'consul'],
      },
      ctx,
    );
    await assert.rejects(
      change,
      /\(last: HTTP 500\)\nlast lines of `docker logs --tail 15 consul`:\n {2}==> config: ReadFile failed .*permission denied$/,
    );
  });

  it('waits `delay` before the first try, and stops when aborted', async () => {
    const controller = new AbortController();
    const ctx = moduleContext({ signal: controller.signal });
    ctx.transport.onExec(/\/dev\/tcp/, { code: 1 });
    // Ctrl-C arrives while the delay runs (the fake clock's sleep yields once to the event loop).
    const sleep = ctx.clock.sleep.bind(ctx.clock);
    ctx.clock.sleep = (ms, signal) => {
      const slept = sleep(ms, signal);
      controller.abort();
      return slept;
    };
    await assert.rejects(waitForModule.run({ port: 8500, timeout: 30, delay: 10 }, ctx), InterruptedError);
    assert.deepEqual(ctx.clock.sleeps, [10_000], 'the delay came first');
    assert.deepEqual(ctx.transport.calls, [], 'aborted during the delay, before any try');
  });
});
