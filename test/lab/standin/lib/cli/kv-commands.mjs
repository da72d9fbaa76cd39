// `consul kv get|put|delete`, with the texts and exit codes of Consul's command/kv/*.
// Registered as one command, `kv`, that dispatches on its first argument.
import fs from 'node:fs';
import { HTTP_FLAGS, merge, parseFlags } from './flags.mjs';
import { send } from './http-client.mjs';

const USAGE = `Usage: consul kv <subcommand> [options] [args]

  This command has subcommands for interacting with Consul's key-value
  store. Here are some simple examples, and more detailed examples are
  available in the subcommands or the documentation.

  Create or update the key named "redis/config/connections" with the value "5":

      $ consul kv put redis/config/connections 5

  Read this value back:

      $ consul kv get redis/config/connections

  Or get detailed key information:

      $ consul kv get -detailed redis/config/connections

  Finally, delete the key:

      $ consul kv delete redis/config/connections

  For more examples, ask for subcommand help or view the documentation.

Subcommands:
    delete    Removes data from the KV store
    export    Exports a tree from the KV store as JSON
    get       Retrieves or lists data from the KV store
    import    Imports a tree stored as JSON to the KV store
    put       Sets or updates data in the KV store`;

/** One HTTP call with a raw body; resolves { status, body: Buffer } or rejects with Go's error. */
function call(flags, method, path, body) {
  return send(flags, method, path, { payload: body ?? null });
}

/** The api client's requireOK: anything but 200 (or an allowed 404) is an error. */
async function api(flags, method, path, body, { allow404 = false } = {}) {
  const r = await call(flags, method, path, body);
  if (r.status === 404 && allow404) return null;
  if (r.status !== 200) throw new Error(`Unexpected response code: ${r.status} (${r.body.toString()})`);
  return r.body;
}

function query(flags, extra = {}) {
  const q = new URLSearchParams();
  if (flags.stale) q.set('stale', '');
  if (flags.datacenter) q.set('dc', flags.datacenter);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString().replace(/=(&|$)/g, '$1');
  return s ? `?${s}` : '';
}

const keyPath = (key) => `/v1/kv/${key.split('/').map(encodeURIComponent).join('/')}`;
const decode = (v) => (v === null || v === undefined ? Buffer.alloc(0) : Buffer.from(v, 'base64'));

/** command/kv/get's prettyKVPair: a tabwriter table (padding 6) of the pair's fields. */
function pretty(pair, base64) {
  const value = base64 ? decode(pair.Value).toString('base64') : decode(pair.Value).toString();
  const rows = [['CreateIndex', pair.CreateIndex], ['Flags', pair.Flags], ['Key', pair.Key], ['LockIndex', pair.LockIndex], ['ModifyIndex', pair.ModifyIndex], ['Session', pair.Session || '-'], ['Value', value]];
  const width = Math.max(...rows.map(([k]) => k.length)) + 6;
  return rows.map(([k, v]) => `${k.padEnd(width)}${v}`).join('\n');
}

function stripSlash(key) {
  return key.startsWith('/') ? key.slice(1) : key;
}

async function get(argv, io) {
  const { flags, args } = parseFlags(argv, merge(HTTP_FLAGS, { bools: ['base64', 'detailed', 'keys', 'recurse'], strings: ['separator'] }));
  if (args.length > 1) { io.err(`Too many arguments (expected 1, got ${args.length})`); return 1; }
  const key = stripSlash(args[0] ?? '');
  if (key === '' && !(flags.recurse || flags.keys)) { io.err('Error! Missing KEY argument'); return 1; }
  try {
    if (flags.keys) {
      const body = await api(flags, 'GET', `${keyPath(key)}${query(flags, { keys: '', separator: flags.separator ?? '/' })}`, undefined, { allow404: true });
      for (const k of body ? JSON.parse(body.toString()) : []) io.out(k);
      return 0;
    }
    if (flags.recurse) {
      const body = await api(flags, 'GET', `${keyPath(key)}${query(flags, { recurse: '' })}`, undefined, { allow404: true });
      const pairs = body ? JSON.parse(body.toString()) : [];
      pairs.forEach((p, i) => {
        if (flags.detailed) { io.out(pretty(p, flags.base64)); if (i < pairs.length - 1) io.out(''); }
        else io.out(`${p.Key}:${flags.base64 ? decode(p.Value).toString('base64') : decode(p.Value).toString()}`);
      });
      return 0;
    }
    const body = await api(flags, 'GET', `${keyPath(key)}${query(flags)}`, undefined, { allow404: true });
    if (!body) { io.err(`Error! No key exists at: ${key}`); return 1; }
    const pair = JSON.parse(body.toString())[0];
    io.out(flags.detailed ? pretty(pair, flags.base64) : flags.base64 ? decode(pair.Value).toString('base64') : decode(pair.Value).toString());
    return 0;
  } catch (e) {
    io.err(`Error querying Consul agent: ${e.message}`);
    return 1;
  }
}

/** command/kv/put's dataFromArgs: DATA literally, @file, or - for stdin. */
function dataFromArgs(args) {
  if (args.length === 0) throw new Error('Missing KEY argument');
  if (args.length > 2) throw new Error(`Too many arguments (expected 1 or 2, got ${args.length})`);
  const [key, data = ''] = args;
  if (data.startsWith('@')) {
    try { return { key, data: fs.readFileSync(data.slice(1)) }; } catch (e) { throw new Error(`Failed to read file: ${e.message}`); }
  }
  if (data === '-') return { key, data: fs.readFileSync(0) };
  return { key, data: Buffer.from(data) };
}

async function put(argv, io) {
  const { flags, args } = parseFlags(argv, merge(HTTP_FLAGS, { bools: ['acquire', 'base64', 'cas', 'release'], strings: ['flags', 'modify-index', 'session'] }));
  let key;
  let data;
  try { ({ key, data } = dataFromArgs(args)); } catch (e) { io.err(`Error! ${e.message}`); return 1; }
  if (flags.base64) {
    const text = data.toString();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) { io.err('Error! Cannot base 64 decode data: illegal base64 data at input byte 0'); return 1; }
    data = Buffer.from(text, 'base64');
  }
  if ((flags.release || flags.acquire) && !flags.session) { io.err('Error! Missing -session (required with -acquire and -release)'); return 1; }
  const modifyIndex = Number(flags['modify-index'] ?? 0);
  if (flags.cas && !modifyIndex) { io.err('Must specify -modify-index with -cas!'); return 1; }
  const extra = {};
  if (flags.flags) extra.flags = flags.flags;
  if (flags.cas) extra.cas = String(modifyIndex);
  if (flags.acquire) extra.acquire = flags.session;
  if (flags.release) extra.release = flags.session;
  const path = `${keyPath(key)}${query(flags, extra)}`;
  try {
    const ok = JSON.parse((await api(flags, 'PUT', path, data)).toString());
    if (flags.cas && !ok) { io.err(`Error! Did not write to ${key}: CAS failed`); return 1; }
    if (flags.acquire) { if (!ok) { io.err(`Error! Failed to acquire lock on ${key}`); return 1; } io.out(`Success! Lock acquired on: ${key}`); return 0; }
    if (flags.release) { if (!ok) { io.err(`Error! Failed to release lock on ${key}`); return 1; } io.out(`Success! Lock released on: ${key}`); return 0; }
  } catch (e) {
    io.err(flags.cas ? `Error! Did not write to ${key}: ${e.message}` : `Error! Failed writing data: ${e.message}`);
    return 1;
  }
  io.out(`Success! Data written to: ${key}`);
  return 0;
}

async function del(argv, io) {
  const { flags, args } = parseFlags(argv, merge(HTTP_FLAGS, { bools: ['cas', 'recurse'], strings: ['modify-index'] }));
  if (args.length > 1) { io.err(`Too many arguments (expected 1, got ${args.length})`); return 1; }
  const key = stripSlash(args[0] ?? '');
  if (key === '' && !flags.recurse) { io.err('Error! Missing KEY argument'); return 1; }
  const modifyIndex = Number(flags['modify-index'] ?? 0);
  if (flags.cas && !modifyIndex) { io.err('Must specify -modify-index with -cas!'); return 1; }
  if (modifyIndex && !flags.cas) { io.err('Cannot specify -modify-index without -cas!'); return 1; }
  if (flags.recurse && flags.cas) { io.err('Cannot specify both -cas and -recurse!'); return 1; }
  try {
    if (flags.recurse) {
      await api(flags, 'DELETE', `${keyPath(key)}${query(flags, { recurse: '' })}`).catch((e) => { throw Object.assign(e, { prefix: true }); });
      io.out(`Success! Deleted keys with prefix: ${key}`);
      return 0;
    }
    if (flags.cas) {
      const ok = JSON.parse((await api(flags, 'DELETE', `${keyPath(key)}${query(flags, { cas: String(modifyIndex) })}`)).toString());
      if (!ok) { io.err(`Error! Did not delete key ${key}: CAS failed`); return 1; }
    } else {
      await api(flags, 'DELETE', `${keyPath(key)}${query(flags)}`).catch((e) => { throw Object.assign(e, { plain: true }); });
    }
  } catch (e) {
    io.err(e.prefix ? `Error! Did not delete prefix ${key}: ${e.message}` : e.plain ? `Error deleting key ${key}: ${e.message}` : `Error! Did not delete key ${key}: ${e.message}`);
    return 1;
  }
  io.out(`Success! Deleted key: ${key}`);
  return 0;
}

const SUBCOMMANDS = { get, put, delete: del };

/** `consul kv <subcommand> ...` */
export async function kv(argv, io) {
  const fn = SUBCOMMANDS[argv[0]];
  if (!fn) { io.err(USAGE); return 1; }
  return fn(argv.slice(1), io);
}
