import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compileConditions,
  conditionsHold,
  evaluate,
  parseExpression,
} from '../../src/playbook/expression.js';
import { Secret } from '../../src/shell/secret.js';

const vars = {
  result: { rc: 0, stdout: 'leader elected', stdout_lines: ['a', 'b'] },
  groups: { servers: ['s1', 's2', 's3'], clients: ['c1'] },
  inventory_hostname: 's2',
  count: 3,
  empty: [],
  nothing: null,
  token: new Secret('s3cr3t-token'),
};
const holds = (src: string) => conditionsHold(compileConditions(src), vars);

test('comparisons, membership and logic follow Ansible conditions', () => {
  assert.equal(holds('result.rc == 0'), true);
  assert.equal(holds('result.rc != 0'), false);
  assert.equal(holds('count > 2 and count <= 3'), true);
  assert.equal(holds('count < 2 or count >= 3'), true);
  assert.equal(holds('inventory_hostname in groups.servers'), true);
  assert.equal(holds('inventory_hostname not in groups.clients'), true);
  assert.equal(holds("'leader' in result.stdout"), true);
  assert.equal(holds("'servers' in groups"), true);
  assert.equal(holds('not (result.rc == 0)'), false);
  assert.equal(holds('inventory_hostname == groups.servers[1]'), true);
  assert.equal(holds("groups['servers'][-1] == 's3'"), true);
  assert.equal(holds('count in [1, 2, 3]'), true);
  assert.equal(holds('nothing == null and nothing == None'), true);
  assert.equal(holds('-1 < 0'), true);
});

test('truthiness is Python-like: empty lists and zero are false', () => {
  assert.equal(holds('empty'), false);
  assert.equal(holds('result.stdout_lines'), true);
  assert.equal(holds('result.rc'), false);
  assert.equal(holds('not empty'), true);
});

test('is defined / is not defined never fail on missing names', () => {
  assert.equal(holds('missing is not defined'), true);
  assert.equal(holds('result.nope is defined'), false);
  assert.equal(holds('result.rc is defined'), true);
  assert.equal(holds('missing is undefined'), true);
  // Short-circuit: the right side is never evaluated when the left decides.
  assert.equal(holds('missing is defined and missing.rc == 0'), false);
});

test('a list of conditions must all hold; YAML booleans are conditions too', () => {
  assert.equal(conditionsHold(compileConditions(['count == 3', "inventory_hostname == 's2'"]), vars), true);
  assert.equal(conditionsHold(compileConditions(['count == 3', false]), vars), false);
  assert.equal(conditionsHold(compileConditions(true), vars), true);
});

test('secrets compare by value but a comparison never prints them', () => {
  assert.equal(holds("token == 's3cr3t-token'"), true);
  assert.throws(
    () => holds('token < 1'),
    (err: Error) => !err.message.includes('s3cr3t') && /cannot compare/.test(err.message),
  );
});

test('undefined names are errors that name the expression and the missing name', () => {
  assert.throws(
    () => holds('result.nope == 1'),
    /condition "result\.nope == 1": result\.nope is not defined/,
  );
  assert.throws(() => holds('typo'), /typo is not defined/);
});

test('syntax errors name the expression and the column; no code is ever evaluated', () => {
  assert.throws(
    () => parseExpression('result.rc =='),
    /condition "result\.rc ==": unexpected end of condition/,
  );
  assert.throws(() => parseExpression('a = 1'), /unexpected character "="/);
  assert.throws(() => parseExpression("'open"), /unterminated string/);
  assert.throws(() => parseExpression('x is present'), /expected "defined"/);
  // Prototype members are not reachable.
  assert.equal(evaluate(parseExpression('result.constructor is defined'), vars, ''), false);
});
