#!/usr/bin/env node
// Consul stand-in for the drover test lab: `consul agent` plus the CLI commands drover uses,
// in Consul's output formats. Plain Node built-ins only (the lab image has busybox + node).
import { runAgent } from './lib/agent.mjs';
import { UsageError } from './lib/cli/flags.mjs';
import { forceLeave, join, keyring, leave, reload } from './lib/cli/control-commands.mjs';
import { keygen, validate, version } from './lib/cli/local-commands.mjs';
import { info, listPeers, members, removePeer } from './lib/cli/status-commands.mjs';

// `consul ... | head` or a closed `docker logs` pipe must not crash the agent.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const io = {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
};

const COMMANDS = {
  'force-leave': forceLeave, info, join, keygen, keyring, leave, members, reload, validate, version,
  'operator raft list-peers': listPeers, 'operator raft remove-peer': removePeer,
};

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
    validate       Validate config files/directories
    version        Prints the Consul version
`;

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-help' || cmd === '-h') { process.stderr.write(USAGE); return cmd ? 0 : 127; }
  if (cmd === '--version' || cmd === '-version' || cmd === '-v') return version([], io);
  if (cmd === 'agent') return runAgent(rest);
  let fn = COMMANDS[cmd];
  let args = rest;
  if (cmd === 'operator') {
    const key = `operator ${rest[0] ?? ''} ${rest[1] ?? ''}`;
    fn = COMMANDS[key];
    args = rest.slice(2);
    if (!fn) { io.err(`This command is accessed by using one of the subcommands below.\n\nSubcommands:\n    raft list-peers    Display the current Raft peer configuration\n    raft remove-peer   Remove a Consul server from the Raft configuration`); return 1; }
  }
  if (!fn) { process.stderr.write(USAGE); return 1; }
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
