import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { containerState } from '../../src/facts/container-state.js';
import { FactParseError } from '../../src/facts/fact.js';
import { render } from '../../src/shell/cmd.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('containerState fact', () => {
  const fact = containerState('consul');

  it('asks docker container inspect', () => {
    assert.equal(render(fact.command, { redact: true }), 'docker container inspect consul');
  });

  it('reads a running container', () => {
    const state = fact.parse({ code: 0, stdout: fixture('container-inspect-running.json'), stderr: '' });
    assert.deepEqual(state, {
      exists: true,
      id: '8f2a9c1d4e5b6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7',
      image: 'hashicorp/consul:1.19.2',
      imageId: 'sha256:5e2f8b1a0c9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f',
      running: true,
      status: 'running',
      labels: {
        'drover.spec-hash': '4b9d0c7e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4',
        'org.opencontainers.image.version': '1.19.2',
        role: 'server',
      },
    });
    assert.ok(
      !JSON.stringify(state).includes('should-never-leave'),
      'env values are not carried out of the parser',
    );
  });

  it('reads an exited container', () => {
    const state = fact.parse({ code: 0, stdout: fixture('container-inspect-exited.json'), stderr: '' });
    assert.ok(state.exists);
    assert.equal(state.running, false);
    assert.equal(state.status, 'exited');
  });

  it('treats "No such container" as absent, not as an error', () => {
    assert.deepEqual(fact.parse({ code: 1, stdout: '[]\n', stderr: 'Error: No such container: consul\n' }), {
      exists: false,
    });
    assert.deepEqual(fact.parse({ code: 1, stdout: '', stderr: 'Error: No such object: consul' }), {
      exists: false,
    });
    assert.deepEqual(fact.parse({ code: 0, stdout: '[]', stderr: '' }), { exists: false });
  });

  it('fails loudly when docker itself fails', () => {
    assert.throws(
      () =>
        fact.parse({
          code: 1,
          stdout: '',
          stderr:
            'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
        }),
      (err: unknown) =>
        err instanceof FactParseError && /exit 1: Cannot connect to the Docker daemon/.test(err.message),
    );
    assert.throws(() => fact.parse({ code: 0, stdout: 'permission denied', stderr: '' }), /not JSON/);
  });
});
