/**
 * Classifies a change of a Consul agent's JSON config (pure), so a deploy restarts only what
 * needs a restart (prior-art §8.2): key order and whitespace are no-ops; the settings Consul
 * documents as reloadable go through `consul reload`; `encrypt` is ignored after the first start
 * (the keyring in the data dir wins: rotate instead); a different datacenter, node name or id,
 * server flag, bootstrap setting or data dir is dangerous (a new node, a split, or lost Raft
 * state), and so is TLS turned on at once with its checks on (see classifyTls), and a new domain
 * where servers are checked by name; everything else needs a restart.
 */
export type ChangeClass = 'noop' | 'reload' | 'ignored' | 'restart' | 'dangerous' | 'new';

/** Consul's "Reloadable Configuration" list (agent/config docs), as top-level keys. */
export const RELOAD_SAFE_KEYS: ReadonlySet<string> = new Set([
  'log_level',
  'checks',
  'check',
  'services',
  'service',
  'node_meta',
  'watches',
  'discard_check_output',
  'limits',
  'raft_snapshot_threshold',
  'raft_snapshot_interval',
  'raft_trailing_logs',
  'config_entries',
  'license_path',
]);

export const DANGEROUS_KEYS: ReadonlySet<string> = new Set([
  'datacenter',
  'node_name',
  'node_id',
  'server',
  'bootstrap_expect',
  'bootstrap',
  'data_dir',
]);

/** Taken on the first start only; later values are ignored (with a warning) by Consul. */
export const FIRST_START_KEYS: ReadonlySet<string> = new Set(['encrypt']);

export interface KeyChange {
  key: string;
  class: Exclude<ChangeClass, 'noop' | 'new'>;
  /** Why, for people; never a value (values may be secrets). */
  note: string;
}

export interface ConfigChange {
  class: ChangeClass;
  changes: KeyChange[];
}

const RANK: Record<ChangeClass, number> = {
  noop: 0,
  ignored: 1,
  reload: 2,
  restart: 3,
  new: 4,
  dangerous: 5,
};

export function classifyConfigChange(
  before: Readonly<Record<string, unknown>> | undefined,
  after: Readonly<Record<string, unknown>>,
): ConfigChange {
  if (!before) return { class: 'new', changes: [] };
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changes: KeyChange[] = [];
  for (const key of keys) {
    if (canonical(before[key]) === canonical(after[key])) continue;
    changes.push(classifyKey(key, before[key], after[key], after));
  }
  const top = changes.reduce<ChangeClass>((acc, c) => (RANK[c.class] > RANK[acc] ? c.class : acc), 'noop');
  return { class: top, changes };
}

function classifyKey(
  key: string,
  before: unknown,
  after: unknown,
  config: Readonly<Record<string, unknown>>,
): KeyChange {
  if (DANGEROUS_KEYS.has(key))
    return { key, class: 'dangerous', note: DANGER_NOTES[key] ?? 'changes the node itself' };
  if (FIRST_START_KEYS.has(key)) {
    return {
      key,
      class: 'ignored',
      note: 'Consul keeps the first key in its data dir; rotate with drover rotate-gossip-key',
    };
  }
  if (key === 'autopilot') {
    return {
      key,
      class: 'ignored',
      note: 'Consul reads it when the cluster is bootstrapped only; drover applies a change through the operator autopilot API',
    };
  }
  if (RELOAD_SAFE_KEYS.has(key)) return { key, class: 'reload', note: 'applied by consul reload' };
  if (key === 'acl' && onlyTokensDiffer(before, after))
    return { key, class: 'reload', note: 'ACL tokens are reloadable' };
  if (key === 'tls') return classifyTls(before, after);
  if (key === 'domain' && checksServerNames(config))
    return {
      key,
      class: 'dangerous',
      note:
        'the servers are checked by name (server.<dc>.<domain>): mid-roll, agents on the old domain and on the new one ' +
        'would refuse each other',
    };
  return { key, class: 'restart', note: 'read at start only' };
}

/** verify_server_hostname on: agents check that a server's certificate names `server.<dc>.<domain>`. */
function checksServerNames(config: Readonly<Record<string, unknown>>): boolean {
  const tls = config['tls'];
  return isObject(tls) && verifiesAny(tls, ['verify_server_hostname']);
}

/** Where Consul 1.12+ reads the verify settings that decide whom an agent still talks to. */
const TLS_VERIFY_STANZAS = ['defaults', 'internal_rpc'] as const;
const TLS_VERIFY_KEYS = ['verify_incoming', 'verify_outgoing', 'verify_server_hostname'] as const;

/**
 * Consul reloads the TLS settings of an agent that already runs TLS (certificates, CA, the
 * verify flags), but TLS itself is turned on or off only by a restart. Turned on with any
 * verification on, a restarted agent can no longer talk to the agents still without TLS (it
 * refuses their plaintext RPC or dials them with TLS they refuse), so in the middle of the roll
 * servers lose each other: that is refused unless TLS comes on in stages (docs/security.md).
 */
function classifyTls(before: unknown, after: unknown): KeyChange {
  const key = 'tls';
  if (isObject(before) && isObject(after))
    return { key, class: 'reload', note: 'TLS settings of an agent that runs TLS are reloadable' };
  if (!isObject(before) && isObject(after) && verifiesAny(after)) {
    return {
      key,
      class: 'dangerous',
      note:
        'TLS turned on with verification on cuts this agent off from the agents without TLS; turn it on in stages ' +
        '(consul_tls_verify_incoming, consul_tls_verify_outgoing and consul_tls_verify_server_hostname false first: ' +
        'docs/security.md, "Turning TLS on for a running cluster")',
    };
  }
  return { key, class: 'restart', note: 'TLS is turned on or off by a restart' };
}

/** Some of `keys` (by default every verify flag) is on in a stanza Consul reads them from. */
function verifiesAny(tls: Record<string, unknown>, keys: readonly string[] = TLS_VERIFY_KEYS): boolean {
  return TLS_VERIFY_STANZAS.some((stanza) => {
    const s = tls[stanza];
    return isObject(s) && keys.some((k) => s[k] === true);
  });
}

const DANGER_NOTES: Record<string, string> = {
  datacenter: 'the agent would join another datacenter',
  node_name: 'the node would appear under a new name, leaving the old one as a ghost',
  node_id: 'the node would appear as a different node',
  server: 'a server/client flip changes Raft membership and quorum',
  bootstrap_expect: 'a different expect value can bootstrap a separate cluster or stall elections',
  bootstrap: 'bootstrap mode can start a second cluster',
  data_dir: 'the agent would start with empty state (new node id, no Raft data, no keyring)',
};

function onlyTokensDiffer(before: unknown, after: unknown): boolean {
  if (!isObject(before) || !isObject(after)) return false;
  const { tokens: _b, ...b } = before;
  const { tokens: _a, ...a } = after;
  return canonical(a) === canonical(b);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with object keys sorted, so key order never counts as a change. */
export function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

export function describeConfigChange(c: ConfigChange): string {
  if (c.class === 'new') return 'new config (first deploy)';
  if (c.class === 'noop') return 'no-op (no setting changed)';
  return `${c.class}: ${c.changes.map((k) => `${k.key} (${k.class})`).join(', ')}`;
}
