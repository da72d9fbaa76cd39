import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as docker from '../../src/remote/docker.js';
import { render, secretsOf } from '../../src/shell/cmd.js';
import { secret } from '../../src/shell/secret.js';

const shown = (c: Parameters<typeof render>[0]) => render(c, { redact: true });
const wire = (c: Parameters<typeof render>[0]) => render(c, { redact: false });

const spec: docker.ContainerSpec = {
  name: 'consul',
  image: 'hashicorp/consul:1.19.2',
  network: 'host',
  restart: 'always',
  volumes: ['/opt/consul/config:/consul/config', '/opt/consul/data:/consul/data'],
  labels: { 'drover.spec-hash': 'abc123', role: 'server' },
  env: {},
  args: ['agent', '-server'],
};

describe('docker command builders', () => {
  it('runs a container with the Consul layout, labels sorted', () => {
    assert.equal(
      shown(docker.runContainer(spec)),
      'docker run -d --name consul --net=host --restart always ' +
        '-v /opt/consul/config:/consul/config -v /opt/consul/data:/consul/data ' +
        '--label drover.spec-hash=abc123 --label role=server hashicorp/consul:1.19.2 agent -server',
    );
  });

  it('create takes the same options without -d', () => {
    const c = docker.createContainer(spec);
    assert.ok(c.kind === 'exec');
    assert.deepEqual(c.argv.slice(0, 4), ['docker', 'create', '--name', 'consul']);
    assert.ok(!c.argv.includes('-d'));
  });

  it('keeps spaces and quotes in one word each', () => {
    const c = docker.runContainer({
      ...spec,
      labels: { note: "it's a test" },
      args: ['agent', '-node=my node'],
    });
    assert.equal(
      shown(c),
      'docker run -d --name consul --net=host --restart always ' +
        '-v /opt/consul/config:/consul/config -v /opt/consul/data:/consul/data ' +
        `--label 'note=it'\\''s a test' hashicorp/consul:1.19.2 agent '-node=my node'`,
    );
  });

  it('passes a secret env value as one redacted word, clear only on the wire', () => {
    const token = secret('3f7c1d2e-aaaa-bbbb-cccc-0123456789ab');
    const c = docker.runContainer({ ...spec, env: { CONSUL_HTTP_TOKEN: token, TZ: 'UTC' } });
    assert.match(shown(c), / -e <redacted> -e TZ=UTC hashicorp/);
    assert.ok(!shown(c).includes('3f7c1d2e'));
    assert.match(wire(c), / -e CONSUL_HTTP_TOKEN=3f7c1d2e-aaaa-bbbb-cccc-0123456789ab -e TZ=UTC /);
    assert.deepEqual(secretsOf(c), ['CONSUL_HTTP_TOKEN=3f7c1d2e-aaaa-bbbb-cccc-0123456789ab']);
  });

  it('builds inspect, pull, stop, start, restart, rm, exec and ps', () => {
    assert.equal(shown(docker.inspectContainer('consul')), 'docker container inspect consul');
    assert.equal(
      shown(docker.inspectImage('hashicorp/consul:1.19.2')),
      'docker image inspect hashicorp/consul:1.19.2',
    );
    assert.equal(
      shown(docker.pullImage('10.213.0.1:5000/consul:1.19')),
      'docker pull 10.213.0.1:5000/consul:1.19',
    );
    assert.equal(shown(docker.stopContainer('consul', 30)), 'docker stop -t 30 consul');
    assert.equal(shown(docker.stopContainer('consul')), 'docker stop -t 10 consul');
    assert.equal(shown(docker.startContainer('consul')), 'docker start consul');
    assert.equal(shown(docker.restartContainer('consul', 5)), 'docker restart -t 5 consul');
    assert.equal(shown(docker.removeContainer('consul')), 'docker rm -f consul');
    assert.equal(shown(docker.execIn('consul', ['consul', 'members'])), 'docker exec consul consul members');
    assert.equal(
      shown(docker.execIn('consul', ['cat'], { interactive: true, user: 'consul' })),
      'docker exec -i -u consul consul cat',
    );
    assert.equal(
      shown(docker.psByName('consul')),
      `docker ps -a --filter 'name=^/?consul$' --format '{{json .}}'`,
    );
  });
});
