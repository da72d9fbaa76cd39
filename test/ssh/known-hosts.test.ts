import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  appendKnownHost,
  checkHostKey,
  entryMatchesHost,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  loadKnownHosts,
  parseKnownHosts,
} from '../../src/ssh/known-hosts.js';

const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const ED2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIB8a7dd7Jw7Q5bJbSzYbC1gk5t5m8E8H0p8J2m3r6w0A';
const RSA = 'AAAAB3NzaC1yc2EAAAADAQABAAABAQC7';

function hashed(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

describe('known_hosts parsing and matching', () => {
  it('names non-standard ports the OpenSSH way', () => {
    assert.equal(knownHostsName('10.213.0.11', 22), '10.213.0.11');
    assert.equal(knownHostsName('10.213.0.11', 2222), '[10.213.0.11]:2222');
  });

  it('parses plain, bracketed, hashed, marked and commented lines with line numbers', () => {
    const text = [
      '# comment',
      '',
      `s1.lab,10.213.0.11 ssh-ed25519 ${ED}`,
      `[10.213.0.12]:2222 ssh-ed25519 ${ED} comment words`,
      `${hashed('10.213.0.13')} ssh-ed25519 ${ED}`,
      `@revoked * ssh-ed25519 ${ED2}`,
      `@cert-authority *.lab ssh-ed25519 ${ED}`,
      'garbage-line',
    ].join('\n');
    const entries = parseKnownHosts(text);
    assert.equal(entries.length, 5);
    assert.deepEqual(
      entries.map((e) => e.line),
      [3, 4, 5, 6, 7],
    );
    assert.ok(entryMatchesHost(entries[0]!, 's1.lab'));
    assert.ok(entryMatchesHost(entries[0]!, '10.213.0.11'));
    assert.ok(!entryMatchesHost(entries[0]!, '10.213.0.111'));
    assert.ok(entryMatchesHost(entries[1]!, '[10.213.0.12]:2222'));
    assert.ok(!entryMatchesHost(entries[1]!, '10.213.0.12'));
    assert.ok(entryMatchesHost(entries[2]!, '10.213.0.13'));
    assert.ok(!entryMatchesHost(entries[2]!, '10.213.0.14'));
    assert.equal(entries[3]?.marker, 'revoked');
  });

  it('supports wildcards and negation', () => {
    const [e] = parseKnownHosts(`10.213.0.*,!10.213.0.99 ssh-ed25519 ${ED}`);
    assert.ok(entryMatchesHost(e!, '10.213.0.5'));
    assert.ok(!entryMatchesHost(e!, '10.213.0.99'));
    assert.ok(!entryMatchesHost(e!, '10.213.1.5'));
    const [q] = parseKnownHosts(`s? ssh-ed25519 ${ED}`);
    assert.ok(entryMatchesHost(q!, 's1') && !entryMatchesHost(q!, 's10'));
  });

  it('tells known, unknown, changed, other-type and revoked keys apart', () => {
    const entries = parseKnownHosts(
      [
        `a ssh-ed25519 ${ED}`,
        `a ssh-ed25519 ${ED2}`,
        `b ssh-ed25519 ${ED}`,
        `c ssh-rsa ${RSA}`,
        `@revoked * ssh-ed25519 ${ED2}`,
      ].join('\n'),
    );
    assert.deepEqual(checkHostKey(entries, 'a', 'ssh-ed25519', ED), { status: 'known', line: 1 });
    assert.deepEqual(checkHostKey(entries, 'zzz', 'ssh-ed25519', ED), { status: 'unknown' });
    assert.deepEqual(checkHostKey(entries, 'b', 'ssh-ed25519', 'AAAAother'), { status: 'changed', line: 3 });
    assert.deepEqual(checkHostKey(entries, 'c', 'ssh-ed25519', ED), {
      status: 'other-type',
      line: 4,
      knownTypes: ['ssh-rsa'],
    });
    assert.deepEqual(checkHostKey(entries, 'a', 'ssh-ed25519', ED2), { status: 'revoked', line: 5 });
    assert.deepEqual(knownKeyTypes(entries, 'c'), ['ssh-rsa']);
  });

  it('reads the key type out of a key blob', () => {
    assert.equal(keyTypeOfBlob(Buffer.from(ED, 'base64')), 'ssh-ed25519');
    assert.equal(keyTypeOfBlob(Buffer.alloc(2)), 'unknown');
  });
});

describe('known_hosts file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-kh-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a missing file is an empty list, and appending creates it', async () => {
    const path = join(dir, 'sub', 'known_hosts');
    assert.deepEqual(await loadKnownHosts(path), []);
    await appendKnownHost(path, '[127.0.0.1]:2222', 'ssh-ed25519', ED);
    assert.equal(await readFile(path, 'utf8'), `[127.0.0.1]:2222 ssh-ed25519 ${ED}\n`);
  });

  it('appends on a new line even when the file lacks a final newline', async () => {
    const path = join(dir, 'kh2');
    await writeFile(path, `a ssh-ed25519 ${ED}`);
    await appendKnownHost(path, 'b', 'ssh-ed25519', ED2);
    const entries = await loadKnownHosts(path);
    assert.equal(entries.length, 2);
    assert.equal(entries[1]?.key, ED2);
  });
});
