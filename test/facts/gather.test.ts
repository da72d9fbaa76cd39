import assert from 'node:assert/strict';
import { test } from 'node:test';
import { converging, gatherFacts, type FactRequests } from '../../src/facts/gather.js';
import { checkedStep, execStep, mapStep } from '../../src/remote/step.js';
import { StepExecutor } from '../../src/runner/step-executor.js';
import { exec } from '../../src/shell/cmd.js';
import { RecordingTransport } from '../../src/ssh/recording-transport.js';

const noSecrets = () => [];
const answer = (word: string) => mapStep(execStep('read', exec('echo', word)), (r) => r.stdout.trim());

interface Facts {
  first: string;
  state: string;
  later: string | undefined;
  skipped: string | undefined;
}

const requests: FactRequests<Facts> = {
  first: answer('one'),
  state: converging(
    answer('read-state'),
    mapStep(checkedStep('write', exec('converge')), (r) => r.stdout.trim()),
  ),
  // Asked only because of what came before.
  later: ({ first }) => (first === 'one' ? answer('two') : undefined),
  skipped: undefined,
};

function host(check: boolean) {
  const t = new RecordingTransport('s1')
    .onExec('converge', { stdout: 'found-before\n' })
    .onExec(/^echo /, (command) => ({ stdout: `${command.slice(5)}\n` }));
  return { t, steps: new StepExecutor(t, check, noSecrets) };
}

test('facts are gathered in order; a later request sees the earlier answers', async () => {
  const { t, steps } = host(false);
  assert.deepEqual(await gatherFacts(requests, steps, false), {
    first: 'one',
    state: 'found-before',
    later: 'two',
    skipped: undefined,
  });
  assert.deepEqual(t.commands, ['echo one', 'converge', 'echo two']);
});

test('in check mode a converging fact is read, and its write is never sent', async () => {
  const { t, steps } = host(true);
  const facts = await gatherFacts(requests, steps, true);
  assert.equal(facts.state, 'read-state');
  assert.deepEqual(t.commands, ['echo one', 'echo read-state', 'echo two']);
});

test('a converging fact without a read is left undefined in check mode', async () => {
  const { t, steps } = host(true);
  const only: FactRequests<{ mark: void }> = {
    mark: converging(
      undefined,
      mapStep(checkedStep('write', exec('converge')), () => undefined),
    ),
  };
  assert.deepEqual(await gatherFacts(only, steps, true), { mark: undefined });
  assert.deepEqual(t.calls, []);
});
