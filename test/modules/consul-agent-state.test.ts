import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAgentMarks } from '../../src/facts/agent-marks.js';
import { consulAgentStateModule } from '../../src/modules/consul-agent-state.js';
import { readAgentMarks, touchAgentMark } from '../../src/remote/agent-marks.js';
import { render, type Cmd } from '../../src/shell/cmd.js';
import { changeOn, moduleContext } from './context.js';
import { factsAsked, planContext } from './fixture.js';

const shownCmd = (cmd: Cmd): string => render(cmd, { redact: true });

const STARTED = 'started 2026-12-06T21:00:00.000000001Z true\n';
/** A mark one second after that start, in `date +%s%N`'s form. */
const LATER = `${BigInt(Date.UTC(2026, 11, 6, 21, 0, 1)) * 1_000_000n}`;

describe('consul_agent_state', () => {
  it('records an owed restart on the host before reading what the agent owes', async () => {
    const ctx = moduleContext({});
    ctx.transport
      .onExec(/^sh -c .*touch .* \/var\/lib\/drover\/agents\/consul restart-owed$/s, {})
      .onExec(/^sh -c .*State\.StartedAt/s, { stdout: `${STARTED}restart-owed ${LATER}\n` });
    const c = await changeOn(consulAgentStateModule, { container: 'consul', mark: 'restart' }, ctx);
    assert.equal(ctx.transport.commands.length, 2);
    assert.match(ctx.transport.commands[0] ?? '', /restart-owed$/);
    assert.equal(c.changed, false, 'bookkeeping, not a change of the host');
    assert.equal(c.data?.['restart_owed'], true);
    assert.equal(c.summary, 'restart owed: config changed since the agent started');
  });

  it('in check mode only reads: a plan never leaves a mark', async () => {
    const ctx = moduleContext({ check: true });
    ctx.transport.onExec(/^sh -c .*State\.StartedAt/s, { stdout: STARTED });
    const c = await changeOn(consulAgentStateModule, { container: 'consul', mark: 'restart' }, ctx);
    assert.equal(ctx.transport.commands.length, 1);
    assert.deepEqual([c.data?.['restart_owed'], c.data?.['reload_owed']], [false, false]);
    assert.equal(c.summary, 'nothing owed: the agent runs the files on disk');
  });

  it('a reload marked after the last reload and start is owed', async () => {
    const ctx = moduleContext({ check: true });
    ctx.transport.onExec(/^sh -c .*State\.StartedAt/s, { stdout: `${STARTED}reload-owed ${LATER}\n` });
    const c = await changeOn(consulAgentStateModule, { container: 'consul' }, ctx);
    assert.deepEqual([c.data?.['restart_owed'], c.data?.['reload_owed']], [false, true]);
  });
});

describe('consul_agent_state plan (facts in, change out)', () => {
  it('asks the marks; outside check mode it first touches the mark, which check mode never does', () => {
    const marks = { read: { effect: 'read', sends: shownCmd(readAgentMarks('consul')), timeoutSeconds: 30 } };
    assert.deepEqual(factsAsked(consulAgentStateModule, { container: 'consul', mark: 'reload' }), {
      mark: {
        write: {
          effect: 'write',
          sends: shownCmd(touchAgentMark('consul', 'reload-owed')),
          timeoutSeconds: 30,
        },
      },
      marks,
    });
    assert.deepEqual(factsAsked(consulAgentStateModule, { container: 'consul', mark: '' }), {
      mark: undefined,
      marks,
    });
  });

  it('what the agent owes comes from the marks alone, never as a change', () => {
    const marks = parseAgentMarks(`${STARTED}restart-owed ${LATER}\n`);
    for (const check of [false, true]) {
      assert.deepEqual(
        consulAgentStateModule.plan(
          { container: 'consul' },
          { mark: undefined, marks },
          planContext({ check }),
        ),
        {
          changed: false,
          summary: 'restart owed: config changed since the agent started',
          data: {
            restart_owed: true,
            reload_owed: false,
            reasons: ['restart owed: config changed since the agent started'],
          },
        },
      );
    }
  });
});
