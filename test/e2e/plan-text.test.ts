/**
 * The text of `drover plan` on the lab: after a change of consul_log_level (a reload)
 * and consul_retry_interval (a restart), the short block shows each host's config change with
 * the class of every key; `-v` shows the full task list; once deployed, a second plan says in one
 * line that there is nothing to change, then the recap.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pickHosts } from '../lab/lab.js';
import { cleanUp, drover, parseRecap, restartedLine, writeLabInventory } from './drover-cli.js';

const LOCK_WAIT = ['--lock-wait', '120'];

/** The lines before the PLAY RECAP: the plan block (or, with -v, the task list). */
const beforeRecap = (stdout: string): string[] => {
  const lines = stdout.split('\n');
  return lines.slice(
    0,
    lines.findIndex((l) => l.startsWith('PLAY RECAP ')),
  );
};

describe('drover plan, as text', { timeout: 900_000 }, () => {
  const hosts = pickHosts(4);
  const servers = hosts.slice(0, 3);
  const names = hosts.map((h) => h.name);
  // writeLabInventory sets consul_retry_interval "2s" and leaves consul_log_level at the default (info).
  const inv = writeLabInventory({ servers, clients: hosts.slice(3), vars: { ssh_connect_timeout: 3 } });

  before(async () => {
    await cleanUp(hosts);
    const r = await drover(['deploy', '-i', inv, ...LOCK_WAIT], 300);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The same file (its gossip key file sits beside it): a reload-class and a restart-class change.
    const text = readFileSync(inv, 'utf8');
    assert.match(text, /consul_retry_interval: "2s"/);
    writeFileSync(
      inv,
      text.replace(
        'consul_retry_interval: "2s"',
        'consul_retry_interval: "3s"\n    consul_log_level: "debug"',
      ),
    );
  });
  after(() => cleanUp(hosts));

  it('shows per host the config change with the class of each key, the diff, and no task list', async () => {
    const r = await drover(['plan', '-i', inv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const block = beforeRecap(r.stdout);
    for (const h of names) {
      const line = block.find((l) => l.startsWith(`ok: [${h}] agent config change class - config change: `));
      assert.ok(line, `${h}\n${r.stdout}`);
      assert.match(line, /\blog_level \(reload\)/, line);
      assert.match(line, /\bretry_interval \(restart\)/, line);
      assert.ok(
        block.some((l) => l.startsWith(`changed: [${h}] agent config - `)),
        `${h}\n${r.stdout}`,
      );
      assert.ok(
        block.some((l) => l.startsWith(`changed: [${h}] restart consul - `)),
        `${h}\n${r.stdout}`,
      );
    }
    assert.ok(
      block.some((l) => /^-\s+"log_level": "info",?$/.test(l)),
      r.stdout,
    );
    assert.ok(
      block.some((l) => /^\+\s+"log_level": "debug",?$/.test(l)),
      r.stdout,
    );
    // The short form: no play or task headers, no checks that passed, no `no change` line.
    assert.ok(!block.some((l) => /^(PLAY|TASK) \[/.test(l)), r.stdout);
    assert.ok(!block.some((l) => / host pre-flight/.test(l)), r.stdout);
    assert.ok(!block.some((l) => l.startsWith('no change: ')), r.stdout);
    assert.deepEqual(Object.keys(parseRecap(r.stdout)).sort(), [...names].sort());
    assert.deepEqual(restartedLine(r.stdout).sort(), [...names].sort(), r.stdout);
    assert.match(r.stdout, new RegExp(`^would change: ${names.join(', ')}$`, 'm'));
  });

  it('-v shows every task on every host, the config change class included', async () => {
    const r = await drover(['plan', '-v', '-i', inv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = beforeRecap(r.stdout);
    for (const header of [
      'PLAY [Consul agents] (4 hosts)',
      'TASK [host pre-flight]',
      'TASK [agent config change class]',
      'TASK [what the agent owes]',
      'TASK [cluster is healthy]',
    ])
      assert.ok(lines.includes(header), `${header}\n${r.stdout}`);
    for (const h of names) {
      assert.ok(lines.includes(`ok: [${h}] host pre-flight`), `${h}\n${r.stdout}`);
      assert.ok(
        lines.some(
          (l) =>
            l.startsWith(`ok: [${h}] agent config change class - `) &&
            l.includes('log_level (reload)') &&
            l.includes('retry_interval (restart)'),
        ),
        `${h}\n${r.stdout}`,
      );
    }
    assert.ok(lines.length > beforeRecap((await drover(['plan', '-i', inv])).stdout).length);
  });

  it('after the deploy, a second plan says in one line that nothing would change, then the recap', async () => {
    const d = await drover(['deploy', '-i', inv, ...LOCK_WAIT], 300);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.deepEqual(restartedLine(d.stdout).sort(), [...names].sort(), d.stdout);

    const r = await drover(['plan', '-i', inv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.slice(0, 3),
      [`nothing to change (${names.length} hosts)`, '', `PLAY RECAP ${'*'.repeat(69)}`],
      r.stdout,
    );
    assert.deepEqual(Object.keys(parseRecap(r.stdout)).sort(), [...names].sort());
    assert.deepEqual(lines.slice(3 + names.length), ['would change: no host'], r.stdout);
  });
});
