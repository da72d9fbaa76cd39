/** The shipped playbooks as data: which are Consul's is a list, not a file-name rule. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PLAYBOOKS, playbookAt, playbookBaseDir } from '../../src/app/playbooks.js';
import { PLAYBOOKS_DIR, PROJECT_ROOT } from '../../src/paths.js';

test('every playbook drover ships is in PLAYBOOKS, as a Consul playbook', () => {
  const shipped = readdirSync(PLAYBOOKS_DIR).filter((f) => f.endsWith('.yaml'));
  assert.deepEqual(
    Object.values(PLAYBOOKS)
      .map((p) => p.file)
      .sort(),
    shipped.map((f) => join(PLAYBOOKS_DIR, f)).sort(),
  );
  assert.ok(Object.values(PLAYBOOKS).every((p) => p.consul));
});

test('a playbook given by path is Consul only when it is one of them', () => {
  assert.deepEqual(playbookAt(join(PLAYBOOKS_DIR, 'consul-deploy.yaml')).consul, true);
  assert.deepEqual(playbookAt('/tmp/site/playbooks/consul-deploy.yaml').consul, false);
  assert.equal(playbookBaseDir(PLAYBOOKS.deploy.file), PROJECT_ROOT);
  assert.equal(playbookBaseDir('/tmp/site/playbooks/x.yaml'), '/tmp/site');
  assert.equal(playbookBaseDir('/tmp/site/x.yaml'), '/tmp/site');
});
