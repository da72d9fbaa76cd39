import type { Command } from 'commander';
import { resolve } from 'node:path';
import { PLAYBOOKS } from '../../app/playbooks.js';
import { SnapshotArchiveError } from '../../consul/snapshot/archive.js';
import { loadSnapshot, type LoadedSnapshot } from '../../consul/snapshot/store.js';
import { ConfigError, ExitCode, TaskFailedError, UsageError } from '../../errors.js';
import type { Vars } from '../../inventory/types.js';
import { confirm } from '../confirm.js';
import { outputOption, withRun, type Cli } from '../cli.js';
import { createOutput } from '../io.js';
import { runPlaybookFlags, type RunFlags } from './playbook.js';

/**
 * `drover snapshot save|restore|inspect` (docs/snapshots.md). save and restore are playbooks
 * (consul-snapshot-*.yaml) under the lock and the audit log; inspect reads a file here only.
 */
export function addSnapshotCommands(root: Command, cli: Cli): void {
  const snapshot = root.command('snapshot').description('Consul snapshots: save, restore, inspect');

  withRun(snapshot.command('save').description('save a snapshot of every datacenter beside the inventory'))
    .option('--keep <n>', 'snapshots kept per datacenter, the oldest removed (default 30)')
    .option('--dir <dir>', 'where to keep them (default INVENTORY-STEM.snapshots beside the inventory)')
    .action(async (o: RunFlags & { keep?: string; dir?: string }) => {
      const extraVars: Vars = {};
      if (o.keep !== undefined) {
        if (!/^[1-9]\d*$/.test(o.keep)) throw new UsageError('--keep needs a count of 1 or more');
        extraVars['consul_snapshot_keep'] = Number(o.keep);
      }
      if (o.dir !== undefined) extraVars['consul_snapshot_dir'] = resolve(o.dir);
      cli.setExit(await runPlaybookFlags(cli, o, { playbook: PLAYBOOKS.snapshotSave, extraVars }));
    });

  withRun(
    snapshot
      .command('restore')
      .description("replace a datacenter's whole state (KV, catalog, ACLs) with a snapshot; asks first")
      .argument('<file>', 'a snapshot file (drover snapshot save, or consul snapshot save)'),
  )
    .option('--datacenter <dc>', 'restore into this datacenter (default: the one the file name says)')
    .option(
      '--force',
      'restore into servers older than the snapshot, or another datacenter; skip an unhealthy pre-flight',
    )
    .action(async (file: string, o: RunFlags & { datacenter?: string; force?: boolean }) => {
      const loaded = await checkedSnapshot(file);
      const into = o.datacenter ?? loaded.name?.datacenter ?? 'its datacenter';
      const question =
        `restore ${describe(loaded)} into ${into}? Its servers' KV, catalog, sessions, ACLs and ` +
        'autopilot settings are replaced by the snapshot’s';
      if (!o.check && !(await confirm(question, o, cli.io)))
        throw new TaskFailedError('not restored: not confirmed');
      cli.setExit(
        await runPlaybookFlags(cli, o, {
          playbook: PLAYBOOKS.snapshotRestore,
          extraVars: {
            drover_snapshot_file: loaded.file,
            ...(o.datacenter ? { drover_snapshot_datacenter: o.datacenter } : {}),
            ...(o.force ? { consul_roll_force: true } : {}),
          },
        }),
      );
    })
    .option('-C, --check', 'run the pre-flight and the version checks; restore nothing');

  snapshot
    .command('inspect')
    .description('what a snapshot file holds, checked as a restore would check it; no host is asked')
    .argument('<file>', 'a snapshot file')
    .addOption(outputOption())
    .action(async (file: string, o: { output?: string }) => {
      const out = createOutput(cli.io, o.output === 'json');
      const s = await checkedSnapshot(file);
      const m = s.archive.meta;
      if (o.output === 'json') {
        out.result.write(
          `${JSON.stringify({
            file: s.file,
            sha256: s.sha256,
            checksum: s.checksum,
            ...(s.name && {
              datacenter: s.name.datacenter,
              consul_version: s.name.version,
              taken_at: s.name.takenAt.toISOString(),
            }),
            id: m.id,
            index: m.index,
            term: m.term,
            version: m.version,
            size: m.size,
            servers: m.servers,
          })}\n`,
        );
      } else {
        const rows: [string, string][] = [
          ['file', s.file],
          [
            'sha256',
            `${s.sha256} (${s.checksum === 'ok' ? 'matches its .sha256 file' : 'no .sha256 file beside it'})`,
          ],
          ...(s.name
            ? ([
                ['datacenter', s.name.datacenter],
                ['consul', s.name.version],
                ['taken', s.name.takenAt.toISOString()],
              ] as [string, string][])
            : []),
          ['ID', m.id],
          ['Index', String(m.index)],
          ['Term', String(m.term)],
          ['Version', String(m.version)],
          ['Size', `${m.size} bytes of state`],
          ['servers', m.servers.map((x) => x.address).join(', ') || 'none'],
        ];
        const width = Math.max(...rows.map(([k]) => k.length));
        out.result.write(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join(''));
      }
      cli.setExit(ExitCode.ok);
    });
}

/** A snapshot file read and checked before anything connects; a bad one is bad input (exit 3). */
async function checkedSnapshot(file: string): Promise<LoadedSnapshot> {
  try {
    return await loadSnapshot(resolve(file));
  } catch (err) {
    if (err instanceof SnapshotArchiveError) throw new ConfigError([{ file, message: err.message }]);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ConfigError([{ file, message: 'no such snapshot file' }]);
    throw err;
  }
}

const describe = (s: LoadedSnapshot): string =>
  s.name
    ? `${s.file} (${s.name.datacenter}, index ${s.name.index}, Consul ${s.name.version}, taken ${s.name.takenAt.toISOString()})`
    : `${s.file} (index ${s.archive.meta.index})`;
