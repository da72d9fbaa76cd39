#!/usr/bin/env node
// Consul stand-in for the drover test lab: `consul agent` plus the CLI commands drover uses,
// in Consul's output formats. Plain Node built-ins only (the lab image has busybox + node).
import { writeFileSync } from 'node:fs';
import { runAgent } from './lib/agent.mjs';
import { UsageError } from './lib/cli/flags.mjs';
import { forceLeave, join, keyring, leave, reload } from './lib/cli/control-commands.mjs';
import { keygen, validate, version } from './lib/cli/local-commands.mjs';
import { info, listPeers, members, removePeer } from './lib/cli/status-commands.mjs';
import { kv } from './lib/cli/kv-commands.mjs';
import { snapshotInspect, snapshotRestore, snapshotSave } from './lib/cli/snapshot-commands.mjs';

// Seen from ps as Consul is (`consul agent -data-dir=...`, comm "consul"), not as node running a
// script: tests and operators find the agent by that. It fits: node's argv area is longer.
// Setting the title also sets comm to its first 15 characters; comm is then set to "consul",
// which fails only where /proc/self is root's (node given file capabilities by
// CONSUL_ALLOW_PRIVILEGED_PORTS, or not Linux): comm stays "consul agent -d" there.
process.title = ['consul', ...process.argv.slice(2)].join(' ');
try { writeFileSync('/proc/self/comm', 'consul'); } catch { /* see above */ }

// `consul ... | head` or a closed `docker logs` pipe must not crash the agent.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const io = {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
};

const COMMANDS = {
  agent: (args) => runAgent(args),
  'force-leave': forceLeave, info, join, keygen, keyring, leave, members, reload, validate, version,
  kv,
  'operator raft list-peers': listPeers, 'operator raft remove-peer': removePeer,
  'snapshot save': snapshotSave, 'snapshot restore': snapshotRestore, 'snapshot inspect': snapshotInspect,
};

// Every command Consul 1.20 registers, with the first line of its help. Consul's CLI
// (mitchellh/cli) answers `consul --help CMD` with that command's help, which starts
// `Usage: consul CMD`, and an unknown CMD with the general usage: the image's
// docker-entrypoint.sh greps for "consul CMD" to tell a consul subcommand from a program.
// So the stand-in knows the names of the commands it does not implement too.
const HELP = {
  acl: 'Usage: consul acl <subcommand> [options] [args]',
  agent: 'Usage: consul agent [options]',
  catalog: 'Usage: consul catalog <subcommand> [options] [args]',
  config: 'Usage: consul config <subcommand> [options] [args]',
  connect: 'Usage: consul connect <subcommand> [options] [args]',
  debug: 'Usage: consul debug [options]',
  event: 'Usage: consul event [options] [payload]',
  exec: 'Usage: consul exec [options] [-|command...]',
  'force-leave': 'Usage: consul force-leave [options] name',
  info: 'Usage: consul info [options]',
  intention: 'Usage: consul intention <subcommand> [options] [args]',
  join: 'Usage: consul join [options] address ...',
  keygen: 'Usage: consul keygen',
  keyring: 'Usage: consul keyring [options]',
  kv: 'Usage: consul kv <subcommand> [options] [args]',
  leave: 'Usage: consul leave [options]',
  lock: 'Usage: consul lock [options] prefix child...',
  login: 'Usage: consul login [options]',
  logout: 'Usage: consul logout [options]',
  maint: 'Usage: consul maint [options]',
  members: 'Usage: consul members [options]',
  monitor: 'Usage: consul monitor [options]',
  operator: 'Usage: consul operator <subcommand> [options]',
  'operator raft': 'Usage: consul operator raft <subcommand> [options]',
  'operator raft list-peers': 'Usage: consul operator raft list-peers [options]',
  'operator raft remove-peer': 'Usage: consul operator raft remove-peer [options]',
  peering: 'Usage: consul peering <subcommand> [options] [args]',
  reload: 'Usage: consul reload [options]',
  resource: 'Usage: consul resource <subcommand> [options] [args]',
  rtt: 'Usage: consul rtt [options] node1 [node2]',
  services: 'Usage: consul services <subcommand> [options] [args]',
  snapshot: 'Usage: consul snapshot <subcommand> [options] [args]',
  'snapshot inspect': 'Usage: consul snapshot inspect [options] FILE',
  'snapshot restore': 'Usage: consul snapshot restore [options] FILE',
  'snapshot save': 'Usage: consul snapshot save [options] FILE',
  tls: 'Usage: consul tls <subcommand> [options] [filename-prefix]',
  troubleshoot: 'Usage: consul troubleshoot <subcommand> [options]',
  validate: 'Usage: consul validate [options] FILE_OR_DIRECTORY...',
  version: 'Usage: consul version [options]',
  watch: 'Usage: consul watch [options] [child...]',
};

const OPERATOR_SUBCOMMANDS = `Subcommands:
    raft list-peers    Display the current Raft peer configuration
    raft remove-peer   Remove a Consul server from the Raft configuration`;

const SNAPSHOT_SUBCOMMANDS = `Subcommands:
    inspect    Displays information about a Consul snapshot file
    restore    Restores snapshot of Consul server state
    save       Saves snapshot of Consul server state`;

const USAGE = `Usage: consul [--version] [--help] <command> [<args>]

Available commands are:
    agent          Runs a Consul agent
    force-leave    Forces a member of the cluster to enter the "left" state
    info           Provides debugging information for operators.
    join           Tell Consul agent to join cluster
    keygen         Generates a new encryption key
    keyring        Manages gossip layer encryption keys
    leave          Gracefully leaves the Consul cluster and shuts down
    members        Lists the members of a Consul cluster
    operator       Provides cluster-level tools for Consul operators
    reload         Triggers the agent to reload configuration files
    snapshot       Saves, restores and inspects snapshots of Consul server state
    validate       Validate config files/directories
    version        Prints the Consul version
`;

/**
 * Splits argv as mitchellh/cli does: -h/-help/--help anywhere (before `--`) asks for help,
 * -v/-version/--version before the command asks for the version, and the command is the
 * longest known name ("operator raft list-peers") at the first non-flag argument.
 */
function parseArgs(argv) {
  let help = false, showVersion = false, cmd, args = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { if (cmd === undefined) args = argv.slice(i + 1); break; }
    if (a === '-h' || a === '-help' || a === '--help') { help = true; continue; }
    if (cmd !== undefined) continue;
    if (a === '-v' || a === '-version' || a === '--version') { showVersion = true; continue; }
    if (a === '' || a.startsWith('-')) continue;
    cmd = a;
    for (const n of [3, 2]) {
      const name = argv.slice(i, i + n).join(' ');
      if (argv.length >= i + n && name in HELP) { cmd = name; i += n - 1; break; }
    }
    args = argv.slice(i + 1);
  }
  // The command runs with its own arguments as given (help flags are answered before it runs).
  return { help, showVersion, cmd, args };
}

async function main(argv) {
  const { help, showVersion, cmd, args } = parseArgs(argv);
  if (showVersion && cmd === undefined) return version([], io);
  if (cmd === undefined) { process.stdout.write(USAGE); return help ? 0 : 127; }
  if (!(cmd in HELP)) { process.stdout.write(USAGE); return 127; }
  if (help) {
    io.out(HELP[cmd]);
    if (cmd === 'operator' || cmd === 'operator raft') io.out(`\n${OPERATOR_SUBCOMMANDS}`);
    if (cmd === 'snapshot') io.out(`\n${SNAPSHOT_SUBCOMMANDS}`);
    return 0;
  }
  const fn = COMMANDS[cmd];
  if (cmd === 'operator' || cmd === 'operator raft') {
    io.err(`This command is accessed by using one of the subcommands below.\n\n${OPERATOR_SUBCOMMANDS}`);
    return 1;
  }
  if (cmd === 'snapshot') {
    io.err(`${HELP.snapshot}\n\n${SNAPSHOT_SUBCOMMANDS}`);
    return 1;
  }
  if (!fn) { io.err(`consul stand-in: \`consul ${cmd}\` is not implemented (drover does not use it)`); return 1; }
  try {
    return await fn(args, io);
  } catch (e) {
    if (e instanceof UsageError) { io.err(e.message); return 1; }
    throw e;
  }
}

main(process.argv.slice(2)).then((code) => {
  // null: a long-running agent, which exits through its own shutdown path.
  if (code !== null && code !== undefined) process.exitCode = code;
}, (e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 1;
});
