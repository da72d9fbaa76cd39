import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';

/**
 * drover's start-up must not pay for the X.509 library: importing the TLS modules loads nothing
 * of it (nor installs its Reflect polyfill) until a certificate is made or read.
 */
describe('the X.509 library', () => {
  it('is loaded on first use, not on import', () => {
    const script = `
      const before = typeof Reflect.getMetadata;
      const source = await import('./src/app/tls-material-source.ts');
      const facts = await import('./src/tls/certificate-facts.ts');
      const { createCa } = await import('./src/tls/certificate-authority.ts');
      const imported = typeof Reflect.getMetadata;
      const ca = await createCa();
      const used = typeof Reflect.getMetadata;
      console.log(JSON.stringify([before, imported, used, (await facts.certificateFacts(ca.certPem, 'ca')).isCa, typeof source.resolveTlsCa]));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out), ['undefined', 'undefined', 'function', true, 'function']);
  });
});
