import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactBefore } from '../../src/modules/redact-diff.js';

describe('redactBefore', () => {
  it('blanks old secrets where the new rendering has <redacted>, even re-indented', () => {
    const after =
      '{\n  "encrypt": "<redacted>",\n  "acl": { "tokens": { "agent": "<redacted>", "default": "<redacted>" } }\n}';
    const before =
      '{\n    "encrypt":"OLDKEY==",\n  "acl": { "tokens": { "agent": "tok-a", "default": "tok-b" } }\n}';
    assert.equal(
      redactBefore(before, after, []),
      '{\n    "encrypt":"<redacted>",\n  "acl": { "tokens": { "agent": "<redacted>", "default": "<redacted>" } }\n}',
    );
  });

  it('leaves lines without secrets alone and scrubs known secrets anywhere', () => {
    const before = 'node_name = "s1"\n# old token: 1234-known-secret\n';
    assert.equal(
      redactBefore(before, 'node_name = "s1"\n', ['1234-known-secret']),
      'node_name = "s1"\n# old token: <redacted>\n',
    );
  });
});
