import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTAINER_CA_FILE, info, reload } from '../../src/remote/consul.js';
import { render } from '../../src/shell/cmd.js';

describe('the consul CLI inside the container, on a TLS agent', () => {
  it('is unchanged without httpsPort: the CLI default is the plain (loopback) listener', () => {
    assert.equal(render(info().cmd, { redact: true }), 'docker exec consul consul info');
  });

  it('talks HTTPS to 127.0.0.1 with the CA beside the config when plain HTTP is off, through its env', () => {
    assert.equal(
      render(reload({ httpsPort: 8501 }).cmd, { redact: true }),
      `docker exec -e CONSUL_CACERT=${CONTAINER_CA_FILE} -e CONSUL_HTTP_ADDR=https://127.0.0.1:8501 consul consul reload`,
    );
  });
});
