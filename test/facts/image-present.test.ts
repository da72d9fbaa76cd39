import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { imagePresent } from '../../src/facts/image-present.js';
import { render } from '../../src/shell/cmd.js';

const fixture = readFileSync(new URL('./fixtures/image-inspect.json', import.meta.url), 'utf8');

describe('imagePresent fact', () => {
  const fact = imagePresent('hashicorp/consul:1.19.2');

  it('asks docker image inspect', () => {
    assert.equal(render(fact.command, { redact: true }), 'docker image inspect hashicorp/consul:1.19.2');
  });

  it('reads the id and tags of a present image', () => {
    assert.deepEqual(fact.parse({ code: 0, stdout: fixture, stderr: '' }), {
      present: true,
      id: 'sha256:5e2f8b1a0c9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f',
      repoTags: ['hashicorp/consul:1.19.2'],
    });
  });

  it('a missing image is an answer, not an error', () => {
    assert.deepEqual(
      fact.parse({
        code: 1,
        stdout: '[]',
        stderr: 'Error response from daemon: No such image: hashicorp/consul:1.19.2',
      }),
      { present: false },
    );
  });

  it('any other failure is an error', () => {
    assert.throws(
      () => fact.parse({ code: 125, stdout: '', stderr: 'permission denied while trying to connect' }),
      /exit 125/,
    );
  });
});
