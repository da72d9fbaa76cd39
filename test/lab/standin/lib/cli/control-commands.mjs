// Commands that change the agent or the cluster: leave, force-leave, reload, join, keyring.
import { HTTP_FLAGS, merge, parseFlags } from './flags.mjs';
import { getJson, request } from './http-client.mjs';

export async function leave(argv, io) {
  const { flags, args } = parseFlags(argv, HTTP_FLAGS);
  if (args.length) { io.err('Error! Too many arguments'); return 1; }
  try { await request(flags, 'PUT', '/v1/agent/leave'); } catch (e) { io.err(`Error leaving: ${e.message}`); return 1; }
  io.out('Graceful leave complete');
  return 0;
}

export async function forceLeave(argv, io) {
  const { flags, args } = parseFlags(argv, merge(HTTP_FLAGS, { bools: ['prune', 'wan'] }));
  if (args.length !== 1) { io.err('A single node name must be specified to force leave.'); return 1; }
  const q = [flags.prune ? 'prune=1' : '', flags.wan ? 'wan=1' : ''].filter(Boolean).join('&');
  try { await request(flags, 'PUT', `/v1/agent/force-leave/${encodeURIComponent(args[0])}${q ? `?${q}` : ''}`); } catch (e) {
    io.err(`Error force leaving: ${e.message}`);
    return 1;
  }
  return 0;
}

export async function reload(argv, io) {
  const { flags } = parseFlags(argv, HTTP_FLAGS);
  try { await request(flags, 'PUT', '/v1/agent/reload'); } catch (e) { io.err(`Error reloading: ${e.message}`); return 1; }
  io.out('Configuration reload triggered');
  return 0;
}

export async function join(argv, io) {
  const { flags, args } = parseFlags(argv, merge(HTTP_FLAGS, { bools: ['wan'] }));
  if (!args.length) { io.err('At least one address to join must be specified.'); return 1; }
  let joined = 0;
  for (const addr of args) {
    try { await request(flags, 'PUT', `/v1/agent/join/${encodeURIComponent(addr)}${flags.wan ? '?wan=1' : ''}`); joined++; } catch (e) { io.err(`Error joining address '${addr}': ${e.message}`); }
  }
  if (!joined) { io.err('Failed to join any nodes.'); return 1; }
  io.out(`Successfully joined cluster by contacting ${joined} nodes.`);
  return 0;
}

export async function keyring(argv, io) {
  const { flags } = parseFlags(argv, merge(HTTP_FLAGS, { bools: ['list', 'list-primary', 'local-only'], strings: ['install', 'use', 'remove', 'relay-factor'] }));
  const ops = ['list', 'list-primary', 'install', 'use', 'remove'].filter((k) => flags[k] !== undefined && flags[k] !== false);
  if (ops.length !== 1) { io.err('Exactly one of -list, -install, -use, or -remove must be provided'); return 1; }
  const op = ops[0];
  try {
    if (op === 'list' || op === 'list-primary') {
      io.out(op === 'list' ? '==> Gathering installed encryption keys...' : '==> Gathering installed primary encryption keys...');
      const rings = await getJson(flags, '/v1/operator/keyring');
      for (const r of rings) {
        io.out('');
        io.out(r.WAN ? 'WAN:' : `${r.Datacenter} (LAN):`);
        const keys = op === 'list' ? r.Keys : r.PrimaryKeys;
        for (const [k, n] of Object.entries(keys)) io.out(`  ${k} [${n}/${r.NumNodes}]`);
      }
      return 0;
    }
    const title = { install: '==> Installing new gossip encryption key...', use: '==> Changing primary gossip encryption key...', remove: '==> Removing gossip encryption key...' }[op];
    io.out(title);
    const method = { install: 'POST', use: 'PUT', remove: 'DELETE' }[op];
    await request(flags, method, '/v1/operator/keyring', { body: { Key: flags[op] } });
    return 0;
  } catch (e) {
    io.err(`error: ${e.message}`);
    return 1;
  }
}
